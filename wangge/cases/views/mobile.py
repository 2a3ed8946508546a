"""The grid worker's H5 (网格员移动端) under /h5/: my tasks, a case with its buttons, 一键上报 and
my grid, for cheap phones with a weak signal.

The pages only read. Every change goes through the JSON API (`/api/v1/cases…`) from the
phone's outbox (`static/h5/outbox.js`, IndexedDB): a draft is kept on the phone with its
idempotency keys until the server has confirmed it, so a lost signal loses nothing and a
retry changes nothing twice. What the phone needs to know about the loop (which moves lead to
a button's goal, which states mean a move already happened) is computed here from
`TRANSITIONS` and handed to the page; the script only queues and sends.
"""

import hashlib
import json
from datetime import timedelta
from functools import cache
from pathlib import Path

from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import Case as SqlCase
from django.db.models import Count, F, IntegerField, Q, QuerySet, Value, When
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache

from wangge.accounts.models import Role
from wangge.accounts.permissions import Perm, active_assignments, has_perm
from wangge.cases.deadlines import Colour, with_colour
from wangge.cases.models import (
    TRANSITIONS,
    Audience,
    Case,
    CaseState,
    Category,
    Channel,
    Outcome,
)
from wangge.cases.queries import get_case_for_any, visible_cases
from wangge.grids.models import GridCell, GridLevel
from wangge.lib.errors import NotFound, PermissionDenied
from wangge.people.queries import visible_households

S = CaseState
# Cases on a grid worker's list: waiting for them to accept, or in their hands. (退单 goes back
# to the command centre and 已办结 to the resident, so neither waits for the worker.)
TASK_STATES = (S.DISPATCHED, S.REOPENED, S.ACCEPTED, S.IN_PROGRESS, S.PAUSED)
TASK_LIMIT = 100
RECENT_LIMIT = 20
PATROL_HISTORY = timedelta(days=180)
# The moves the phone offers, in the order a case goes through them.
PHONE_MOVES = ("accept", "start", "resolve")
# Moves that carry a case forward; a case they lead to has been through the move before them.
FORWARD_MOVES = ("accept", "start", "pause", "resume", "resolve", "rate", "close")
URGENCY = SqlCase(
    When(colour=Colour.RED, then=Value(0)),
    When(colour=Colour.YELLOW, then=Value(1)),
    When(colour=Colour.GREEN, then=Value(2)),
    default=Value(3),
    output_field=IntegerField(),
)
BUTTON_LABELS = {
    "accept": _("Accept"),
    "start": _("Start handling"),
    "resolve": _("Resolve"),
}
STATIC_FILES = ("h5/h5.css", "h5/outbox.js", "h5/h5.js")
# What the phone's script says by itself (the rest of every page is rendered here).
TEXTS = {
    "online": _("Online"),
    "offline": _("Offline: what you send is kept on this phone"),
    "waiting": _("Waiting to send"),
    "sending": _("Sending…"),
    "sent": _("Sent"),
    "refused": _("Not accepted: %(message)s"),
    "otherUser": _("Waiting for %(user)s to log in"),
    "retry": _("Try again"),
    "discard": _("Discard"),
    "confirmDiscard": _("Discard this draft? The server has not received it."),
    "queued": _("Saved on this phone; it will be sent as soon as there is a signal."),
    "patrolLabel": _("Patrol report: %(category)s"),
    "patrolSent": _("Report received, tracking code %(code)s."),
    "position": _("Position: %(lon)s, %(lat)s (±%(accuracy)s m)"),
    "positionWait": _("Finding your position…"),
    "positionNone": _("No position: location is not allowed or not available."),
    "photos": _("%(count)s photo(s) chosen"),
}


def _steps_to(state: str, goal: str) -> list[str] | None:
    """The phone's moves that take a case in `state` through `goal`, shortest first: a
    dispatched case is accepted before it is resolved. None if `goal` cannot be reached."""
    paths: list[tuple[str, list[str]]] = [(state, [])]
    seen = {state}
    while paths:
        here, steps = paths.pop(0)
        for move in PHONE_MOVES:
            to = TRANSITIONS.get((move, here))
            if to is None:
                continue
            if move == goal:
                return [*steps, move]
            if to not in seen:
                seen.add(to)
                paths.append((to, [*steps, move]))
    return None


