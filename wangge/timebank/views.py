"""Time bank pages: the public page of a community (its 积分超市 catalogue and totals, member
names masked, no phone or ID number), and the staff pages of a community's time bank, one tab
each: to do (tasks to confirm, claims to decide), members (enrol, balances, flags), volunteer
tasks, points (rules and claims), the points supermarket and the policy (limits, hours → points).

Thin: parse a form, check scope (another community answers 404, a role without
MANAGE_COMMUNITY 403), call one action, tell the user, back to the tab. A form that could be
stored twice when sent twice carries a one-time key (`_once`)."""

import uuid
from datetime import date, timedelta
from decimal import Decimal

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.validators import RegexValidator
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from wangge.accounts.permissions import Perm, has_perm
from wangge.audit.actions import record_audit
from wangge.audit.models import AuditEntry
from wangge.cases.queries import visible_cases
from wangge.lib.errors import DomainError, NotFound
from wangge.lib.masking import mask_name, mask_phone
from wangge.people.queries import visible_residents
from wangge.timebank import actions, queries
from wangge.timebank.models import (
    ClaimState,
    Ledger,
    Member,
    Period,
    PointsRule,
    Policy,
    TaskState,
)

PERM = Perm.MANAGE_COMMUNITY
CENT = Decimal("0.01")
TABS = ("home", "members", "tasks", "points", "store", "policy")


def public(request, code: str):
    """The community's public page: anyone may read it."""
    try:
        community = queries.community_by_code(code)
    except NotFound as exc:
        raise Http404(exc.text()) from exc
    context = {
        "community": community,
        "totals": queries.community_totals(community),
        "items": community.catalogue_items.filter(active=True),
        "volunteers": [
            (mask_name(name), hours) for name, hours in queries.top_volunteers(community)
        ],
    }
    return render(request, "timebank/public.html", context)


# --- scope and helpers -----------------------------------------------------------------------


def _staff(request):
    if not has_perm(request.user, PERM):
        raise DjangoPermissionDenied()


def _community(request, code: str | None):
    communities = queries.visible_communities(request.user).order_by("path")
    community = communities.filter(code=code).first() if code else communities.first()
    if community is None:
        raise Http404(_("Community not found."))
    return community, communities


def _tab_url(community, tab: str = "home") -> str:
    name = "timebank_home" if tab == "home" else f"timebank_{tab}"
    return f"{reverse(name)}?community={community.code}"


def _back(community, tab: str = "home"):
    return redirect(_tab_url(community, tab if tab in TABS else "home"))


def _get(queryset, pk: int):
    try:
        return queries.get_or_404(queryset, pk)
    except NotFound as exc:
        raise Http404(exc.text()) from exc


def _key() -> str:
    return uuid.uuid4().hex


def _form_errors(form, exc: DomainError) -> None:
    """Put a refusal's messages on the form: on their fields, or on the whole form."""
    if not exc.fields:
        form.add_error(None, exc.text())
    for name, message in exc.fields.items():
        form.add_error(name if name in form.fields else None, str(message))


# A retry comes within minutes; looking back a day keeps the search on the indexed time column.
KEY_LIFETIME = timedelta(days=1)
FORM_SENT = "submit_timebank_form"


def _once(request, community, form, run):
    """Carry out a form once per one-time key: `run()` and a record of the key, in one
    transaction; a second submission with the same key finds the record and stores nothing
    (returns None). The community's policy row is locked first, so two submissions of one form
    at the same moment wait for each other on PostgreSQL (SQLite writes one at a time)."""
    key = form.cleaned_data["key"]
    with transaction.atomic():
        policy = actions.policy_of(community)
        list(Policy.objects.select_for_update().filter(pk=policy.pk).values_list("pk"))
        seen = AuditEntry.objects.filter(
            action=FORM_SENT,
            actor=request.user,
            occurred_at__gte=timezone.now() - KEY_LIFETIME,
            detail__key=key,
        )
        if seen.exists():
            return None
        result = run()
        record_audit(
            actor=request.user,
            action=FORM_SENT,
            obj=result,
            detail={"form": type(form).__name__, "key": key, "community": community.code},
        )
        return result


