"""上报: intake from every channel, idempotent retries, location and privacy."""

import pytest
from django.db import connection

from wangge.audit.models import PersonalDataAccess
from wangge.cases.actions import report_case, reveal_reporter_phone
from wangge.cases.models import Case, CaseEvent, Channel, LocationFlag
from wangge.lib.errors import InvalidInput
from wangge.world import centre_of


@pytest.mark.parametrize("channel", Channel.values)
def test_every_channel_reports_a_located_new_case_with_a_public_report_event(world, channel):
    lon, lat = centre_of(world.grid_b1)
    case, created = report_case(channel=channel, title="道路坑洼", lon=lon, lat=lat, actor=None)
    assert created
    assert (case.channel, case.state, case.cell.parent, case.location_flag) == (
        channel,
        "new",
        world.grid_b1,
        LocationFlag.OK,
    )
    assert [(e.kind, e.audience) for e in case.events.all()] == [("report", "public")]
    assert len(case.tracking_code) == 10


def test_a_retry_with_the_same_key_returns_the_first_case_and_adds_nothing(world):
    first, created = report_case(
        channel=Channel.WEB,
        title="垃圾未清运",
        actor=None,
        idempotency_key="h5-7f3a",
        cell=world.grid_a1,
    )
    again, created_again = report_case(
        channel=Channel.WEB,
        title="垃圾未清运(重发)",
        actor=None,
        idempotency_key="h5-7f3a",
        cell=world.grid_a1,
    )
    assert (created, created_again, again.pk, again.title) == (True, False, first.pk, "垃圾未清运")
    assert Case.objects.filter(idempotency_key="h5-7f3a").count() == 1
    assert CaseEvent.objects.filter(case=first).count() == 1


def test_the_same_key_on_another_channel_is_another_case(world):
    a, _ = report_case(
        channel=Channel.WEB, title="a", actor=None, idempotency_key="k1", cell=world.grid_a1
    )
    b, _ = report_case(
        channel=Channel.HOTLINE, title="b", actor=None, idempotency_key="k1", cell=world.grid_a1
    )
    assert a.pk != b.pk


def test_qr_code_preselects_the_grid_without_coordinates(world):
    case, _ = report_case(channel=Channel.QR, title="楼道堆放杂物", cell=world.grid_b1, actor=None)
    assert (case.cell, case.handling_cell, case.location_flag) == (
        world.grid_b1,
        world.grid_b1,
        LocationFlag.OK,
    )


def test_a_point_outside_every_grid_goes_to_the_county_with_a_flag(world):
    case, _ = report_case(channel=Channel.WEB, title="远处的问题", lon=116.5, lat=39.9, actor=None)
    assert (case.cell, case.location_flag) == (world.county, LocationFlag.OUTSIDE)


@pytest.mark.parametrize(
    ("fields", "bad_field"),
    [
        ({"title": "  "}, "title"),
        ({"title": "x", "lon": 200.0, "lat": 34.4}, "lon"),
        ({"title": "x", "lon": 115.0}, "lat"),
        ({"title": "x", "reporter_phone": "call me"}, "reporter_phone"),
        ({"title": "x", "priority": "whenever"}, "priority"),
    ],
)
def test_bad_input_is_refused_with_the_field_named_and_nothing_stored(world, fields, bad_field):
    before = Case.objects.count()
    with pytest.raises(InvalidInput) as err:
        report_case(channel=Channel.WEB, actor=None, **fields)
    assert bad_field in err.value.fields
    assert Case.objects.count() == before


def test_phone_is_encrypted_at_rest_and_each_reveal_is_logged(world):
    case, _ = report_case(
        channel=Channel.HOTLINE,
        title="噪音扰民",
        cell=world.grid_a1,
        reporter_name="张三",
        reporter_phone="13812341234",
        actor=None,
    )
    with connection.cursor() as cur:
        cur.execute("SELECT reporter_phone FROM cases_case WHERE id = %s", [case.pk])
        stored = cur.fetchone()[0]
    assert "13812341234" not in stored and stored != ""
    assert Case.objects.get(pk=case.pk).reporter_phone == "13812341234"

    phone = reveal_reporter_phone(case, purpose="回访核实", actor=world.dispatcher)
    log = PersonalDataAccess.objects.get()
    assert (phone, log.actor, log.field, log.purpose) == (
        "13812341234",
        world.dispatcher,
        "reporter_phone",
        "回访核实",
    )


def test_an_anonymous_reporter_leaves_no_name_or_phone(world):
    case, _ = report_case(
        channel=Channel.WEB,
        title="占道经营",
        cell=world.grid_a1,
        anonymous=True,
        reporter_name="李四",
        reporter_phone="13900001111",
        actor=None,
    )
    case.refresh_from_db()
    assert (case.anonymous, case.reporter_name, case.reporter_phone) == (True, "", "")


def test_the_timeline_names_the_reporter_masked_or_as_anonymous(world):
    named, _ = report_case(
        channel=Channel.HOTLINE,
        title="噪音",
        cell=world.grid_a1,
        reporter_name="张三丰",
        actor=None,
    )
    anonymous, _ = report_case(
        channel=Channel.WEB,
        title="占道",
        cell=world.grid_a1,
        anonymous=True,
        reporter_name="李四",
        actor=None,
    )
    patrol, _ = report_case(
        channel=Channel.PATROL, title="井盖缺失", cell=world.grid_a1, actor=world.grid_worker_a1
    )
    assert [c.events.get().actor_name for c in (named, anonymous, patrol)] == [
        "张**（12345热线）",
        "匿名群众（网页/H5）",
        str(world.grid_worker_a1),
    ]