@cache
def settled_states() -> dict[str, list[str]]:
    """For each phone move, the states in which the case has already been through it: the
    state the move leads to and every state forward moves reach from there. A retried move
    that finds the case in one of them was done (by this phone's first try, or by a
    colleague) and counts as sent."""
    settled = {}
    for move in PHONE_MOVES:
        reached = {to for (m, _from), to in TRANSITIONS.items() if m == move}
        todo = list(reached)
        while todo:
            here = todo.pop()
            for (m, frm), to in TRANSITIONS.items():
                if frm == here and m in FORWARD_MOVES and to not in reached:
                    reached.add(to)
                    todo.append(to)
        settled[move] = sorted(reached)
    return settled


def _case_for(user, case_id: int) -> Case:
    try:
        return get_case_for_any(user, case_id, (Perm.HANDLE_CASE, Perm.VIEW_CASE))
    except NotFound as exc:
        raise Http404(exc.text()) from exc
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(exc.text()) from exc


def _page(request, template: str, context: dict, status: int = 200) -> HttpResponse:
    """Render an H5 page with what its outbox script needs."""
    context = {
        **context,
        "settled": settled_states(),
        "texts": {key: str(text) for key, text in TEXTS.items()},
    }
    return render(request, template, context, status=status)


def _require(user, perm: Perm) -> None:
    if not has_perm(user, perm):
        raise DjangoPermissionDenied()


def my_grids(user) -> list[GridCell]:
    """The cells the user works in as a grid worker (or, failing that, handles cases in)."""
    assignments = active_assignments(user, Perm.HANDLE_CASE)
    workers = [a.cell for a in assignments if a.role == Role.GRID_WORKER and a.cell]
    cells = workers or [a.cell for a in assignments if a.cell]
    return sorted({c.pk: c for c in cells}.values(), key=lambda c: c.path)


def my_tasks(user, *, now) -> QuerySet[Case]:
    """Cases that wait for this user: assigned to them, handled at grid level in their grid
    (a deputy covers for the grid worker), or their unit's; most urgent first."""
    assignments = active_assignments(user, Perm.HANDLE_CASE)
    mine = Q(assignee=user)
    for a in assignments:
        if a.cell is not None and a.role in (Role.GRID_WORKER, Role.COMMUNITY_SECRETARY):
            mine |= Q(unit__isnull=True, handling_cell__path__startswith=a.cell.path)
        if a.unit_id:
            mine |= Q(unit=a.unit_id)
    cases = visible_cases(user, Perm.HANDLE_CASE).filter(mine, state__in=TASK_STATES)
    return (
        with_colour(cases, now=now)
        .annotate(urgency=URGENCY)
        .select_related("category", "cell")
        .order_by("urgency", F("due_at").asc(nulls_last=True), "reported_at", "id")
    )


def _label_colour(case: Case) -> Case:
    case.colour_label = Colour.LABELS[case.colour]
    return case


@login_required
def home(request):
    """我的任务: the cases waiting for me, most urgent first."""
    _require(request.user, Perm.HANDLE_CASE)
    tasks = [_label_colour(c) for c in my_tasks(request.user, now=timezone.now())[:TASK_LIMIT]]
    return _page(request, "cases/mobile/home.html", {"tasks": tasks})


def _buttons(user, case: Case) -> list[dict]:
    """The moves offered on the phone, each with the API steps that reach it from here."""
    if not visible_cases(user, Perm.HANDLE_CASE).filter(pk=case.pk).exists():
        return []
    buttons = []
    for move in PHONE_MOVES:
        steps = _steps_to(case.state, move)
        if steps:
            buttons.append({"move": move, "label": BUTTON_LABELS[move], "steps": steps})
    return buttons


@login_required
def case_page(request, case_id: int):
    """One case: its facts, public timeline, photos count and the buttons for the next move."""
    case = _case_for(request.user, case_id)
    case = with_colour(Case.objects.filter(pk=case.pk), now=timezone.now()).select_related(
        "category", "cell", "handling_cell", "unit"
    )[0]
    _label_colour(case)
    events = case.events.filter(audience=Audience.PUBLIC).order_by("occurred_at", "id")
    buttons = _buttons(request.user, case)
    context = {
        "case": case,
        "events": events,
        "photos": case.attachments.count(),
        "buttons": buttons,
        "moves": {b["move"]: b for b in buttons},
        "outcomes": Outcome.choices,
    }
    return _page(request, "cases/mobile/case.html", context)


