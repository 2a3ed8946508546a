"""分派纠错率 page: how often 智能分派's lone dispatches came back, per category and unit."""

import re
from datetime import timedelta

from django.utils import timezone

from wangge.cases.actions import dispatch_case, return_case
from wangge.dispatch.actions import dispatch_by_dispatcher
from wangge.dispatch.models import ClassifierModel, DispatchRecommendation

URL = "/reports/misroutes/"


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def _rows(html: str, table: str) -> list[list[str]]:
    body = re.search(rf'<table class="figures" id="{table}">.*?<tbody>(.*?)</tbody>', html, re.S)
    return [
        [_text(c) for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body.group(1), re.S)
    ]


def _sent_by_model(world, report, model, title, category, unit_key):
    """A case the classifier sent alone to the owner of the category it predicted."""
    unit = world.unit(unit_key)
    cat = world.category(category)
    case = dispatch_case(report(title, category=category), unit=unit, actor=world.dispatcher)
    DispatchRecommendation.objects.create(
        case=case, router=model.version, model=model, auto=True, chosen_unit=unit,
        candidates=[{"category": cat.code, "category_name": cat.name, "unit": unit.pk,
                     "name": unit.name, "score": 0.99}],
    )  # fmt: skip
    return case


def test_a_corrected_category_shows_with_its_rate_worst_first(world, report, client):
    model = ClassifierModel.objects.create(
        version="test-v1", n_examples=40, threshold=0.9, target_precision=0.97, blob=b"",
        is_active=True,
    )  # fmt: skip
    # The model took a broken street lamp's flicker for 停水; the water company returned it and
    # the dispatcher corrected the category and sent it to the urban department.
    wrong = _sent_by_model(world, report, model, "路灯一闪一闪", "0401", "water")
    _sent_by_model(world, report, model, "停水三天", "0401", "water")
    _sent_by_model(world, report, model, "路灯不亮", "0201", "urban")
    wrong = return_case(wrong, reason="是路灯问题", actor=world.water_handler)
    dispatch_by_dispatcher(
        wrong, unit=world.unit("urban"), category=world.category("0201"), actor=world.dispatcher
    )

    client.force_login(world.leader)
    response = client.get(URL)

    assert response.status_code == 200
    html = response.content.decode()
    # category, sent alone, came back, rate
    assert _rows(html, "categories") == [
        ["0401 停水", "2", "1", "50.0%"],
        ["0201 路灯损坏", "1", "0", "0.0%"],
    ]
    assert _rows(html, "units") == [
        ["县自来水公司", "2", "1", "50.0%"],
        ["县城市管理局", "1", "0", "0.0%"],
    ]
    assert "派单员改派纠正了系统的选择，或承办单位退单" in html  # what a misroute is
    today = timezone.localdate()
    assert f'value="{(today - timedelta(days=29)).isoformat()}"' in html
    assert 'for="misroutes-start"' in html and 'for="misroutes-end"' in html


def test_a_window_before_the_cases_shows_none(world, report, client):
    client.force_login(world.leader)
    html = client.get(URL, {"start": "2020-01-01", "end": "2020-01-31"}).content.decode()
    assert 'id="categories"' not in html
    assert 'value="2020-01-01"' in html


def test_a_window_the_wrong_way_round_is_refused(world, client):
    client.force_login(world.leader)
    response = client.get(URL, {"start": "2025-02-01", "end": "2025-01-01"})
    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()


def test_only_a_county_wide_metrics_scope_sees_the_page(world, client):
    assert client.get(URL).status_code == 302  # to the login page
    for user, status in (
        (world.township_dispatcher_a, 404),
        (world.urban_handler, 404),
        (world.resident, 403),
    ):
        client.force_login(user)
        assert client.get(URL).status_code == status, user
