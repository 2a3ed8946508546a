"""Who may do what: a `Perm` per operation and one table of roles → permissions, reviewed like
policy. Scope (which cases) is decided by `Assignment` rows; see `cases/queries.py`."""

from enum import StrEnum

from wangge.accounts.models import Assignment, Role, User


class Perm(StrEnum):
    VIEW_CASE = "view_case"
    REPORT_CASE = "report_case"
    DISPATCH_CASE = "dispatch_case"
    HANDLE_CASE = "handle_case"  # accept, return, start, pause, resume, resolve
    ESCALATE_CASE = "escalate_case"
    RATE_CASE = "rate_case"  # recorded on behalf of the resident (回访)
    CLOSE_CASE = "close_case"
    REOPEN_CASE = "reopen_case"
    SUPERVISE = "supervise"
    ANSWER_SUPERVISION = "answer_supervision"
    INSTRUCT = "instruct"  # 批办: a leader's instruction
    REVEAL_CONTACT = "reveal_contact"
    VIEW_METRICS = "view_metrics"
    MANAGE_GRID = "manage_grid"
    VIEW_RESIDENTS = "view_residents"  # the registry, masked
    MANAGE_RESIDENTS = "manage_residents"  # register, edit, import
    REVEAL_PERSONAL_DATA = "reveal_personal_data"  # residents' ID and phone numbers, logged
    # Community life: time bank and points, lists and wishes, projects, deliberation, disclosure.
    MANAGE_COMMUNITY = "manage_community"
    SUPERVISE_PROJECTS = "supervise_projects"  # 人大代表监督: comments, ratings, site visits


P = Perm
_VIEW = {P.VIEW_CASE, P.VIEW_METRICS}
_HANDLE = {P.HANDLE_CASE, P.ANSWER_SUPERVISION}
# The people who visit households: they keep the registry of their own grid.
_REGISTRY = {P.VIEW_RESIDENTS, P.MANAGE_RESIDENTS, P.REVEAL_PERSONAL_DATA}

ROLE_PERMS: dict[str, frozenset[Perm]] = {
    Role.DISPATCHER: frozenset(
        _VIEW
        | {P.REPORT_CASE, P.DISPATCH_CASE, P.RATE_CASE, P.CLOSE_CASE, P.REOPEN_CASE}
        | {P.REVEAL_CONTACT, P.ESCALATE_CASE}
        | {P.VIEW_RESIDENTS}  # who lives there, masked: context for an urgent case
    ),
    Role.UNIT_HANDLER: frozenset(_VIEW | _HANDLE | {P.REPORT_CASE, P.ESCALATE_CASE}),
    Role.GRID_WORKER: frozenset(
        _VIEW | _HANDLE | _REGISTRY | {P.REPORT_CASE, P.ESCALATE_CASE, P.MANAGE_COMMUNITY}
    ),
    Role.COMMUNITY_SECRETARY: frozenset(
        _VIEW
        | _HANDLE
        | _REGISTRY
        | {P.REPORT_CASE, P.ESCALATE_CASE, P.DISPATCH_CASE, P.MANAGE_COMMUNITY}
    ),
    Role.SUPERVISOR: frozenset(_VIEW | {P.SUPERVISE, P.REOPEN_CASE}),
    Role.DISCIPLINE_SUPERVISOR: frozenset(_VIEW | {P.SUPERVISE}),
    Role.LEADER: frozenset(_VIEW | {P.INSTRUCT}),
    Role.DEPUTY: frozenset({P.SUPERVISE_PROJECTS}),
    Role.ADMIN: frozenset(set(Perm)),
}


def active_assignments(user: User, perm: Perm | None = None) -> list[Assignment]:
    """The user's assignments whose role grants `perm` (all active ones when perm is None)."""
    if not user or not user.is_authenticated:
        return []
    cache = getattr(user, "_wangge_assignments", None)
    if cache is None:
        cache = list(
            Assignment.objects.filter(user=user, is_active=True)
            .select_related("cell", "unit")
            .defer("cell__geometry")
        )
        user._wangge_assignments = cache
    return [a for a in cache if perm is None or perm in ROLE_PERMS.get(a.role, ())]


def has_perm(user: User, perm: Perm) -> bool:
    return bool(active_assignments(user, perm))


def roles_of(user: User) -> set[str]:
    return {a.role for a in active_assignments(user)}
