"""The command centre's queue through the Django test client: urgency order, every filter,
routing-pending cases marked, saved views per user, and the rows the open page polls."""

import re
from datetime import timedelta

from django.utils import timezone

from wangge.cases.actions import dispatch_case
from wangge.cases.models import Case, Channel, SavedView


def _codes(response) -> list[str]:
    return [c.tracking_code for c in response.context["page"]]


def _row(html: str, case: Case) -> str:
    match = re.search(rf'<tr class="[^"]*" data-case="{case.pk}"[^>]*>.*?</tr>', html, re.S)
    return match.group(0) if match else ""


def _in(client, user, **params):
    client.force_login(user)
    client.cookies["django_language"] = "en"
    return client.get("/queue/", params)


def test_queue_puts_red_first_then_yellow_then_the_soonest_due_then_the_newest(
    world, report, client
):
    now = timezone.now()
    month_ago = now - timedelta(days=30)
    urban = world.unit("urban")
    old_new = report("早上报的", now=now - timedelta(hours=3))
    later = dispatch_case(report("十天后到期"), unit=urban, due_at=now + timedelta(days=20),
                          actor=world.dispatcher)  # fmt: skip
    red = dispatch_case(report("井盖缺失", now=month_ago), unit=urban, actor=world.dispatcher,
                        now=month_ago)  # fmt: skip
    sooner = dispatch_case(report("五天后到期"), unit=urban, due_at=now + timedelta(days=10),
                           actor=world.dispatcher)  # fmt: skip
    # Clock started a month ago, due in two hours: far past the warning point.
    yellow = dispatch_case(report("快到期", now=month_ago), unit=urban, actor=world.dispatcher,
                           due_at=now + timedelta(hours=2), now=month_ago)  # fmt: skip
    new_new = report("刚上报的")

    response = _in(client, world.dispatcher)

    expected = [red, yellow, sooner, later, new_new, old_new]
    assert _codes(response) == [c.tracking_code for c in expected]
    chips = [c.colour_label for c in response.context["page"]]
    assert [str(c) for c in chips] == ["Overdue", "Due soon", "On time", "On time", "", ""]
    html = response.content.decode()
    assert '<span class="chip chip-yellow">Due soon</span>' in _row(html, yellow)


def test_grid_filter_takes_the_whole_subtree_under_the_code(world, report, client):
    in_a1 = report("A1 路灯")
    a1 = world.grid_a1
    sibling = next(g for g in world.grids if g.parent == a1.parent and g != a1)
    in_sibling = report("同社区另一网格", cell=sibling)
    report("B1 路灯", cell=world.grid_b1)

    community = _in(client, world.dispatcher, grid=world.grid_a1.parent.code)
    grid = _in(client, world.dispatcher, grid=world.grid_a1.code)
    by_name = _in(client, world.dispatcher, grid=world.grid_a1.name)
    unknown = _in(client, world.dispatcher, grid="999999")

    assert sorted(_codes(community)) == sorted([in_a1.tracking_code, in_sibling.tracking_code])
    assert _codes(grid) == [in_a1.tracking_code]
    assert _codes(by_name) == [in_a1.tracking_code]
    assert unknown.context["filters"].errors == {"grid": ["No grid has this code or name."]}


def test_unit_category_channel_and_text_filters_narrow_the_queue(world, report, client):
    lamp = dispatch_case(report("东门路灯不亮", category="0201"), unit=world.unit("urban"),
                         actor=world.dispatcher)  # fmt: skip
    rubbish = report("垃圾没人清", category="0202", channel=Channel.HOTLINE)
    water = dispatch_case(report("停水三天", category="0401"), unit=world.unit("water"),
                          actor=world.dispatcher)  # fmt: skip

    by_unit = _in(client, world.dispatcher, unit=world.unit("water").pk)
    by_parent_category = _in(client, world.dispatcher, category="02")
    by_leaf_category = _in(client, world.dispatcher, category="0202")
    by_channel = _in(client, world.dispatcher, channel="hotline")
    by_title = _in(client, world.dispatcher, q="路灯")
    by_code = _in(client, world.dispatcher, q=water.tracking_code.lower())

    assert _codes(by_unit) == [water.tracking_code]
    assert sorted(_codes(by_parent_category)) == sorted([lamp.tracking_code, rubbish.tracking_code])
    assert _codes(by_leaf_category) == [rubbish.tracking_code]
    assert _codes(by_channel) == [rubbish.tracking_code]
    assert _codes(by_title) == [lamp.tracking_code]
    assert _codes(by_code) == [water.tracking_code]


def test_reported_date_range_counts_whole_days(world, report, client):
    today = timezone.localdate()
    long_ago = timezone.now() - timedelta(days=10)
    old = report("十天前", now=long_ago)
    fresh = report("今天")
    old_day = timezone.localtime(long_ago).date()

    since_yesterday = _in(client, world.dispatcher, reported_from=today - timedelta(days=1))
    only_that_day = _in(client, world.dispatcher, reported_from=old_day, reported_to=old_day)
    backwards = _in(client, world.dispatcher, reported_from=today, reported_to=old_day)

    assert _codes(since_yesterday) == [fresh.tracking_code]
    assert _codes(only_that_day) == [old.tracking_code]
    assert backwards.context["filters"].errors == {
        "reported_to": ["The end date is before the start date."]
    }


