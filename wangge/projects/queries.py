"""Read side for 民生实事. Staff reads start from the user's scope: community staff
(MANAGE_COMMUNITY) over their grid subtrees, the owner unit's staff over their unit's projects,
deputies (SUPERVISE_PROJECTS) over their area; anything else answers 404 like a missing project.
Public reads show only what the public page may show: no resident's personal data."""

import re
from decimal import Decimal

from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from wangge.accounts.permissions import Perm, active_assignments
from wangge.accounts.queries import cells_q
from wangge.grids.models import GridCell, GridLevel
from wangge.lib.errors import NotFound
from wangge.lib.masking import mask_id_number, mask_phone
from wangge.projects.models import (
    CommentStatus,
    LivelihoodProject,
    ProgressUpdate,
    PublicComment,
    weighted_progress,
)

# Levels whose code opens a public list: a township's or a community's projects.
PUBLIC_LEVELS = (GridLevel.COUNTY, GridLevel.TOWNSHIP, GridLevel.COMMUNITY)
# What looks like a mainland mobile or ID number inside free text (a resident may type one).
_MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
_ID_NUMBER = re.compile(r"(?<![\dXx])\d{17}[\dXx](?![\dXx])")


def _cells_q(user, perm: Perm) -> Q | None:
    return cells_q(user, perm, "cell__")


def _owner_q(user) -> Q | None:
    """The owner unit's staff: any active role held for that unit."""
    units = {a.unit_id for a in active_assignments(user) if a.unit_id}
    return Q(owner_unit_id__in=units) if units else None


def _projects(scope: Q | None) -> QuerySet[LivelihoodProject]:
    if scope is None:
        return LivelihoodProject.objects.none()
    return LivelihoodProject.objects.filter(scope).select_related("cell", "owner_unit")


def managed_projects(user) -> QuerySet[LivelihoodProject]:
    """Projects serving the user's grid subtrees, for community staff (create, moderate)."""
    return _projects(_cells_q(user, Perm.MANAGE_COMMUNITY))


def progress_projects(user) -> QuerySet[LivelihoodProject]:
    """Projects whose progress the user may report: their unit's, or their community's."""
    scopes = [q for q in (_cells_q(user, Perm.MANAGE_COMMUNITY), _owner_q(user)) if q is not None]
    scope = None
    for q in scopes:
        scope = q if scope is None else scope | q
    return _projects(scope)


def supervised_projects(user) -> QuerySet[LivelihoodProject]:
    """Projects in a deputy's area (SUPERVISE_PROJECTS over a grid subtree)."""
    return _projects(_cells_q(user, Perm.SUPERVISE_PROJECTS))


def visible_projects(user) -> QuerySet[LivelihoodProject]:
    """Every project the user has any staff business with."""
    parts = [
        _cells_q(user, Perm.MANAGE_COMMUNITY),
        _owner_q(user),
        _cells_q(user, Perm.SUPERVISE_PROJECTS),
    ]
    scope = None
    for q in parts:
        if q is not None:
            scope = q if scope is None else scope | q
    return _projects(scope)


def _get(queryset: QuerySet[LivelihoodProject], project_id: int) -> LivelihoodProject:
    project = queryset.filter(pk=project_id).first()
    if project is None:  # one answer for "missing" and "not yours"
        raise NotFound(_("Project not found."))
    return project


def get_project_for(user, project_id: int, scope: str = "visible") -> LivelihoodProject:
    """The project if it is in the user's `scope` (visible, managed, progress, supervised)."""
    readers = {
        "visible": visible_projects,
        "managed": managed_projects,
        "progress": progress_projects,
        "supervised": supervised_projects,
    }
    return _get(readers[scope](user), project_id)


def may(user, project: LivelihoodProject, scope: str) -> bool:
    try:
        get_project_for(user, project.pk, scope)
    except NotFound:
        return False
    return True


# --- the tree ---------------------------------------------------------------------------------


