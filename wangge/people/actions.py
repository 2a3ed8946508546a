"""Changes to party organisations and their members (党建引领网格); each recorded in the audit log.

The organisation tree mirrors the grid: 社区党委 on a community, 小区党支部 on a grid, 楼栋党小组
and 党员中心户 on buildings. Each level hangs under the one above it, inside its grid node.
"""

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from wangge.audit.actions import record_audit
from wangge.grids.models import GridCell
from wangge.lib.errors import InvalidInput
from wangge.lib.masking import mask_phone
from wangge.people.models import PartyMember, PartyOrg, PartyOrgLevel

# Each level and the level its parent must have (None: the top of the tree).
PARENT_LEVEL = {
    PartyOrgLevel.COMMUNITY_COMMITTEE: None,
    PartyOrgLevel.BRANCH: PartyOrgLevel.COMMUNITY_COMMITTEE,
    PartyOrgLevel.GROUP: PartyOrgLevel.BRANCH,
    PartyOrgLevel.CENTRAL_HOUSEHOLD: PartyOrgLevel.GROUP,
}


def _clean_phone(phone: str) -> str:
    phone = (phone or "").strip()
    if phone and not (phone.replace("-", "").isdigit() and 5 <= len(phone) <= 20):
        raise InvalidInput(fields={"phone": str(_("Not a phone number."))})
    return phone


@transaction.atomic
def create_party_org(
    *,
    name: str,
    level: str,
    cell: GridCell,
    parent: PartyOrg | None = None,
    secretary=None,
    actor,
) -> PartyOrg:
    """建立党组织: a committee, branch, group or central household on a node of the grid,
    under the organisation one level up whose grid node contains it."""
    name = (name or "").strip()
    if not name:
        raise InvalidInput(fields={"name": str(_("A name is required."))})
    if level not in PARENT_LEVEL:
        raise InvalidInput(fields={"level": str(_("Unknown party organisation level."))})
    wanted = PARENT_LEVEL[PartyOrgLevel(level)]
    if wanted is None and parent is not None:
        raise InvalidInput(
            fields={"parent": str(_("A community party committee has no parent organisation."))}
        )
    if wanted is not None and (parent is None or parent.level != wanted):
        raise InvalidInput(
            fields={
                "parent": str(_("Choose the organisation one level up: %(level)s."))
                % {"level": PartyOrgLevel(wanted).label}
            }
        )
    if parent is not None and not cell.is_within(parent.cell):
        raise InvalidInput(
            fields={"cell": str(_("The grid node must lie within the parent organisation's."))}
        )
    org = PartyOrg.objects.create(
        name=name[:100], level=level, cell=cell, parent=parent, secretary=secretary
    )
    record_audit(
        actor=actor,
        action="create_party_org",
        obj=org,
        detail={
            "name": org.name,
            "level": level,
            "cell": cell.code,
            "parent": parent.pk if parent else None,
            "secretary": secretary.username if secretary else None,
        },
    )
    return org


@transaction.atomic
def add_party_member(
    *,
    org: PartyOrg,
    name: str,
    actor,
    phone: str = "",
    cell: GridCell | None = None,
    is_central_household: bool = False,
) -> PartyMember:
    """党员报到: a party member joins an organisation, living at a node within its grid node.
    The phone is stored encrypted; the audit row keeps it masked."""
    name = (name or "").strip()
    if not name:
        raise InvalidInput(fields={"name": str(_("A name is required."))})
    phone = _clean_phone(phone)
    cell = cell or org.cell
    if not cell.is_within(org.cell):
        raise InvalidInput(
            fields={"cell": str(_("The member's grid node must lie within the organisation's."))}
        )
    member = PartyMember.objects.create(
        name=name[:50],
        phone=phone,
        org=org,
        cell=cell,
        is_central_household=is_central_household,
    )
    record_audit(
        actor=actor,
        action="add_party_member",
        obj=member,
        detail={
            "name": member.name,
            "org": org.pk,
            "cell": cell.code,
            "phone": mask_phone(phone),
            "central_household": is_central_household,
        },
    )
    return member
