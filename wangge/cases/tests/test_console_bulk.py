"""Bulk dispatch from the queue: each ticked case is dispatched on its own, so one that changed
meanwhile (or lies outside the dispatcher's part of the grid) fails alone and says why."""

import re

from wangge.cases.actions import dispatch_case
from wangge.cases.models import Case, CaseState
from wangge.dispatch.models import DispatchRecommendation


def _results(html: str) -> list[tuple[str, str]]:
    """(first cell, result text) of each row of the results table."""
    rows = re.findall(r'<tr class="result-[a-z]+" data-case="\d+">(.*?)</tr>', html, re.S)
    out = []
    for row in rows:
        cells = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", c)).strip()
                 for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]  # fmt: skip
        out.append((cells[0], cells[2]))
    return out


def _tick(*cases: Case, versions: dict | None = None) -> list[str]:
    versions = versions or {}
    return [f"{c.pk}:{versions.get(c.pk, c.version)}" for c in cases]


def test_bulk_dispatch_sends_every_case_but_the_one_that_changed_meanwhile(world, report, client):
    first, changed, third = report("路灯一"), report("路灯二"), report("路灯三")
    seen = _tick(first, changed, third)  # the versions the dispatcher's page showed
    dispatch_case(changed, unit=world.unit("water"), actor=world.dispatcher_2)
    client.force_login(world.dispatcher)
    client.cookies["django_language"] = "en"

    response = client.post(
        "/queue/dispatch/",
        {"case": seen, "unit": world.unit("urban").pk, "note": "批量", "filters": "state=new"},
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert _results(html) == [
        (first.tracking_code, "Dispatched"),
        (changed.tracking_code,
         "Not dispatched Someone else acted on this case meanwhile; reload and try again."),
        (third.tracking_code, "Dispatched"),
    ]  # fmt: skip
    assert "To 县城市管理局: 2 dispatched, 1 not dispatched." in html
    assert '<a href="/queue/?state=new">Back to the queue</a>' in html
    states = {c.pk: (c.state, c.unit.code) for c in Case.objects.filter(pk__in=[
        first.pk, changed.pk, third.pk])}  # fmt: skip
    assert states == {
        first.pk: (CaseState.DISPATCHED, "urban"),
        changed.pk: (CaseState.DISPATCHED, "water"),
        third.pk: (CaseState.DISPATCHED, "urban"),
    }
    assert [e.kind for e in Case.objects.get(pk=changed.pk).events.all()] == [
        "report", "dispatch"
    ]  # fmt: skip
    # Each dispatch is kept beside 智能分派's suggestion, as on the case page.
    chosen = DispatchRecommendation.objects.filter(case=first).values_list(
        "chosen_unit__code", "chosen_by__username"
    )
    assert list(chosen) == [("urban", "dispatcher")]


def test_a_case_outside_the_dispatchers_grid_fails_alone_as_not_found(world, report, client):
    mine = report("凤城路灯")
    elsewhere = report("董店路灯", cell=world.grid_b1)
    client.force_login(world.township_dispatcher_a)
    client.cookies["django_language"] = "en"

    html = client.post(
        "/queue/dispatch/", {"case": _tick(elsewhere, mine), "unit": world.unit("urban").pk}
    ).content.decode()

    assert _results(html) == [
        (f"#{elsewhere.pk}", "Not dispatched Not found."),
        (mine.tracking_code, "Dispatched"),
    ]
    assert Case.objects.get(pk=elsewhere.pk).state == CaseState.NEW
    assert elsewhere.title not in html


def test_bulk_dispatch_to_a_grid_worker(world, report, client):
    case = report("楼道杂物", category="0302")
    client.force_login(world.dispatcher)
    client.post("/queue/dispatch/", {"case": _tick(case), "assignee": world.grid_worker_a1.pk})
    case.refresh_from_db()
    assert (case.state, case.assignee, case.unit) == (
        CaseState.DISPATCHED, world.grid_worker_a1, None
    )  # fmt: skip


def test_bulk_dispatch_needs_one_target_and_a_ticked_case(world, report, client):
    case = report()
    client.force_login(world.dispatcher)
    client.cookies["django_language"] = "en"

    both = client.post(
        "/queue/dispatch/",
        {"case": _tick(case), "unit": world.unit("urban").pk,
         "assignee": world.grid_worker_a1.pk, "filters": "colour=red"},
        follow=True,
    )  # fmt: skip
    none_ticked = client.post("/queue/dispatch/", {"unit": world.unit("urban").pk}, follow=True)

    assert both.redirect_chain == [("/queue/?colour=red", 302)]
    assert "Choose either a unit or a grid worker." in both.content.decode()
    assert "Tick at least one case to dispatch." in none_ticked.content.decode()
    after = Case.objects.get(pk=case.pk)
    assert (after.state, after.version) == (CaseState.NEW, 1)


def test_a_role_that_may_not_dispatch_is_refused_and_nothing_moves(world, report, client):
    case = report()
    client.force_login(world.leader)
    response = client.post(
        "/queue/dispatch/", {"case": _tick(case), "unit": world.unit("urban").pk}
    )
    assert response.status_code == 403
    after = Case.objects.get(pk=case.pk)
    assert (after.state, after.version) == (CaseState.NEW, 1)
    assert [e.kind for e in after.events.all()] == ["report"]