def descendants(project: LivelihoodProject) -> list[LivelihoodProject]:
    """Everything under the project, level by level (a query per level; trees are shallow)."""
    found: list[LivelihoodProject] = []
    level = [project.pk]
    while level:
        rows = list(
            LivelihoodProject.objects.filter(parent_id__in=level).select_related(
                "cell", "owner_unit"
            )
        )
        found.extend(rows)
        level = [r.pk for r in rows]
    return found


def tree_of(project: LivelihoodProject) -> list[tuple[LivelihoodProject, int]]:
    """The project's sub-projects in display order with their depth (1 = direct child)."""
    rows = descendants(project)
    by_parent: dict[int, list[LivelihoodProject]] = {}
    for row in rows:
        by_parent.setdefault(row.parent_id, []).append(row)
    out: list[tuple[LivelihoodProject, int]] = []

    def walk(pk: int, depth: int):
        for child in by_parent.get(pk, []):
            out.append((child, depth))
            walk(child.pk, depth + 1)

    walk(project.pk, 1)
    return out


def computed_progress(project: LivelihoodProject) -> Decimal:
    """The progress computed on read from the leaves' reported progress, whatever the stored
    column says: a check that the recomputation in the actions keeps it right."""
    rows = descendants(project)
    by_parent: dict[int, list[LivelihoodProject]] = {}
    for row in rows:
        by_parent.setdefault(row.parent_id, []).append(row)

    def value(node: LivelihoodProject) -> Decimal:
        children = by_parent.get(node.pk)
        if not children:
            return node.progress
        return weighted_progress([(value(c), c.effective_weight) for c in children])

    return value(project)


def ancestors(project: LivelihoodProject) -> list[LivelihoodProject]:
    """From the project's parent up to its root."""
    out = []
    node = project
    while node.parent_id is not None:
        node = LivelihoodProject.objects.get(pk=node.parent_id)
        out.append(node)
    return out


# --- public pages -----------------------------------------------------------------------------


def public_cell(code: str) -> GridCell:
    cell = GridCell.objects.filter(code=code, level__in=PUBLIC_LEVELS).first()
    if cell is None:
        raise NotFound()
    return cell


def public_projects(cell: GridCell) -> QuerySet[LivelihoodProject]:
    """Top-level projects serving the cell or anything under it."""
    return (
        LivelihoodProject.objects.filter(parent__isnull=True, cell__path__startswith=cell.path)
        .select_related("cell", "owner_unit")
        .order_by("-created_at", "-id")
    )


def get_public_project(project_id: int) -> LivelihoodProject:
    project = (
        LivelihoodProject.objects.select_related("cell", "owner_unit", "parent")
        .filter(pk=project_id)
        .first()
    )
    if project is None:
        raise NotFound(_("Project not found."))
    return project


def approved_comments(project: LivelihoodProject) -> QuerySet[PublicComment]:
    return project.public_comments.filter(status=CommentStatus.APPROVED).defer("phone")


def comments_to_moderate(user, status: str = CommentStatus.PENDING) -> QuerySet[PublicComment]:
    """Comments on projects in the user's community scope, newest first. The phone stays out;
    only whether one was left (an empty value is stored empty, not encrypted)."""
    return (
        PublicComment.objects.filter(project__in=managed_projects(user), status=status)
        .select_related("project")
        .defer("phone")
        .annotate(with_phone=ExpressionWrapper(~Q(phone=""), output_field=BooleanField()))
    )


def progress_updates(project_ids: list[int]) -> QuerySet[ProgressUpdate]:
    """The progress history of these projects, oldest first."""
    return ProgressUpdate.objects.filter(project_id__in=project_ids).select_related("project")


def get_comment_for(user, comment_id: int) -> PublicComment:
    comment = (
        PublicComment.objects.filter(pk=comment_id, project__in=managed_projects(user))
        .select_related("project")
        .first()
    )
    if comment is None:
        raise NotFound()
    return comment


def masked_text(text: str) -> str:
    """Free text as the public reads it: a phone or ID number typed into it is masked."""
    text = _ID_NUMBER.sub(lambda m: mask_id_number(m.group(0)), text)
    return _MOBILE.sub(lambda m: mask_phone(m.group(0)), text)
