"""Registry pages for grid workers and community secretaries: the residents of their grids
(masked; a reveal needs a reason), the import of a spreadsheet with a report that names every bad
row before anything is written, and the export (masked unless a purpose is given)."""

import csv
import io

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from wangge.accounts.permissions import Perm, has_perm
from wangge.accounts.queries import grid_in_scope
from wangge.lib.errors import DomainError, NotFound, PermissionDenied
from wangge.lib.masking import age_on, mask_id_number, mask_phone
from wangge.people import actions
from wangge.people.importing import read_table
from wangge.people.models import Tag
from wangge.people.queries import get_resident_for, may_reveal, shown_tags, visible_residents

MAX_UPLOAD = 5 * 1024 * 1024


def _scope_cell(user, perm: Perm, ref: str | None):
    try:
        return grid_in_scope(user, perm, ref)
    except NotFound as exc:
        raise Http404(exc.text()) from exc
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(exc.text()) from exc


class ImportForm(forms.Form):
    file = forms.FileField(label=_("Spreadsheet (.xlsx or .csv)"))
    only_clean = forms.BooleanField(
        label=_("Import the good rows even if some rows are bad"), required=False
    )


class RevealForm(forms.Form):
    field = forms.ChoiceField(
        label=_("Number"), choices=[("id_number", _("ID number")), ("phone", _("Phone number"))]
    )
    purpose = forms.CharField(label=_("Why do you need it?"), max_length=200)


@login_required
def registry(request):
    if not has_perm(request.user, Perm.VIEW_RESIDENTS):
        raise DjangoPermissionDenied()
    cell = _scope_cell(request.user, Perm.VIEW_RESIDENTS, request.GET.get("grid"))
    residents = (
        visible_residents(request.user)
        .filter(household__cell__path__startswith=cell.path, moved_out_at__isnull=True)
        .prefetch_related("tags")
    )
    tag = request.GET.get("tag", "")
    if tag:
        residents = residents.filter(tags__code=tag)
    name = request.GET.get("q", "").strip()
    if name:
        residents = residents.filter(name__contains=name)
    page = Paginator(residents.order_by("household__cell__path", "household__door", "id"), 50)
    page = page.get_page(request.GET.get("page"))
    today = timezone.localdate()
    rows = [
        {
            "resident": r,
            "age": age_on(r.birth_date, today),
            # The birth date beside a masked ID number narrows it down: only for those who
            # may reveal the number anyway (through the logged reveal).
            "birth_date": r.birth_date if may_reveal(request.user, r) else None,
            "id_number": mask_id_number(r.id_number),
            "phone": mask_phone(r.phone),
            "tags": shown_tags(request.user, r),
        }
        for r in page
    ]
    context = {
        "cell": cell,
        "page": page,
        "rows": rows,
        "tags": Tag.objects.all(),
        "tag": tag,
        "q": name,
        "may_manage": has_perm(request.user, Perm.MANAGE_RESIDENTS),
        "may_reveal": has_perm(request.user, Perm.REVEAL_PERSONAL_DATA),
        "import_form": ImportForm(),
        "reveal_form": RevealForm(),
    }
    return render(request, "people/registry.html", context)


@login_required
@require_POST
def reveal(request, resident_id: int):
    if not has_perm(request.user, Perm.REVEAL_PERSONAL_DATA):
        raise DjangoPermissionDenied()
    try:
        resident = get_resident_for(request.user, resident_id, Perm.REVEAL_PERSONAL_DATA)
    except NotFound as exc:
        raise Http404(exc.text()) from exc
    form = RevealForm(request.POST)
    value = ""
    if form.is_valid():
        try:
            value = actions.reveal_resident_field(
                resident,
                field=form.cleaned_data["field"],
                purpose=form.cleaned_data["purpose"],
                actor=request.user,
            )
        except DomainError as exc:
            for name, message in exc.fields.items():
                form.add_error(name if name in form.fields else None, str(message))
    context = {"resident": resident, "form": form, "value": value}
    return render(
        request, "people/reveal.html", context, status=200 if value or not form.errors else 400
    )


@login_required
def import_sheet(request):
    if not has_perm(request.user, Perm.MANAGE_RESIDENTS):
        raise DjangoPermissionDenied()
    cell = _scope_cell(request.user, Perm.MANAGE_RESIDENTS, request.POST.get("grid"))
    if request.method != "POST":
        return redirect("registry")
    form = ImportForm(request.POST, request.FILES)
    report = None
    if form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > MAX_UPLOAD:
            form.add_error("file", _("The file is larger than 5 MB."))
        else:
            try:
                table = read_table(upload.name, upload.read())
            except ValueError as exc:
                form.add_error("file", str(exc))
            except Exception:  # a damaged .xlsx: openpyxl raises many kinds
                form.add_error("file", _("The file cannot be read as a spreadsheet."))
            else:
                report = actions.import_registry(
                    table,
                    root=cell,
                    actor=request.user,
                    only_clean=form.cleaned_data["only_clean"],
                )
    context = {"cell": cell, "form": form, "report": report}
    status = 200 if report is not None and report.written else 400
    return render(request, "people/import_report.html", context, status=status)


@login_required
def export_sheet(request):
    if not has_perm(request.user, Perm.VIEW_RESIDENTS):
        raise DjangoPermissionDenied()
    cell = _scope_cell(request.user, Perm.VIEW_RESIDENTS, request.GET.get("grid"))
    clear = request.GET.get("clear") == "1"
    perm = Perm.REVEAL_PERSONAL_DATA if clear else Perm.VIEW_RESIDENTS
    if clear and not has_perm(request.user, perm):
        raise DjangoPermissionDenied()
    residents = visible_residents(request.user, perm).filter(
        household__cell__path__startswith=cell.path, moved_out_at__isnull=True
    )
    try:
        rows = actions.export_registry(
            residents, actor=request.user, clear=clear, purpose=request.GET.get("purpose", "")
        )
    except DomainError as exc:
        messages.error(request, " ".join(str(m) for m in exc.fields.values()) or exc.text())
        return redirect(f"{request.path.rsplit('export', 1)[0]}?grid={cell.code}")
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    response = HttpResponse(
        "\ufeff" + out.getvalue(), content_type="text/csv; charset=utf-8"
    )  # Excel reads the BOM
    response["Content-Disposition"] = f'attachment; filename="registry-{cell.code}.csv"'
    return response
