"""Time bank pages: the public page of a community (its 积分超市 catalogue and totals, member
names masked, no phone or ID number), and the staff page where a community's secretary or grid
worker confirms tasks, decides claims and records redemptions. Thin: parse, check scope, call
one action, tell the user, back to the page."""

import uuid
from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from wangge.accounts.permissions import Perm, has_perm
from wangge.lib.errors import DomainError, NotFound
from wangge.lib.masking import mask_name
from wangge.timebank import actions, queries
from wangge.timebank.models import Ledger, TaskState

PERM = Perm.MANAGE_COMMUNITY


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


def _staff(request):
    if not has_perm(request.user, PERM):
        raise DjangoPermissionDenied()


def _community(request, code: str | None):
    communities = queries.visible_communities(request.user).order_by("path")
    community = communities.filter(code=code).first() if code else communities.first()
    if community is None:
        raise Http404(_("Community not found."))
    return community, communities


def _back(community):
    return redirect(f"{reverse('timebank_home')}?community={community.code}")


def _get(queryset, pk: int):
    try:
        return queries.get_or_404(queryset, pk)
    except NotFound as exc:
        raise Http404(exc.text()) from exc


@login_required
def home(request):
    _staff(request)
    community, communities = _community(request, request.GET.get("community"))
    members = (
        queries.visible_members(request.user)
        .filter(community=community)
        .prefetch_related("accounts")
    )
    rows = []
    for m in members:
        balances = {a.ledger: a for a in m.accounts.all()}
        rows.append(
            {"member": m, "hours": balances[Ledger.HOURS], "points": balances[Ledger.POINTS]}
        )
    context = {
        "community": community,
        "communities": communities,
        "tasks": queries.visible_tasks(request.user)
        .filter(community=community, state=TaskState.OPEN)
        .prefetch_related("volunteers__member"),
        "claims": queries.pending_claims(community),
        "items": community.catalogue_items.filter(active=True),
        "rows": rows,
        "idempotency_key": uuid.uuid4().hex,
    }
    return render(request, "timebank/home.html", context)


def _act(request, community, action, done: str):
    try:
        action()
    except DomainError as exc:
        messages.error(request, exc.text())
    else:
        messages.success(request, done)
    return _back(community)


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
    )


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
