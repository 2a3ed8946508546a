"""A community with a time bank: the secretary of grid A1's community, three members, a rule,
an item; built through the actions."""

from dataclasses import dataclass

import pytest

from wangge.grids.models import GridCell
from wangge.timebank import actions
from wangge.timebank.models import Member, PointsRule


@dataclass
class Bank:
    community: GridCell
    secretary: object
    ana: Member
    bo: Member
    chen: Member
    rule: PointsRule


@pytest.fixture
def bank(world) -> Bank:
    community = world.grid_a1.parent
    secretary = world.secretary_a
    enrol = actions.enrol_member
    return Bank(
        community=community,
        secretary=secretary,
        ana=enrol(community, name="王安娜", phone="13800001111", actor=secretary),
        bo=enrol(community, name="李博", phone="13900002222", actor=secretary),
        chen=enrol(community, name="陈晨", actor=secretary),
        rule=actions.create_rule(
            community, name="清扫楼道", points=10, cap=25, period="month", actor=secretary
        ),
    )


def give_points(bank: Bank, member: Member, points: int) -> None:
    """Points for a member as the community would give them: a claim, approved."""
    from datetime import date

    rule = actions.create_rule(
        bank.community, name=f"奖励{points}", points=points, actor=bank.secretary
    )
    claim = actions.claim_points(member, rule, done_on=date(2025, 1, 6), actor=bank.secretary)
    actions.approve_claim(claim, actor=bank.secretary)