def test_a_case_awaiting_routing_is_marked_and_can_be_listed_alone(world, report, client):
    routed = report("已经看过的", category="0301")
    pending = report("还没分派的", route_later=True)
    assert (pending.routing_pending, routed.routing_pending) == (True, False)

    everything = _in(client, world.dispatcher)
    only_pending = _in(client, world.dispatcher, routing="on")

    html = everything.content.decode()
    assert '<span class="badge badge-routing">Awaiting 智能分派</span>' in _row(html, pending)
    assert "badge-routing" not in _row(html, routed)
    assert _codes(only_pending) == [pending.tracking_code]


def test_the_polled_rows_keep_the_filters_and_come_without_the_page_around_them(
    world, report, client
):
    new = report("楼道堆物")
    dispatched = dispatch_case(report("路灯"), unit=world.unit("urban"), actor=world.dispatcher)
    client.force_login(world.dispatcher)

    rows = client.get("/queue/table/", {"state": "new"}).content.decode()
    page = client.get("/queue/", {"state": "new", "page": "1"}).content.decode()

    assert _row(rows, new) != ""
    assert _row(rows, dispatched) == ""
    assert "<html" not in rows
    assert 'hx-get="/queue/table/?state=new&amp;page=1"' in page
    assert 'hx-trigger="every 15s [window.wanggeQueue' in page


def test_only_a_dispatcher_gets_checkboxes_and_only_on_cases_waiting_for_dispatch(
    world, report, client
):
    new = report("待派")
    dispatched = dispatch_case(report("已派"), unit=world.unit("urban"), actor=world.dispatcher)

    html = _in(client, world.dispatcher).content.decode()
    leader_html = _in(client, world.leader).content.decode()

    assert f'value="{new.pk}:{new.version}" form="bulk-form"' in _row(html, new)
    assert 'type="checkbox"' not in _row(html, dispatched)
    assert 'id="bulk-form"' in html
    assert 'type="checkbox"' not in _row(leader_html, new)
    assert 'id="bulk-form"' not in leader_html


# --- saved views --------------------------------------------------------------------------


def test_a_saved_view_keeps_the_filters_for_its_owner_only(world, report, client):
    client.force_login(world.dispatcher)
    client.cookies["django_language"] = "en"
    response = client.post(
        "/queue/views/",
        {"name": "城管超时", "query": "colour=red&unit=5&page=3&evil=1&q="},
        follow=True,
    )
    assert response.redirect_chain == [("/queue/?colour=red&unit=5", 302)]
    assert "Saved the view “城管超时”." in response.content.decode()
    view = SavedView.objects.get(user=world.dispatcher)
    assert (view.name, view.query) == ("城管超时", "colour=red&unit=5")
    html = client.get("/queue/").content.decode()
    assert '<a href="/queue/?colour=red&amp;unit=5">城管超时</a>' in html

    # The same name again replaces the filters.
    client.post("/queue/views/", {"name": "城管超时", "query": "colour=yellow"})
    assert list(SavedView.objects.values_list("name", "query")) == [("城管超时", "colour=yellow")]

    client.force_login(world.dispatcher_2)
    assert ">城管超时</a>" not in client.get("/queue/").content.decode()
    assert client.post(f"/queue/views/{view.pk}/delete/").status_code == 404
    assert SavedView.objects.filter(pk=view.pk).exists()

    client.force_login(world.dispatcher)
    response = client.post(f"/queue/views/{view.pk}/delete/")
    assert (response.status_code, response.url) == (302, "/queue/")
    assert not SavedView.objects.exists()


def test_a_view_without_a_name_is_not_saved(world, client):
    client.force_login(world.dispatcher)
    response = client.post("/queue/views/", {"name": " ", "query": "state=new"})
    assert (response.status_code, response.url) == (302, "/queue/?state=new")
    assert not SavedView.objects.exists()


def test_the_queue_page_documents_its_keys_and_labels_every_filter(world, client):
    html = _in(client, world.dispatcher).content.decode()
    for field in ("q", "state", "colour", "grid", "unit", "category", "channel",
                  "reported_from", "reported_to", "routing"):  # fmt: skip
        assert f'<label for="id_{field}">' in html
    assert '<label for="id_view_name">' in html
    assert '<label for="id_bulk_unit">' in html
    assert "Keyboard shortcuts" in html
    for key in ("<kbd>j</kbd>", "<kbd>k</kbd>", "<kbd>Enter</kbd>", "<kbd>x</kbd>", "<kbd>/</kbd>"):
        assert key in html


def test_queue_lists_the_grids_of_the_users_scope_for_the_grid_filter(world, client):
    client.force_login(world.township_dispatcher_a)
    html = client.get("/queue/").content.decode()
    town_a, town_b = world.townships
    assert f'<option value="{town_a.code}">{town_a.name}</option>' in html
    assert f'<option value="{world.grid_a1.code}">' in html
    assert f'<option value="{town_b.code}">' not in html
    assert f'<option value="{world.grid_b1.code}">' not in html
