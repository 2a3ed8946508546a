"""Community life pages. Staff (/participation/…, `MANAGE_COMMUNITY`): the lists of their
communities, needs from recurring cases, match suggestions to confirm, orders and wishes. Public
(no login): the community landing page (/community/), the wish wall (/wishes/<code>/) with its
form, and a community's services. Public pages show masked names and never a phone number."""

import re
import uuid

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from wangge.accounts.models import Unit
from wangge.accounts.permissions import Perm, has_perm
from wangge.cases.models import Category
from wangge.lib.errors import DomainError, NotFound
from wangge.lib.images import sniff_image
from wangge.lib.masking import mask_id_number, mask_name, mask_phone
from wangge.lib.throttle import throttled, too_many_text
from wangge.participation import actions
from wangge.participation.matching import suggest_offers
from wangge.participation.models import (
    OFFER_KINDS,
    ClaimantKind,
    ItemKind,
    ItemState,
    OrdererKind,
    OrderState,
    ProviderKind,
    WishState,
)
from wangge.participation.queries import (
    cases_of_group,
    communities_by_township,
    get_item_for,
    get_managed_community,
    get_order_for,
    get_wish_for,
    managed_communities,
    public_community,
    public_services,
    recurring_case_groups,
    visible_items,
    visible_orders,
    visible_wishes,
    wall_counts,
    wall_wishes,
)

# Wishes one client (address) may send from the public wall per hour, against floods.
WISH_LIMIT = 5
HOUR = 3600

# The public pages of community life, each taking the community code; a page whose app is not
# installed (its URL name does not resolve) is left out.
PUBLIC_PAGES = [
    ("wishes_wall", _("Micro-wishes"), _("Small wishes of residents, claimed and fulfilled.")),
    ("services_public", _("Services"), _("What partners and units offer here.")),
    ("timebank_public", _("Time bank"), _("Volunteer hours and points.")),
    ("projects_public", _("Livelihood projects"), _("Projects and how they progress.")),
    ("deliberation_public", _("Deliberation"), _("Matters the community decides together.")),
    ("disclosure_board", _("Public disclosure"), _("Decisions and accounts made public.")),
]


def _staff(request) -> None:
    if not request.user.is_authenticated:
        raise DjangoPermissionDenied()
    if not has_perm(request.user, Perm.MANAGE_COMMUNITY):
        raise DjangoPermissionDenied()