def patrol_categories(user, *, now) -> list[Category]:
    """Leaf categories for 一键上报, the common ones of this grid's work first: what its patrols
    reported most in the last PATROL_HISTORY_DAYS, then grid-level work (小事不出网格), then by
    code."""
    grids = my_grids(user)
    recent = Q(cases__channel=Channel.PATROL, cases__reported_at__gte=now - PATROL_HISTORY)
    in_grid = Q()
    for cell in grids:
        in_grid |= Q(cases__cell__path__startswith=cell.path)
    used = Count("cases", filter=recent & in_grid) if grids else Value(0)
    return list(
        Category.objects.filter(is_active=True, children__isnull=True, raised_by_system=False)
        .annotate(used=used)
        .order_by("-used", "-grid_level", "code")
    )


@login_required
def report(request):
    """一键上报: photo, category, send."""
    _require(request.user, Perm.REPORT_CASE)
    categories = patrol_categories(request.user, now=timezone.now())
    grids = my_grids(request.user)
    context = {
        "common": categories[:6],
        "more": categories[6:],
        "grid": grids[0] if grids else None,
    }
    return _page(request, "cases/mobile/report.html", context)


@login_required
def grid(request):
    """我的网格: each of my grids with its recent cases and its buildings."""
    _require(request.user, Perm.VIEW_CASE)
    grids = my_grids(request.user)
    if not grids:
        raise DjangoPermissionDenied()
    now, sections = timezone.now(), []
    for cell in grids:
        recent = (
            with_colour(visible_cases(request.user), now=now)
            .filter(cell__path__startswith=cell.path)
            .select_related("category")
            .order_by("-reported_at", "-id")[:RECENT_LIMIT]
        )
        buildings = (
            GridCell.objects.filter(path__startswith=cell.path, level=GridLevel.BUILDING)
            .select_related("parent")
            .defer("geometry", "parent__geometry")
            .order_by("path")
        )
        # Households per building, with who in them needs attention (tags; sensitive ones only
        # for those who may reveal), for 走访: never an ID or phone number here.
        households = {}
        if has_perm(request.user, Perm.VIEW_RESIDENTS):
            homes = visible_households(request.user).filter(cell__path__startswith=cell.path)
            for home in homes.prefetch_related("residents__tags").order_by("door"):
                tags = sorted(
                    {t.name for r in home.residents.all() for t in r.tags.all() if not t.sensitive}
                )
                row = {"home": home, "people": len(home.residents.all()), "tags": tags}
                households.setdefault(home.cell_id, []).append(row)
        sections.append(
            {
                "cell": cell,
                "recent": [_label_colour(c) for c in recent],
                "buildings": [(b, households.get(b.pk, [])) for b in buildings],
            }
        )
    return _page(request, "cases/mobile/grid.html", {"sections": sections})


def offline(request):
    """Shown by the service worker for a page that was never opened while online."""
    return _page(request, "cases/mobile/offline.html", {})


def _static_path(name: str) -> Path | None:
    found = finders.find(name)
    return Path(found) if found else None


@cache
def shell_version() -> str:
    """Changes whenever the app shell's files change, so phones drop their old copies."""
    digest = hashlib.sha256()
    for name in STATIC_FILES:
        path = _static_path(name)
        digest.update(path.read_bytes() if path else name.encode())
    digest.update(render_to_string("cases/mobile/sw.js", {"version": "", "shell": "[]"}).encode())
    return digest.hexdigest()[:12]


@never_cache
def service_worker(request):
    """The service worker, served under /h5/ so that its scope covers the whole H5."""
    shell = [static(name) for name in STATIC_FILES] + [reverse("h5_offline")]
    context = {"version": shell_version(), "shell": json.dumps(shell)}
    body = render_to_string("cases/mobile/sw.js", context, request=request)
    response = HttpResponse(body, content_type="application/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = "/h5/"
    return response
