"""The secretary's forms on the staff pages: each stores what it says through its action and the
page shows it; bad input shows the field's error and stores nothing; the same form sent twice
(one key) is stored once; another community's objects answer 404 and a resident 403."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from wangge.people.models import Household, Resident
from wangge.timebank import actions
from wangge.timebank.models import (
    CatalogueItem,
    ClaimState,
    Ledger,
    Member,
    PointsClaim,
    PointsRule,
    Policy,
    TaskState,
    TaskVolunteer,
    VolunteerTask,
)
from wangge.world import DEMO_PASSWORD


def login(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=DEMO_PASSWORD)
    return client


def page(client, url: str) -> str:
    r = client.get(url)
    assert r.status_code == 200
    return r.content.decode()


@pytest.fixture
def secretary(bank) -> Client:
    return login(bank.secretary)


@pytest.fixture
def q(bank) -> str:
    return f"?community={bank.community.code}"


# --- members ------------------------------------------------------------------------------------


def test_a_member_is_enrolled_linked_to_a_resident_found_by_name(bank, world, secretary, q):
    home = Household.objects.create(cell=world.grid_a1, address="幸福路8号", door="101")
    zhang = Resident.objects.create(household=home, name="张桂英", phone="13712345678")
    found = page(secretary, f"/timebank/members/{q}&q=桂英")
    assert (f'value="{zhang.pk}"' in found, "幸福路8号" in found) == (True, True)

    r = secretary.post(
        f"/timebank/members/{q}",
        {"key": "k-enrol", "name": "", "phone": "137 1234 5678", "resident": zhang.pk},
        follow=True,
    )

    member = Member.objects.get(resident=zhang)
    listed = r.content.decode()
    assert (member.name, member.phone, member.community) == (
        "张桂英",
        "137 1234 5678",
        bank.community,
    )
    assert ("张桂英" in listed, "*******5678" in listed, "13712345678" in listed) == (
        True,
        True,
        False,
    )
    hours = actions.account_of(member, Ledger.HOURS)
    assert f'href="/timebank/accounts/{hours.pk}/"' in listed


def test_a_bad_phone_or_a_missing_name_is_shown_on_its_field_and_nothing_is_stored(
    bank, secretary, q
):
    before = Member.objects.count()
    bad_phone = secretary.post(
        f"/timebank/members/{q}", {"key": "k1", "name": "赵六", "phone": "call me"}
    )
    no_name = secretary.post(f"/timebank/members/{q}", {"key": "k2", "name": " ", "phone": ""})

    assert (bad_phone.status_code, no_name.status_code) == (400, 400)
    assert 'id="id_phone_errors"' in bad_phone.content.decode()
    assert "请输入名称。" in no_name.content.decode()  # the action's refusal, on the name
    assert 'id="id_name_errors"' in no_name.content.decode()
    assert Member.objects.count() == before


def test_the_same_enrolment_sent_twice_enrols_once(bank, secretary, q):
    form = {"key": "k-twice", "name": "赵六", "phone": ""}
    secretary.post(f"/timebank/members/{q}", form)
    again = secretary.post(f"/timebank/members/{q}", form, follow=True)

    assert Member.objects.filter(name="赵六").count() == 1
    assert "msg-info" in again.content.decode()


def test_the_members_list_flags_a_member_beyond_the_limits(bank, secretary, q):
    actions.set_policy(bank.community, max_credit_hours="1", actor=bank.secretary)
    task = actions.create_task(
        bank.community, title="义诊", hours="3", organiser=bank.secretary, volunteers=[bank.ana]
    )
    actions.confirm_task(task, actor=bank.secretary)

    listed = page(secretary, f"/timebank/members/{q}")
    todo = page(secretary, f"/timebank/{q}")

    assert ("结余 3" in listed, "王安娜" in todo) == (True, True)


# --- volunteer tasks ----------------------------------------------------------------------------


def test_a_task_is_created_for_a_case_with_volunteers_then_one_more_and_confirmed(
    bank, report, secretary, q
):
    case = report("楼道堆物")
    form = {
        "key": "k-task",
        "title": "清理楼道堆物",
        "description": "三号楼",
        "hours": "1.5",
        "case": case.tracking_code.lower(),
        "volunteers": [bank.ana.pk, bank.bo.pk],
    }
    r = secretary.post(f"/timebank/tasks/{q}", form, follow=True)
    task = VolunteerTask.objects.get(title="清理楼道堆物")
    assert (task.case, task.hours, task.organiser, task.community) == (
        case,
        Decimal("1.5"),
        bank.secretary,
        bank.community,
    )
    assert ("清理楼道堆物" in r.content.decode(), case.tracking_code in r.content.decode()) == (
        True,
        True,
    )

    secretary.post(f"/timebank/tasks/{task.pk}/volunteers/", {"member": bank.chen.pk})
    secretary.post(f"/timebank/tasks/{task.pk}/confirm/", {"next": "tasks"})

    task.refresh_from_db()
    assert task.state == TaskState.DONE
    assert [
        actions.account_of(m, Ledger.HOURS).balance for m in (bank.ana, bank.bo, bank.chen)
    ] == [Decimal("1.5")] * 3


def test_a_task_with_bad_hours_or_an_unknown_case_is_refused_and_not_stored(bank, secretary, q):
    zero = secretary.post(
        f"/timebank/tasks/{q}", {"key": "k1", "title": "义诊", "hours": "0", "case": ""}
    )
    unknown = secretary.post(
        f"/timebank/tasks/{q}", {"key": "k2", "title": "义诊", "hours": "1", "case": "NOSUCHCODE"}
    )

    assert (zero.status_code, unknown.status_code) == (400, 400)
    assert 'id="id_hours_errors"' in zero.content.decode()
    assert 'id="id_case_errors"' in unknown.content.decode()
    assert VolunteerTask.objects.count() == 0


def test_the_same_task_form_sent_twice_creates_one_task(bank, secretary, q):
    form = {"key": "k-task-twice", "title": "义诊", "hours": "2", "volunteers": [bank.ana.pk]}
    secretary.post(f"/timebank/tasks/{q}", form)
    secretary.post(f"/timebank/tasks/{q}", form)

    assert VolunteerTask.objects.filter(title="义诊").count() == 1
    assert TaskVolunteer.objects.count() == 1


# --- points -------------------------------------------------------------------------------------


def test_a_rule_is_created_and_a_claim_under_it_recorded_then_approved(bank, secretary, q):
    r = secretary.post(
        "/timebank/rules/" + q,
        {"key": "k-rule", "name": "垃圾分类督导", "points": "5", "cap": "20", "period": "week"},
        follow=True,
    )
    rule = PointsRule.objects.get(name="垃圾分类督导")
    assert (rule.points, rule.cap, rule.period, rule.community) == (5, 20, "week", bank.community)
    assert "垃圾分类督导" in r.content.decode()

    done_on = timezone.localdate()
    r = secretary.post(
        "/timebank/claims/" + q,
        {"key": "k-claim", "member": bank.bo.pk, "rule": rule.pk, "done_on": done_on.isoformat()},
        follow=True,
    )
    claim = PointsClaim.objects.get(rule=rule)
    assert (claim.member, claim.state, claim.done_on) == (bank.bo, ClaimState.PENDING, done_on)
    assert f'data-claim="{claim.pk}"' in r.content.decode()

    secretary.post(f"/timebank/claims/{claim.pk}/approve/", {"next": "points"})
    assert actions.account_of(bank.bo, Ledger.POINTS).balance == 5


def test_bad_rules_and_claims_are_refused_on_their_fields_and_not_stored(bank, secretary, q):
    no_points = secretary.post(
        "/timebank/rules/" + q, {"key": "k1", "name": "义务巡逻", "points": "0", "period": "month"}
    )
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    future = secretary.post(
        "/timebank/claims/" + q,
        {"key": "k2", "member": bank.ana.pk, "rule": bank.rule.pk, "done_on": tomorrow},
    )

    assert (no_points.status_code, future.status_code) == (400, 400)
    assert 'id="id_points_errors"' in no_points.content.decode()
    assert 'id="id_done_on_errors"' in future.content.decode()
    assert "该日期在未来。" in future.content.decode()
    assert (PointsRule.objects.count(), PointsClaim.objects.count()) == (1, 0)


def test_the_same_claim_sent_twice_is_recorded_once(bank, secretary, q):
    form = {"key": "k-c", "member": bank.ana.pk, "rule": bank.rule.pk, "done_on": "2025-03-03"}
    secretary.post("/timebank/claims/" + q, form)
    secretary.post("/timebank/claims/" + q, form)

    assert PointsClaim.objects.count() == 1


# --- the points supermarket ---------------------------------------------------------------------


def test_an_item_is_added_and_restocked_once_per_form(bank, secretary, q):
    r = secretary.post(
        "/timebank/items/" + q, {"key": "k-item", "name": "洗衣液", "points": "30", "stock": "2"}
    )
    assert r.status_code == 302
    item = CatalogueItem.objects.get(name="洗衣液")

    form = {"key": "k-restock", "added": "5"}
    secretary.post(f"/timebank/items/{item.pk}/restock/", form)
    secretary.post(f"/timebank/items/{item.pk}/restock/", form)  # the same form sent twice

    item.refresh_from_db()
    listed = page(secretary, "/timebank/store/" + q)
    assert (item.points, item.stock, item.community) == (30, 7, bank.community)
    assert ("洗衣液" in listed, f'data-item="{item.pk}"' in listed) == (True, True)


def test_a_bad_item_or_restock_is_refused_and_nothing_changes(bank, secretary, q):
    item = actions.add_item(bank.community, name="大米", points=20, stock=3, actor=bank.secretary)
    bad_item = secretary.post(
        "/timebank/items/" + q, {"key": "k1", "name": "", "points": "10", "stock": "-1"}
    )
    bad_restock = secretary.post(f"/timebank/items/{item.pk}/restock/", {"key": "k2", "added": "0"})

    item.refresh_from_db()
    assert (bad_item.status_code, bad_restock.status_code) == (400, 400)
    assert 'id="id_stock_errors"' in bad_item.content.decode()
    assert f'id="restock-{item.pk}-errors"' in bad_restock.content.decode()
    assert (CatalogueItem.objects.count(), item.stock) == (1, 3)


# --- policy and conversion ----------------------------------------------------------------------


def test_the_policy_is_set_and_hours_are_converted_into_points(bank, secretary, q):
    task = actions.create_task(
        bank.community, title="义诊", hours="3", organiser=bank.secretary, volunteers=[bank.ana]
    )
    actions.confirm_task(task, actor=bank.secretary)
    secretary.post(
        "/timebank/policy/" + q,
        {"max_debt_hours": "10", "max_credit_hours": "100", "points_per_hour": "10"},
    )
    policy = Policy.objects.get(community=bank.community)
    assert (policy.max_debt_hours, policy.max_credit_hours, policy.points_per_hour) == (10, 100, 10)

    form = {"key": "k-convert", "member": bank.ana.pk, "hours": "2"}
    secretary.post("/timebank/convert/" + q, form)
    secretary.post("/timebank/convert/" + q, form)  # sent twice

    hours = actions.account_of(bank.ana, Ledger.HOURS).balance
    points = actions.account_of(bank.ana, Ledger.POINTS).balance
    assert (hours, points) == (1, 20)
    assert 'value="10"' in page(secretary, "/timebank/policy/" + q)


def test_converting_more_hours_than_held_or_a_bad_limit_is_refused(bank, secretary, q):
    actions.set_policy(bank.community, points_per_hour=10, actor=bank.secretary)
    too_many = secretary.post(
        "/timebank/convert/" + q, {"key": "k1", "member": bank.ana.pk, "hours": "2"}
    )
    bad_limit = secretary.post(
        "/timebank/policy/" + q,
        {"max_debt_hours": "-1", "max_credit_hours": "100", "points_per_hour": "5"},
    )

    assert (too_many.status_code, bad_limit.status_code) == (400, 400)
    assert "王安娜" in too_many.content.decode() and 'role="alert"' in too_many.content.decode()
    assert 'id="id_max_debt_hours_errors"' in bad_limit.content.decode()
    policy = Policy.objects.get(community=bank.community)
    assert (policy.points_per_hour, policy.max_debt_hours) == (10, 20)
    assert actions.account_of(bank.ana, Ledger.POINTS).balance == 0


# --- scope --------------------------------------------------------------------------------------


@pytest.fixture
def other(world):
    """A community the secretary does not keep, with a member, a task and an item."""
    community = world.grid_b1.parent
    admin = world.admin
    member = actions.enrol_member(community, name="外社区居民", actor=admin)
    task = actions.create_task(community, title="外社区任务", hours="1", organiser=admin)
    item = actions.add_item(community, name="外社区毛巾", points=5, stock=1, actor=admin)
    return community, member, task, item


def test_another_communitys_pages_and_objects_answer_404(bank, other, secretary):
    community, member, task, item = other
    assert community != bank.community
    oq = f"?community={community.code}"
    for url in ("/timebank/", "/timebank/members/", "/timebank/tasks/", "/timebank/policy/"):
        assert secretary.get(url + oq).status_code == 404
    posts = [
        ("/timebank/members/" + oq, {"key": "k1", "name": "赵六"}),
        ("/timebank/items/" + oq, {"key": "k2", "name": "皂", "points": "1", "stock": "1"}),
        (f"/timebank/items/{item.pk}/restock/", {"key": "k3", "added": "5"}),
        (f"/timebank/tasks/{task.pk}/volunteers/", {"member": bank.ana.pk}),
        (f"/timebank/tasks/{task.pk}/confirm/", {}),
    ]
    assert [secretary.post(url, data).status_code for url, data in posts] == [404] * 5
    # a task of ours, a volunteer of theirs
    mine = actions.create_task(bank.community, title="义诊", hours="1", organiser=bank.secretary)
    assert (
        secretary.post(f"/timebank/tasks/{mine.pk}/volunteers/", {"member": member.pk}).status_code
        == 404
    )

    item.refresh_from_db()
    assert (item.stock, Member.objects.filter(name="赵六").count()) == (1, 0)
    assert (TaskVolunteer.objects.count(), CatalogueItem.objects.filter(name="皂").count()) == (
        0,
        0,
    )


def test_a_resident_without_manage_community_gets_403_everywhere(bank, world):
    client = login(world.resident)
    q = f"?community={bank.community.code}"
    gets = ["/timebank/", "/timebank/members/", "/timebank/tasks/", "/timebank/points/"]
    gets += ["/timebank/store/", "/timebank/policy/"]
    posts = ["/timebank/members/", "/timebank/tasks/", "/timebank/rules/", "/timebank/claims/"]
    posts += ["/timebank/items/", "/timebank/convert/", "/timebank/policy/"]
    assert [client.get(u + q).status_code for u in gets] == [403] * len(gets)
    assert [client.post(u + q, {"key": "k", "name": "x"}).status_code for u in posts] == [
        403
    ] * len(posts)
    assert Member.objects.count() == 3


def test_a_secretary_of_several_communities_picks_one_and_stays_on_the_tab(bank, world):
    from wangge.accounts.actions import grant_role
    from wangge.accounts.models import Role

    other = world.grid_b1.parent
    grant_role(bank.secretary, Role.COMMUNITY_SECRETARY, actor=None, cell=other)
    client = login(bank.secretary)
    picker = page(client, "/timebank/tasks/")
    r = client.get(f"/timebank/?community={other.code}&tab=tasks")

    assert ('name="community"' in picker, other.name in picker) == (True, True)
    assert (r.status_code, r["Location"]) == (302, f"/timebank/tasks/?community={other.code}")