def _found(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except NotFound as exc:
        raise Http404(exc.text()) from exc


def _done(request, fn, *args, success=None, **kwargs):
    """Run an action; its refusal is shown on the next page in the user's language."""
    try:
        result = fn(*args, **kwargs)
    except DomainError as exc:
        details = "; ".join(str(m) for m in exc.fields.values())
        messages.error(request, f"{exc.text()} {details}".strip())
        return None
    if success:
        messages.success(request, success)
    return result


def _back(request, fallback: str):
    target = request.POST.get("next", "")
    if target.startswith("/") and not target.startswith("//"):
        return redirect(target)
    return redirect(fallback)


# --- forms --------------------------------------------------------------------------------------


class ItemForm(forms.Form):
    kind = forms.ChoiceField(label=_("List"), choices=ItemKind.choices)
    title = forms.CharField(label=_("Title"), max_length=200)
    description = forms.CharField(
        label=_("Description"), required=False, max_length=5000, widget=forms.Textarea({"rows": 3})
    )
    category = forms.ModelChoiceField(
        label=_("Category"),
        queryset=Category.objects.filter(is_active=True, raised_by_system=False),
        required=False,
        to_field_name="code",
    )
    tags = forms.CharField(label=_("Tags (separated by commas)"), required=False, max_length=200)
    provider_kind = forms.ChoiceField(
        label=_("Provided by"), choices=[("", "—"), *ProviderKind.choices], required=False
    )
    provider_name = forms.CharField(label=_("Provider"), required=False, max_length=100)
    provider_unit = forms.ModelChoiceField(
        label=_("Providing unit"), queryset=Unit.objects.filter(is_active=True), required=False
    )


class WishForm(forms.Form):
    title = forms.CharField(label=_("Wish"), max_length=100)
    text = forms.CharField(
        label=_("Details"), required=False, max_length=1000, widget=forms.Textarea({"rows": 3})
    )
    wisher_name = forms.CharField(label=_("Name"), max_length=50)
    wisher_phone = forms.CharField(label=_("Phone"), max_length=20)
    photo = forms.FileField(label=_("Photo (optional)"), required=False)
    key = forms.CharField(widget=forms.HiddenInput)


class StaffWishForm(WishForm):
    wisher_phone = forms.CharField(label=_("Phone (optional)"), max_length=20, required=False)


class ClaimForm(forms.Form):
    claimant_kind = forms.ChoiceField(label=_("Claimed by a"), choices=ClaimantKind.choices)
    claimant_name = forms.CharField(label=_("Name"), max_length=100, required=False)
    claimant_unit = forms.ModelChoiceField(
        label=_("Unit"), queryset=Unit.objects.filter(is_active=True), required=False
    )


class FulfilForm(forms.Form):
    photo = forms.FileField(label=_("Photo of the fulfilled wish"))
    note = forms.CharField(label=_("Note"), required=False, max_length=1000)


class OrderForm(forms.Form):
    orderer_kind = forms.ChoiceField(label=_("Ordered by"), choices=OrdererKind.choices)
    orderer_name = forms.CharField(label=_("Name"), max_length=50, required=False)
    orderer_phone = forms.CharField(label=_("Phone (optional)"), max_length=20, required=False)
    note = forms.CharField(label=_("What is needed"), max_length=2000, required=False)
    key = forms.CharField(widget=forms.HiddenInput)


def _form_errors(request, form) -> None:
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        messages.error(request, f"{label}: {' '.join(errors)}" if label else " ".join(errors))


# --- staff pages --------------------------------------------------------------------------------


@login_required
def home(request):
    """清单: the four lists of one community, with what recurring cases ask for."""
    _staff(request)
    community = _found(get_managed_community, request.user, request.GET.get("community"))
    kind = request.GET.get("kind", "")
    state = request.GET.get("state", "")
    items = visible_items(request.user).filter(community=community)
    if kind in ItemKind.values:
        items = items.filter(kind=kind)
    if state in ItemState.values:
        items = items.filter(state=state)
    context = {
        "community": community,
        "communities": managed_communities(request.user).order_by("path"),
        "items": items[:200],
        "kind": kind,
        "state": state,
        "kinds": ItemKind.choices,
        "states": ItemState.choices,
        "groups": recurring_case_groups(community),
        "form": ItemForm(),
    }
    return render(request, "participation/home.html", context)


@login_required
@require_POST
def add_item(request):
    _staff(request)
    community = _found(get_managed_community, request.user, request.POST.get("community"))
    form = ItemForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect(f"{reverse('participation_home')}?community={community.code}")
    data = form.cleaned_data
    item = _done(
        request,
        actions.add_item,
        kind=data["kind"],
        community=community,
        title=data["title"],
        description=data["description"],
        category=data["category"],
        tags=data["tags"],
        provider_kind=data["provider_kind"],
        provider_name=data["provider_name"],
        provider_unit=data["provider_unit"],
        actor=request.user,
        success=_("Added to the list."),
    )
    if item is None:
        return redirect(f"{reverse('participation_home')}?community={community.code}")
    return redirect("participation_item", item.pk)


@login_required
@require_POST
def need_from_cases(request):
    """A recurring class of cases (one category in one grid) becomes one need."""
    _staff(request)
    community = _found(get_managed_community, request.user, request.POST.get("community"))
    try:
        cell_id, category_id = int(request.POST["cell"]), int(request.POST["category"])
    except (KeyError, ValueError) as exc:
        raise Http404() from exc
    cases = list(
        cases_of_group(community, cell_id=cell_id, category_id=category_id).select_related(
            "cell", "category"
        )
    )
    need = _done(
        request,
        actions.raise_need_from_cases,
        cases,
        title=request.POST.get("title", ""),
        actor=request.user,
        success=_("The need was raised from the cases."),
    )
    if need is None:
        return redirect(f"{reverse('participation_home')}?community={community.code}")
    return redirect("participation_item", need.pk)


@login_required
def item_detail(request, item_id: int):
    _staff(request)
    item = _found(get_item_for, request.user, item_id)
    context = {
        "item": item,
        "suggestions": suggest_offers(item) if item.kind == ItemKind.NEED else [],
        "matches": item.matches.select_related("offer__community")
        if item.kind == ItemKind.NEED
        else item.matched_needs.select_related("need"),
        "cases": item.cases.all(),
        "orders": item.orders.prefetch_related("steps") if item.kind == ItemKind.SERVICE else [],
        "order_form": OrderForm(initial={"key": uuid.uuid4().hex}),
        "offer_kinds": OFFER_KINDS,
    }
    return render(request, "participation/item.html", context)


@login_required
@require_POST
def item_state(request, item_id: int):
    _staff(request)
    item = _found(get_item_for, request.user, item_id)
    _done(
        request,
        actions.set_item_state,
        item,
        step=request.POST.get("step", ""),
        reason=request.POST.get("reason", "")[:300],
        actor=request.user,
        success=_("Saved."),
    )
    return redirect("participation_item", item.pk)


@login_required
@require_POST
def confirm_match(request, item_id: int):
    _staff(request)
    need = _found(get_item_for, request.user, item_id)
    try:
        offer_id = int(request.POST.get("offer", ""))
    except ValueError as exc:
        raise Http404() from exc
    found = next((s for s in suggest_offers(need, limit=50) if s.offer.pk == offer_id), None)
    if found is None:
        messages.error(request, _("Choose one of the suggestions."))
        return redirect("participation_item", need.pk)
    _done(
        request,
        actions.confirm_match,
        need,
        found.offer,
        score=found.score,
        reason=found.reason,
        actor=request.user,
        success=_("The match is confirmed."),
    )
    return redirect("participation_item", need.pk)


@login_required
@require_POST
def place_order(request, item_id: int):
    _staff(request)
    service = _found(get_item_for, request.user, item_id)
    form = OrderForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect("participation_item", service.pk)
    data = form.cleaned_data
    _done(
        request,
        actions.place_order,
        service,
        orderer_kind=data["orderer_kind"],
        orderer_name=data["orderer_name"],
        orderer_phone=data["orderer_phone"],
        note=data["note"],
        idempotency_key=f"web:{data['key'][:64]}",
        actor=request.user,
        success=_("The order is placed."),
    )
    return redirect("participation_item", service.pk)


@login_required
def orders(request):
    """点单/接单: the orders of one's communities and of the services one provides."""
    rows = visible_orders(request.user).prefetch_related("steps")
    state = request.GET.get("state", "")
    if state in OrderState.values:
        rows = rows.filter(state=state)
    if not has_perm(request.user, Perm.MANAGE_COMMUNITY) and not rows.exists():
        raise DjangoPermissionDenied()
    context = {
        "orders": [
            {
                "order": o,
                "phone": mask_phone(o.orderer_phone),
                "may_take": actions.may_take(request.user, o),
            }
            for o in rows[:200]
        ],
        "state": state,
        "states": OrderState.choices,
        "may_confirm": has_perm(request.user, Perm.MANAGE_COMMUNITY),
    }
    return render(request, "participation/orders.html", context)


@login_required
@require_POST
def order_step(request, order_id: int, step: str):
    order = _found(get_order_for, request.user, order_id)
    _done(
        request,
        actions.move_order,
        order,
        step,
        note=request.POST.get("note", "")[:300],
        actor=request.user,
        success=_("Saved."),
    )
    return _back(request, reverse("participation_orders"))


@login_required
def wishes(request):
    _staff(request)
    community = _found(get_managed_community, request.user, request.GET.get("community"))
    rows = visible_wishes(request.user).filter(community=community)
    state = request.GET.get("state", "")
    if state in WishState.values:
        rows = rows.filter(state=state)
    context = {
        "community": community,
        "communities": managed_communities(request.user).order_by("path"),
        "wishes": [
            {"wish": w, "name": mask_name(w.wisher_name), "phone": mask_phone(w.wisher_phone)}
            for w in rows[:200]
        ],
        "state": state,
        "states": WishState.choices,
        "form": StaffWishForm(initial={"key": uuid.uuid4().hex}),
        "claimant_kinds": ClaimantKind.choices,
        "units": Unit.objects.filter(is_active=True).order_by("code"),
    }
    return render(request, "participation/wishes.html", context)


@login_required
@require_POST
def wish_post(request):
    _staff(request)
    community = _found(get_managed_community, request.user, request.POST.get("community"))
    form = StaffWishForm(request.POST, request.FILES)
    if form.is_valid():
        data = form.cleaned_data
        _done(
            request,
            actions.post_wish,
            community,
            title=data["title"],
            text=data["text"],
            wisher_name=data["wisher_name"],
            wisher_phone=data["wisher_phone"],
            photo=data["photo"],
            idempotency_key=f"web:{data['key'][:64]}",
            actor=request.user,
            success=_("The wish is on the wall."),
        )
    else:
        _form_errors(request, form)
    return redirect(f"{reverse('participation_wishes')}?community={community.code}")


@login_required
@require_POST
def wish_step(request, wish_id: int, step: str):
    _staff(request)
    wish = _found(get_wish_for, request.user, wish_id)
    if step in ("publish", "withdraw"):
        _done(
            request,
            actions.review_wish,
            wish,
            publish=step == "publish",
            actor=request.user,
            success=_("Saved."),
        )
    elif step == "claim":
        form = ClaimForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            _done(
                request,
                actions.claim_wish,
                wish,
                claimant_kind=data["claimant_kind"],
                claimant_name=data["claimant_name"],
                claimant_unit=data["claimant_unit"],
                actor=request.user,
                success=_("The wish is claimed."),
            )
        else:
            _form_errors(request, form)
    elif step == "fulfil":
        form = FulfilForm(request.POST, request.FILES)
        if form.is_valid():
            _done(
                request,
                actions.fulfil_wish,
                wish,
                photo=form.cleaned_data["photo"],
                note=form.cleaned_data["note"],
                actor=request.user,
                success=_("The wish is fulfilled."),
            )
        else:
            _form_errors(request, form)
    else:
        raise Http404()
    return redirect(f"{reverse('participation_wishes')}?community={wish.community.code}")


# --- public pages -------------------------------------------------------------------------------


def public_links(code: str) -> list[dict]:
    links = []
    for name, label, blurb in PUBLIC_PAGES:
        try:
            url = reverse(name, args=[code])
        except NoReverseMatch:
            continue
        links.append({"name": name, "url": url, "label": label, "blurb": blurb})
    return links


def community_home(request):
    """社区: choose a township and community, then its public pages of community life."""
    code = request.GET.get("community", "")
    community = None
    if code:
        try:
            community = public_community(code)
        except NotFound:
            messages.error(request, _("Choose a community from the list."))
    context = {
        "groups": communities_by_township(),
        "community": community,
        "links": public_links(community.code) if community else [],
    }
    return render(request, "participation/community_home.html", context)


# A phone or ID number a resident typed into the text itself: 7+ digits, an ID's final X.
NUMBER = re.compile(r"(?<![0-9])[0-9](?:[0-9 -]{5,}[0-9])[0-9Xx]?(?![0-9])")


def scrub(text: str) -> str:
    """Public text with any phone or ID number in it masked."""

    def mask(m: re.Match) -> str:
        digits = re.sub(r"[ -]", "", m.group(0))
        return mask_id_number(digits) if len(digits) >= 15 else mask_phone(digits)

    return NUMBER.sub(mask, text or "")


def _wall_rows(community) -> list[dict]:
    return [
        {
            "wish": w,
            "title": scrub(w.title),
            "text": scrub(w.text),
            "note": scrub(w.fulfilment_note),
            "name": mask_name(w.wisher_name),
            # A unit is named; a person who claimed is masked like the wisher.
            "claimant": w.claimant_name
            if w.claimant_kind == ClaimantKind.UNIT
            else mask_name(w.claimant_name),
        }
        for w in wall_wishes(community)[:200]
    ]


def wishes_wall(request, code: str):
    """微心愿墙: open, claimed and fulfilled wishes; names masked, no phone numbers."""
    community = _found(public_community, code)
    form = WishForm(initial={"key": uuid.uuid4().hex})
    status = 200
    if request.method == "POST":
        form = WishForm(request.POST, request.FILES)
        status = 400
        if form.is_valid() and throttled(request, "wish", limit=WISH_LIMIT, per=HOUR):
            form.add_error(None, too_many_text(HOUR))
            status = 429
        elif form.is_valid():
            data = form.cleaned_data
            wish = _done(
                request,
                actions.post_wish,
                community,
                title=data["title"],
                text=data["text"],
                wisher_name=data["wisher_name"],
                wisher_phone=data["wisher_phone"],
                photo=data["photo"],
                idempotency_key=f"public:{data['key'][:64]}",
                actor=None,
                success=_(
                    "Thank you. Your wish is sent; it appears here once the community has read it."
                ),
            )
            if wish is not None:
                return redirect("wishes_wall", community.code)
    context = {
        "community": community,
        "rows": _wall_rows(community),
        "counts": wall_counts(community),
        "form": form,
    }
    return render(request, "participation/wall.html", context, status=status)


def wish_photo(request, wish_id: int, which: str):
    """A wish's photo, for the wall: only of a wish the wall shows."""
    from wangge.participation.models import PUBLIC_WISH_STATES, MicroWish

    wish = MicroWish.objects.filter(pk=wish_id, state__in=PUBLIC_WISH_STATES).first()
    field = {"wish": "photo", "fulfilled": "fulfilment_photo"}.get(which)
    if wish is None or field is None or not getattr(wish, field):
        raise Http404()
    handle = getattr(wish, field).open("rb")
    kind = sniff_image(handle)
    if kind is None:
        raise Http404()
    response = FileResponse(handle, content_type=kind)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "public, max-age=3600"
    return response


def services_public(request, code: str):
    community = _found(public_community, code)
    people = (ProviderKind.RESIDENT, ProviderKind.VOLUNTEER)
    rows = [
        {
            "service": s,
            "title": scrub(s.title),
            "description": scrub(s.description),
            # A person offering help is masked like a wisher; a merchant or unit is named.
            "provider": mask_name(s.provider_name)
            if s.provider_kind in people
            else s.provider_name,
        }
        for s in public_services(community)
    ]
    context = {"community": community, "rows": rows}
    return render(request, "participation/services_public.html", context)