def _submit(request, community, form, tab: str, run, done: str, *, once: bool = True):
    """Validate, call the action (once per key), tell the user and go back to the tab; or None
    when the form must be shown again with its errors."""
    if not form.is_valid():
        return None
    try:
        result = _once(request, community, form, run) if once else run()
    except DomainError as exc:
        _form_errors(form, exc)
        return None
    if result is None:
        messages.info(request, _("This form was already sent; it was recorded once."))
    else:
        messages.success(request, done)
    return _back(community, tab)


class KeyedForm(forms.Form):
    key = forms.CharField(widget=forms.HiddenInput, max_length=64)


# --- forms: they validate input for an action and never save ------------------------------------

PHONE = RegexValidator(r"^\+?[0-9][0-9 -]{4,19}$", gettext_lazy("Enter a phone number."))


class EnrolForm(KeyedForm):
    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=50,
        required=False,
        help_text=gettext_lazy("May be left empty when a resident is chosen below."),
    )
    phone = forms.CharField(
        label=gettext_lazy("Phone (optional)"),
        max_length=20,
        required=False,
        validators=[PHONE],
        help_text=gettext_lazy("Stored encrypted, shown masked."),
    )
    resident = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, residents=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.residents = residents

    def clean_resident(self):
        pk = self.cleaned_data.get("resident")
        if pk is None:
            return None
        resident = self.residents.filter(pk=pk).first()
        if resident is None:
            raise forms.ValidationError(_("Choose a resident from the search results."))
        return resident


