"""Party organisations on the grid (党建引领): 社区党委 → 小区党支部 → 楼栋党小组 → 党员中心户."""

import pytest
from django.db import connection

from wangge.audit.models import AuditEntry
from wangge.grids.models import GridCell, GridLevel
from wangge.lib.errors import InvalidInput
from wangge.people.actions import add_party_member, create_party_org
from wangge.people.models import PartyMember, PartyOrg, PartyOrgLevel


def _buildings(grid: GridCell) -> list[GridCell]:
    return list(grid.subtree().filter(level=GridLevel.BUILDING).order_by("code"))


@pytest.fixture
def committee(world):
    return create_party_org(
        name="社区党委",
        level=PartyOrgLevel.COMMUNITY_COMMITTEE,
        cell=world.grid_a1.parent,
        actor=world.admin,
    )


def test_party_tree_follows_the_grid_and_lists_members_under_their_org(world, committee):
    building = _buildings(world.grid_a1)[0]
    branch = create_party_org(
        name="阳光小区党支部",
        level=PartyOrgLevel.BRANCH,
        cell=world.grid_a1,
        parent=committee,
        secretary=world.grid_worker_a1,
        actor=world.admin,
    )
    group = create_party_org(
        name="1号楼党小组",
        level=PartyOrgLevel.GROUP,
        cell=building,
        parent=branch,
        actor=world.admin,
    )
    household = create_party_org(
        name="王建国党员中心户",
        level=PartyOrgLevel.CENTRAL_HOUSEHOLD,
        cell=building,
        parent=group,
        actor=world.admin,
    )
    add_party_member(org=group, name="李秀英", cell=building, actor=world.admin)
    add_party_member(org=group, name="张伟", phone="13912345678", actor=world.admin)
    add_party_member(org=branch, name="刘洋", actor=world.admin)
    add_party_member(
        org=household, name="王建国", cell=building, is_central_household=True, actor=world.admin
    )

    tree = [(o.name, o.level, o.cell.code, o.parent_id) for o in PartyOrg.objects.order_by("pk")]
    assert tree == [
        ("社区党委", "committee", world.grid_a1.parent.code, None),
        ("阳光小区党支部", "branch", world.grid_a1.code, committee.pk),
        ("1号楼党小组", "group", building.code, branch.pk),
        ("王建国党员中心户", "central_household", building.code, group.pk),
    ]
    assert list(world.grid_a1.party_orgs.all()) == [branch]
    assert [(m.name, m.cell.code) for m in group.members.order_by("pk")] == [
        ("李秀英", building.code),
        ("张伟", building.code),
    ]
    assert [m.name for m in branch.members.all()] == ["刘洋"]
    assert [(m.name, m.is_central_household) for m in household.members.all()] == [("王建国", True)]
    assert branch.secretary == world.grid_worker_a1


def test_each_org_and_member_leaves_an_audit_row_with_the_phone_masked(world, committee):
    member = add_party_member(org=committee, name="张伟", phone="13912345678", actor=world.admin)

    rows = AuditEntry.objects.filter(action__in=["create_party_org", "add_party_member"])
    assert [(r.action, r.actor, r.object_id, r.detail) for r in rows.order_by("pk")] == [
        (
            "create_party_org",
            world.admin,
            str(committee.pk),
            {
                "name": "社区党委",
                "level": "committee",
                "cell": world.grid_a1.parent.code,
                "parent": None,
                "secretary": None,
            },
        ),
        (
            "add_party_member",
            world.admin,
            str(member.pk),
            {
                "name": "张伟",
                "org": committee.pk,
                "cell": world.grid_a1.parent.code,
                "phone": "*******5678",
                "central_household": False,
            },
        ),
    ]
    with connection.cursor() as cur:
        cur.execute("SELECT phone FROM people_partymember WHERE id = %s", [member.pk])
        (stored,) = cur.fetchone()
    assert "13912345678" not in stored
    assert PartyMember.objects.get(pk=member.pk).phone == "13912345678"


def _nothing_written():
    return (
        PartyOrg.objects.count(),
        PartyMember.objects.count(),
        AuditEntry.objects.filter(action__in=["create_party_org", "add_party_member"]).count(),
    )


def test_a_branch_outside_its_committees_community_is_refused_and_nothing_is_written(
    world, committee
):
    before = _nothing_written()

    with pytest.raises(InvalidInput) as err:
        create_party_org(
            name="别处党支部",
            level=PartyOrgLevel.BRANCH,
            cell=world.grid_b1,
            parent=committee,
            actor=world.admin,
        )

    assert list(err.value.fields) == ["cell"]
    assert _nothing_written() == before


def test_skipping_a_level_is_refused_and_nothing_is_written(world, committee):
    before = _nothing_written()

    with pytest.raises(InvalidInput) as err:
        create_party_org(
            name="1号楼党小组",
            level=PartyOrgLevel.GROUP,
            cell=_buildings(world.grid_a1)[0],
            parent=committee,
            actor=world.admin,
        )
    with pytest.raises(InvalidInput) as err_top:
        create_party_org(
            name="第二党委",
            level=PartyOrgLevel.COMMUNITY_COMMITTEE,
            cell=world.grid_a1.parent,
            parent=committee,
            actor=world.admin,
        )

    assert list(err.value.fields) == ["parent"]
    assert list(err_top.value.fields) == ["parent"]
    assert _nothing_written() == before


def test_a_member_living_outside_the_orgs_grid_or_with_a_bad_phone_is_refused(world, committee):
    before = _nothing_written()

    with pytest.raises(InvalidInput) as outside:
        add_party_member(org=committee, name="刘洋", cell=world.grid_b1, actor=world.admin)
    with pytest.raises(InvalidInput) as bad_phone:
        add_party_member(org=committee, name="刘洋", phone="call me", actor=world.admin)
    with pytest.raises(InvalidInput) as no_name:
        add_party_member(org=committee, name="  ", actor=world.admin)

    assert [list(e.value.fields) for e in (outside, bad_phone, no_name)] == [
        ["cell"],
        ["phone"],
        ["name"],
    ]
    assert _nothing_written() == before
