"""The pages: anyone reads a community's public page (catalogue, totals, masked names, never a
phone or ID number); its secretary confirms a task, decides claims and records a redemption that
a second click of the same form does not repeat; others get 403 or 404."""

import re
from datetime import date

from django.test import Client

from wangge.people.models import Household, Resident
from wangge.timebank import actions
from wangge.timebank.models import ClaimState, Ledger, PointsClaim, Redemption, TaskState
from wangge.timebank.tests.conftest import give_points
from wangge.world import DEMO_PASSWORD


def login(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=DEMO_PASSWORD)
    return client


def test_the_public_page_shows_catalogue_and_totals_without_personal_data(bank, world):
    home = Household.objects.create(cell=world.grid_a1, address="幸福路8号", door="101")
    resident = Resident.objects.create(
        household=home, name="张桂英", phone="13712345678", id_number="411422195001011234"
    )
    zhang = actions.enrol_member(
        bank.community, name="", resident=resident, phone="13712345678", actor=bank.secretary
    )
    task = actions.create_task(
        bank.community, title="清理楼道", hours="2", organiser=bank.secretary,
        volunteers=[zhang, bank.ana],
    )  # fmt: skip
    actions.confirm_task(task, actor=bank.secretary)
    actions.add_item(bank.community, name="食用油", points=20, stock=3, actor=bank.secretary)
    actions.add_item(bank.community, name="毛巾", points=5, stock=0, actor=bank.secretary)

    r = Client().get(f"/timebank/{bank.community.code}/")

    assert r.status_code == 200
    page = r.content.decode()
    assert ("食用油" in page, "毛巾" in page, "张**" in page, "王**" in page) == (
        True,
        True,
        True,
        True,
    )
    for secret in ("张桂英", "王安娜", "13712345678", "13800001111", "411422195001011234"):
        assert secret not in page
    assert re.search(r"1[3-9]\d{9}", page) is None  # no phone number
    assert re.search(r"\d{17}[\dXx]", page) is None  # no ID number
    assert Client().get("/timebank/999999999/").status_code == 404


def test_the_secretary_confirms_approves_and_records_a_redemption_once(bank):
    give_points(bank, bank.ana, 50)
    item = actions.add_item(bank.community, name="大米", points=20, stock=3, actor=bank.secretary)
    task = actions.create_task(
        bank.community, title="陪老人散步", hours="1", organiser=bank.secretary,
        volunteers=[bank.bo],
    )  # fmt: skip
    claim = actions.claim_points(bank.chen, bank.rule, done_on=date(2025, 3, 3), actor=None)
    client = login(bank.secretary)
    page = client.get("/timebank/").content.decode()
    store = client.get("/timebank/store/").content.decode()
    assert ("陪老人散步" in page, "陈晨" in page, "大米" in store) == (True, True, True)

    r = client.post(f"/timebank/tasks/{task.pk}/confirm/", follow=True)
    assert r.status_code == 200
    client.post(f"/timebank/claims/{claim.pk}/approve/")
    form = {"member": bank.ana.pk, "item": item.pk, "quantity": 2, "idempotency_key": "form-1"}
    client.post("/timebank/redeem/", form)
    client.post("/timebank/redeem/", form)  # the same form sent twice

    task.refresh_from_db()
    claim.refresh_from_db()
    item.refresh_from_db()
    assert (task.state, claim.state, item.stock, Redemption.objects.count()) == (
        TaskState.DONE,
        ClaimState.APPROVED,
        1,
        1,
    )
    assert [actions.account_of(m, Ledger.POINTS).balance for m in (bank.ana, bank.chen)] == [
        10,
        10,
    ]
    assert actions.account_of(bank.bo, Ledger.HOURS).balance == 1
    statement = client.get(f"/timebank/accounts/{actions.account_of(bank.ana, Ledger.POINTS).pk}/")
    assert (statement.status_code, "大米 × 2" in statement.content.decode()) == (200, True)


def test_a_refused_redemption_is_told_and_changes_nothing(bank):
    item = actions.add_item(bank.community, name="大米", points=20, stock=3, actor=bank.secretary)
    client = login(bank.secretary)
    r = client.post(
        "/timebank/redeem/", {"member": bank.ana.pk, "item": item.pk, "quantity": 1}, follow=True
    )
    item.refresh_from_db()
    assert (r.status_code, item.stock, Redemption.objects.count()) == (200, 3, 0)
    assert b"msg-error" in r.content


def test_a_claim_is_rejected_with_a_reason_and_others_may_not_act(bank, world):
    claim = actions.claim_points(bank.ana, bank.rule, done_on=date(2025, 3, 3), actor=None)
    assert login(world.dispatcher).get("/timebank/").status_code == 403
    assert (
        login(world.grid_worker_b1).post(f"/timebank/claims/{claim.pk}/approve/").status_code == 404
    )
    login(bank.secretary).post(f"/timebank/claims/{claim.pk}/reject/", {"reason": "重复申报"})
    claim = PointsClaim.objects.get(pk=claim.pk)
    assert (claim.state, claim.reason) == (ClaimState.REJECTED, "重复申报")
    assert Client().get("/timebank/").status_code == 302  # to the login page