class TaskForm(KeyedForm):
    title = forms.CharField(label=gettext_lazy("Title"), max_length=200)
    description = forms.CharField(
        label=gettext_lazy("Task details (optional)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    hours = forms.DecimalField(
        label=gettext_lazy("Hours per volunteer"),
        max_digits=6,
        decimal_places=2,
        min_value=CENT,
    )
    case = forms.CharField(
        label=gettext_lazy("Case tracking code (optional)"),
        max_length=16,
        required=False,
        help_text=gettext_lazy("A case of this community that you can see."),
    )
    volunteers = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Volunteers"),
        queryset=Member.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, members=None, cases=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["volunteers"].queryset = members
        self.cases = cases

    def clean_case(self):
        code = self.cleaned_data["case"].strip().upper()
        if not code:
            return None
        case = self.cases.filter(tracking_code=code).first()
        if case is None:
            raise forms.ValidationError(_("No case with this tracking code that you can see."))
        return case


class VolunteerForm(forms.Form):
    member = forms.IntegerField(label=gettext_lazy("Member"))


class RuleForm(KeyedForm):
    name = forms.CharField(label=gettext_lazy("Action that earns points"), max_length=100)
    points = forms.IntegerField(label=gettext_lazy("Points"), min_value=1, max_value=100000)
    cap = forms.IntegerField(
        label=gettext_lazy("Most points per member and period (optional)"),
        min_value=1,
        max_value=1000000,
        required=False,
    )
    period = forms.ChoiceField(
        label=gettext_lazy("Period"), choices=Period.choices, initial=Period.MONTH
    )


class ClaimForm(KeyedForm):
    member = forms.ModelChoiceField(label=gettext_lazy("Member"), queryset=Member.objects.none())
    rule = forms.ModelChoiceField(label=gettext_lazy("Rule"), queryset=PointsRule.objects.none())
    done_on = forms.DateField(
        label=gettext_lazy("Done on"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    note = forms.CharField(label=gettext_lazy("Note (optional)"), max_length=200, required=False)

    def __init__(self, *args, members=None, rules=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["member"].queryset = members
        self.fields["rule"].queryset = rules
        self.fields["rule"].label_from_instance = lambda r: (
            _("%(rule)s (%(points)s points)")
            % {
                "rule": r.name,
                "points": r.points,
            }
        )


class ItemForm(KeyedForm):
    name = forms.CharField(label=gettext_lazy("Item"), max_length=100)
    points = forms.IntegerField(label=gettext_lazy("Points"), min_value=1, max_value=1000000)
    stock = forms.IntegerField(label=gettext_lazy("In stock"), min_value=0, max_value=1000000)


class RestockForm(KeyedForm):
    added = forms.IntegerField(label=gettext_lazy("Add to stock"), min_value=1, max_value=100000)


class PolicyForm(forms.Form):
    max_debt_hours = forms.DecimalField(
        label=gettext_lazy("Most hours a member may owe"),
        max_digits=10,
        decimal_places=2,
        min_value=CENT,
    )
    max_credit_hours = forms.DecimalField(
        label=gettext_lazy("Most hours a member may hold"),
        max_digits=10,
        decimal_places=2,
        min_value=CENT,
    )
    points_per_hour = forms.IntegerField(
        label=gettext_lazy("Points for one hour (0: no conversion)"),
        min_value=0,
        max_value=100000,
    )


class ConvertForm(KeyedForm):
    member = forms.ModelChoiceField(label=gettext_lazy("Member"), queryset=Member.objects.none())
    hours = forms.DecimalField(
        label=gettext_lazy("Hours to convert"), max_digits=6, decimal_places=2, min_value=CENT
    )

    def __init__(self, *args, members=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["member"].queryset = members


def _members(request, community):
    return queries.visible_members(request.user).filter(community=community)


def _rules(community):
    return community.points_rules.filter(active=True)


def _policy(community) -> Policy:
    """The community's policy for reading: its defaults until it is first set."""
    return Policy.objects.filter(community=community).first() or Policy(community=community)


def _page(request, community, communities, tab: str, template: str, context: dict, status=200):
    context = {
        "community": community,
        "communities": communities,
        "tab": tab,
        **context,
    }
    return render(request, template, context, status=status)


# --- the to-do tab ------------------------------------------------------------------------------


def _open_tasks(request, community):
    return (
        queries.visible_tasks(request.user)
        .filter(community=community, state=TaskState.OPEN)
        .prefetch_related("volunteers__member")
    )


@login_required
def home(request):
    """To do: tasks waiting for their organiser's confirmation, claims waiting for a decision,
    members beyond the limits."""
    _staff(request)
    community, communities = _community(request, request.GET.get("community"))
    tab = request.GET.get("tab")
    if tab in TABS and tab != "home":  # the community picker keeps the tab
        return _back(community, tab)
    flagged = (
        queries.visible_accounts(request.user)
        .filter(community=community, ledger=Ledger.HOURS, flagged=True, member__isnull=False)
        .order_by("member__name")
    )
    context = {
        "tasks": _open_tasks(request, community),
        "claims": queries.pending_claims(community),
        "flagged": flagged,
    }
    return _page(request, community, communities, "home", "timebank/home.html", context)


# --- members ------------------------------------------------------------------------------------


def _resident_pool(request, community):
    """Registry residents of the community the user may see (none without VIEW_RESIDENTS)."""
    return visible_residents(request.user).filter(
        household__cell__path__startswith=community.path, moved_out_at__isnull=True
    )


def _members_page(request, community, communities, form=None, status=200):
    members = _members(request, community).prefetch_related("accounts")
    rows = []
    for m in members:
        balances = {a.ledger: a for a in m.accounts.all()}
        rows.append(
            {
                "member": m,
                "phone": mask_phone(m.phone),
                "hours": balances[Ledger.HOURS],
                "points": balances[Ledger.POINTS],
            }
        )
    q = request.GET.get("q", "").strip()[:50]
    found = []
    may_search = has_perm(request.user, Perm.VIEW_RESIDENTS)
    if q and may_search:
        linked = set(
            Member.objects.filter(community=community, resident__isnull=False).values_list(
                "resident_id", flat=True
            )
        )
        for r in _resident_pool(request, community).filter(name__icontains=q)[:20]:
            found.append({"resident": r, "member": r.pk in linked})
    if form is None:
        form = EnrolForm(initial={"key": _key(), "name": ""})
    chosen = form["resident"].value() if form.is_bound else None
    context = {
        "rows": rows,
        "form": form,
        "q": q,
        "found": found,
        "may_search": may_search,
        "chosen": str(chosen or ""),
    }
    return _page(
        request, community, communities, "members", "timebank/members.html", context, status
    )


@login_required
def members(request):
    """Members with their hours and points; enrol one (POST), perhaps a registry resident found
    by name."""
    _staff(request)
    community, communities = _community(request, request.GET.get("community"))
    if request.method != "POST":
        return _members_page(request, community, communities)
    form = EnrolForm(request.POST, residents=_resident_pool(request, community))
    done = _submit(
        request,
        community,
        form,
        "members",
        lambda: actions.enrol_member(
            community,
            name=form.cleaned_data["name"],
            phone=form.cleaned_data["phone"],
            resident=form.cleaned_data["resident"],
            actor=request.user,
        ),
        _("Member enrolled."),
    )
    return done or _members_page(request, community, communities, form, status=400)


# --- volunteer tasks ----------------------------------------------------------------------------


def _task_form(request, community, data=None):
    return TaskForm(
        data,
        members=_members(request, community),
        cases=visible_cases(request.user),
        initial=None if data else {"key": _key()},
    )


def _tasks_page(request, community, communities, form=None, status=200):
    tasks = _open_tasks(request, community).select_related("case")
    done = (
        queries.visible_tasks(request.user)
        .filter(community=community)
        .exclude(state=TaskState.OPEN)
        .select_related("case")
        .prefetch_related("volunteers__member")[:20]
    )
    members = list(_members(request, community))
    rows = []
    for task in tasks:
        signed = {v.member_id for v in task.volunteers.all()}
        rows.append({"task": task, "others": [m for m in members if m.pk not in signed]})
    context = {
        "rows": rows,
        "done": done,
        "form": form or _task_form(request, community),
        "has_members": bool(members),
    }
    return _page(request, community, communities, "tasks", "timebank/tasks.html", context, status)


@login_required
def tasks(request):
    """Open tasks (add volunteers, confirm), tasks done; create one (POST): you organise it."""
    _staff(request)
    community, communities = _community(request, request.GET.get("community"))
    if request.method != "POST":
        return _tasks_page(request, community, communities)
    form = _task_form(request, community, request.POST)
    done = _submit(
        request,
        community,
        form,
        "tasks",
        lambda: actions.create_task(
            community,
            title=form.cleaned_data["title"],
            description=form.cleaned_data["description"],
            hours=form.cleaned_data["hours"],
            case=form.cleaned_data["case"],
            volunteers=list(form.cleaned_data["volunteers"]),
            organiser=request.user,
        ),
        _("Task created."),
    )
    return done or _tasks_page(request, community, communities, form, status=400)


def _act(request, community, action, done: str, tab: str = "home"):
    try:
        action()
    except DomainError as exc:
        messages.error(request, exc.text())
    else:
        messages.success(request, done)
    return _back(community, request.POST.get("next", tab))


@login_required
@require_POST
def add_volunteer(request, task_id: int):
    _staff(request)
    task = _get(queries.visible_tasks(request.user), task_id)
    form = VolunteerForm(request.POST)
    if not form.is_valid():
        raise Http404()
    member = _get(_members(request, task.community), form.cleaned_data["member"])
    return _act(
        request,
        task.community,
        lambda: actions.add_volunteer(task, member, actor=request.user),
        _("Volunteer added."),
        "tasks",
    )


@login_required
@require_POST
def confirm_task(request, task_id: int):
    _staff(request)
    task = _get(queries.visible_tasks(request.user), task_id)
    return _act(
        request,
        task.community,
        lambda: actions.confirm_task(task, actor=request.user),
        _("Task confirmed: the volunteers' hours are credited."),
    )


# --- points: rules and claims -------------------------------------------------------------------


def _points_page(request, community, communities, rule_form=None, claim_form=None, status=200):
    claims = queries.visible_claims(request.user).filter(member__community=community)
    context = {
        "rules": _rules(community),
        "claims": claims.filter(state=ClaimState.PENDING),
        "decided": claims.exclude(state=ClaimState.PENDING)[:20],
        "rule_form": rule_form or RuleForm(initial={"key": _key()}),
        "claim_form": claim_form
        or ClaimForm(
            members=_members(request, community),
            rules=_rules(community),
            initial={"key": _key(), "done_on": timezone.localdate()},
        ),
        "today": timezone.localdate(),
    }
    return _page(request, community, communities, "points", "timebank/points.html", context, status)


@login_required
def points(request):
    _staff(request)
    community, communities = _community(request, request.GET.get("community"))
    return _points_page(request, community, communities)


@login_required
@require_POST
def create_rule(request):
    _staff(request)
    community, communities = _community(request, request.GET.get("community"))
    form = RuleForm(request.POST)
    done = _submit(
        request,
        community,
        form,
        "points",
        lambda: actions.create_rule(
            community,
            name=form.cleaned_data["name"],
            points=form.cleaned_data["points"],
            cap=form.cleaned_data["cap"],
            period=form.cleaned_data["period"],
            actor=request.user,
        ),
        _("Rule created."),
    )
    return done or _points_page(request, community, communities, rule_form=form, status=400)


@login_required
@require_POST
def claim_points(request):
    _staff(request)
    community, communities = _community(request, request.GET.get("community"))
    form = ClaimForm(request.POST, members=_members(request, community), rules=_rules(community))
    done = _submit(
        request,
        community,
        form,
        "points",
        lambda: actions.claim_points(
            form.cleaned_data["member"],
            form.cleaned_data["rule"],
            done_on=form.cleaned_data["done_on"],
            note=form.cleaned_data["note"],
            actor=request.user,
        ),
        _("Claim recorded; it waits for approval."),
    )
    return done or _points_page(request, community, communities, claim_form=form, status=400)


@login_required
@require_POST
def approve_claim(request, claim_id: int):
    _staff(request)
    claim = _get(queries.visible_claims(request.user), claim_id)
    return _act(
        request,
        claim.member.community,
        lambda: actions.approve_claim(claim, actor=request.user),
        _("Claim approved."),
    )


@login_required
@require_POST
def reject_claim(request, claim_id: int):
    _staff(request)
    claim = _get(queries.visible_claims(request.user), claim_id)
    return _act(
        request,
        claim.member.community,
        lambda: actions.reject_claim(
            claim, actor=request.user, reason=request.POST.get("reason", "")
        ),
        _("Claim rejected."),
    )


# --- the points supermarket ---------------------------------------------------------------------


def _store_page(request, community, communities, item_form=None, restock=None, status=200):
    rows = []
    for m in _members(request, community).prefetch_related("accounts"):
        points = next(a.balance for a in m.accounts.all() if a.ledger == Ledger.POINTS)
        rows.append({"member": m, "points": points})
    items = queries.visible_items(request.user).filter(community=community, active=True)
    context = {
        "items": items,
        "rows": rows,
        "item_form": item_form or ItemForm(initial={"key": _key()}),
        "restock": restock,  # (item id, bound form with errors) after a refused restock
        "idempotency_key": _key(),
    }
    return _page(request, community, communities, "store", "timebank/store.html", context, status)


@login_required
def store(request):
    _staff(request)
    community, communities = _community(request, request.GET.get("community"))
    return _store_page(request, community, communities)


@login_required
@require_POST
def add_item(request):
    _staff(request)
    community, communities = _community(request, request.GET.get("community"))
    form = ItemForm(request.POST)
    done = _submit(
        request,
        community,
        form,
        "store",
        lambda: actions.add_item(
            community,
            name=form.cleaned_data["name"],
            points=form.cleaned_data["points"],
            stock=form.cleaned_data["stock"],
            actor=request.user,
        ),
        _("Item added."),
    )
    return done or _store_page(request, community, communities, item_form=form, status=400)


@login_required
@require_POST
def restock_item(request, item_id: int):
    _staff(request)
    item = _get(queries.visible_items(request.user), item_id)
    community, communities = _community(request, item.community.code)
    form = RestockForm(request.POST)
    done = _submit(
        request,
        community,
        form,
        "store",
        lambda: actions.restock_item(item, added=form.cleaned_data["added"], actor=request.user),
        _("Stock added."),
    )
    return done or _store_page(request, community, communities, restock=(item.pk, form), status=400)


@login_required
@require_POST
def redeem(request):
    _staff(request)
    try:
        member_id = int(request.POST.get("member", ""))
        item_id = int(request.POST.get("item", ""))
        quantity = int(request.POST.get("quantity", "1"))
    except ValueError as exc:
        raise Http404() from exc
    member = _get(queries.visible_members(request.user), member_id)
    item = _get(queries.visible_items(request.user), item_id)
    return _act(
        request,
        member.community,
        lambda: actions.redeem(
            member,
            item,
            quantity=quantity,
            actor=request.user,
            idempotency_key=request.POST.get("idempotency_key", "")[:100],
        ),
        _("Redemption recorded."),
        "store",
    )


# --- policy and conversion ----------------------------------------------------------------------


def _policy_page(request, community, communities, policy_form=None, convert_form=None, status=200):
    policy = _policy(community)
    context = {
        "policy": policy,
        "policy_form": policy_form
        or PolicyForm(
            initial={
                "max_debt_hours": policy.max_debt_hours,
                "max_credit_hours": policy.max_credit_hours,
                "points_per_hour": policy.points_per_hour,
            }
        ),
        "convert_form": convert_form
        or ConvertForm(members=_members(request, community), initial={"key": _key()}),
    }
    return _page(request, community, communities, "policy", "timebank/policy.html", context, status)


@login_required
def policy(request):
    """The community's limits and rate (POST sets them: the same values twice change nothing)."""
    _staff(request)
    community, communities = _community(request, request.GET.get("community"))
    if request.method != "POST":
        return _policy_page(request, community, communities)
    form = PolicyForm(request.POST)
    done = _submit(
        request,
        community,
        form,
        "policy",
        lambda: actions.set_policy(community, actor=request.user, **form.cleaned_data),
        _("Policy saved."),
        once=False,
    )
    return done or _policy_page(request, community, communities, policy_form=form, status=400)


@login_required
@require_POST
def convert_hours(request):
    _staff(request)
    community, communities = _community(request, request.GET.get("community"))
    form = ConvertForm(request.POST, members=_members(request, community))
    done = _submit(
        request,
        community,
        form,
        "policy",
        lambda: actions.convert_hours(
            form.cleaned_data["member"], hours=form.cleaned_data["hours"], actor=request.user
        )[1],
        _("Hours converted into points."),
    )
    return done or _policy_page(request, community, communities, convert_form=form, status=400)


# --- statements ---------------------------------------------------------------------------------


@login_required
def account_statement(request, account_id: int):
    _staff(request)
    account = _get(queries.visible_accounts(request.user), account_id)

    def day(name):
        try:
            return date.fromisoformat(request.GET.get(name, ""))
        except ValueError:
            return None

    context = {
        "account": account,
        "statement": queries.statement(account, start=day("start"), end=day("end")),
    }
    return render(request, "timebank/statement.html", context)
