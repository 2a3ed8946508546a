"""The county leader's big screen in a real Chromium at 1920×1080: the townships on the map with
their counts, a click down to a township and a community with the breadcrumb and KPIs following,
the charts drawn, a refresh that brings a new case without a reload, and back up."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from wangge.cases.actions import dispatch_case
from wangge.world import DEMO_PASSWORD

pytestmark = pytest.mark.browser


def _log_in(page, username: str, then: str):
    page.goto(f"/login/?next={then}")
    page.fill("#id_username", username)
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("button.primary")
    expect(page).to_have_url(re.compile(re.escape(then) + "$"))


def test_the_leader_drills_from_the_county_to_a_community_and_sees_a_new_case_arrive(
    world_after_flush, world, report, new_page, shot
):
    month_ago = timezone.now() - timedelta(days=30)
    report("路灯不亮")
    report("垃圾未清运", category="0202")
    late = report("井盖缺失", now=month_ago)
    dispatch_case(late, unit=world.unit("urban"), actor=world.dispatcher, now=month_ago)
    report("噪音扰民", cell=world.grid_b1)
    town_a, town_b = world.townships
    community = world.grid_a1.parent

    page = new_page(viewport={"width": 1920, "height": 1080})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    _log_in(page, "leader", "/screen/")

    # The county: each township on the map and in the table with its open and overdue cases.
    crumbs = page.locator(".sc-crumbs li")
    expect(crumbs).to_have_text([world.county.name])
    expect(page.locator(f'#screen-map path[data-code="{town_a.code}"]')).to_have_attribute(
        "data-open", "3"
    )
    expect(page.locator(f'#screen-map path[data-code="{town_a.code}"]')).to_have_attribute(
        "data-red", "1"
    )
    expect(page.locator(".sc-label").filter(has_text=town_b.name)).to_contain_text("1")
    expect(page.locator(f'tr[data-area="{town_a.code}"] [data-red]')).to_have_text("1")
    expect(page.locator('[data-kpi="open"] strong')).to_have_text("4")
    expect(page.locator('[data-kpi="red"] strong')).to_have_text("1")
    expect(page.locator("#chart-trend.js-plotly-plot")).to_be_attached()
    expect(page.locator("#chart-categories.js-plotly-plot")).to_be_attached()
    shot(page, "county")

    # Down to the township by its polygon: the URL names it, the breadcrumb and KPIs follow.
    page.locator(f'#screen-map path[data-code="{town_a.code}"]').click()
    expect(page).to_have_url(re.compile(rf"/screen/\?cell={town_a.code}$"))
    expect(crumbs).to_have_text([world.county.name, town_a.name])
    expect(page.locator('[data-kpi="open"] strong')).to_have_text("3")
    expect(page.locator(f'#screen-map path[data-code="{community.code}"]')).to_have_attribute(
        "data-open", "3"
    )
    shot(page, "township")

    page.locator(f'#screen-map path[data-code="{community.code}"]').click()
    expect(page).to_have_url(re.compile(rf"/screen/\?cell={community.code}$"))
    expect(crumbs).to_have_text([world.county.name, town_a.name, community.name])
    expect(page.locator('[data-kpi="red"] strong')).to_have_text("1")
    grid = page.locator(f'#screen-map path[data-code="{world.grid_a1.code}"]')
    expect(grid).to_have_attribute("data-open", "3")

    # A new case in the grid: the next refresh shows it on the KPIs and the map, no reload.
    updated = page.locator("#screen-updated").get_attribute("datetime")
    report("楼道堆物")
    page.evaluate("htmx.trigger('#screen-body', 'screen-refresh')")
    expect(page.locator('[data-kpi="open"] strong')).to_have_text("4")
    expect(grid).to_have_attribute("data-open", "4")
    expect(page.locator("#screen-updated")).not_to_have_attribute("datetime", updated)
    expect(page.locator("#chart-trend.js-plotly-plot")).to_be_attached()
    expect(page).to_have_url(re.compile(rf"/screen/\?cell={community.code}$"))
    shot(page, "community-refreshed")

    # The breadcrumb leads back up to the county.
    crumbs.get_by_role("link", name=world.county.name).click()
    expect(crumbs).to_have_text([world.county.name])
    expect(page.locator('[data-kpi="open"] strong')).to_have_text("5")
    assert errors == []
