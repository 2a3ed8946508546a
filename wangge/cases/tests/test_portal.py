"""Residents' pages without logging in: report (with idempotency, anonymity, photos), QR codes
and the poster, rating by tracking code, and the public grid page (no personal data)."""

import io
import re
from pathlib import Path

import pytest
import segno
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from wangge.cases.actions import accept_case, dispatch_case, resolve_case
from wangge.cases.models import Attachment, Case, CaseState, Channel, EventKind, Outcome
from wangge.cases.views import portal
from wangge.world import centre_of

NAME, PHONE = "李秀英", "13812345678"
# A real 2×2 PNG: photos are decoded and re-encoded without metadata before they are stored.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000002000000020802000000fdd49a73"
    "0000001649444154789c63d4eb0e6760606062606060606000000cc10114e1cda95c0000000049454e44ae426082"
)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def _photo(name="现场.png", content_type="image/png", body=PNG):
    return SimpleUploadedFile(name, body, content_type=content_type)


def _form(world, **overrides):
    lon, lat = centre_of(world.grid_a1)
    data = {
        "title": "小区路灯不亮",
        "description": "北门路灯三天没亮",
        "lon": f"{lon:.6f}",
        "lat": f"{lat:.6f}",
        "address": "",
        "name": NAME,
        "phone": PHONE,
        "key": "0f8b4c2e9d7a4e31b5c6d2a1f0e9c8b7",
    }
    data.update(overrides)
    return data


def _resolved(world, report, **kw):
    case = report("小区路灯不亮", reporter_name=NAME, reporter_phone=PHONE, **kw)
    case = dispatch_case(case, assignee=world.grid_worker_a1, actor=world.dispatcher)
    case = accept_case(case, actor=world.grid_worker_a1)
    return resolve_case(
        case, outcome=Outcome.SOLVED, note="张敏已更换灯泡", actor=world.grid_worker_a1
    )


# --- report -----------------------------------------------------------------------------------


def test_the_report_form_is_chinese_with_labels_and_a_fresh_key(world, client):
    page = client.get(reverse("portal_report"))
    html = page.content.decode()
    assert page.status_code == 200
    assert "我要反映" in html
    key = re.search(r'name="key" value="([0-9a-f]{32})"', html).group(1)
    again = re.search(r'name="key" value="([0-9a-f]{32})"', client.get("/report/").content.decode())
    assert key != again.group(1)
    for control in ["id_title", "id_description", "id_address", "id_photos", "id_name", "id_phone"]:
        assert f'for="{control}"' in html
    assert "/static/leaflet/leaflet.js" in html
    assert "https://" not in html and "http://" not in html


def test_a_report_sent_twice_with_the_same_key_makes_one_case(world, client):
    data = _form(world)
    first = client.post("/report/", {**data, "photos": [_photo()]})
    second = client.post("/report/", {**data, "photos": [_photo()]})

    case = Case.objects.get(channel=Channel.WEB, title="小区路灯不亮")
    done = reverse("portal_report_done", args=[case.tracking_code])
    assert (first.status_code, first["Location"]) == (302, done)
    assert (second.status_code, second["Location"]) == (302, done)
    assert (case.reporter_name, case.reporter_phone) == (NAME, PHONE)
    assert case.cell.is_within(world.grid_a1)
    assert [(a.original_name, a.is_public) for a in case.attachments.all()] == [("现场.png", True)]
    assert [e.kind for e in case.events.filter(kind=EventKind.REPORT)] == [EventKind.REPORT]


def test_the_done_page_shows_the_tracking_code_and_links_to_tracking(world, client):
    response = client.post("/report/", _form(world), follow=True)
    case = Case.objects.get(title="小区路灯不亮")
    html = response.content.decode()
    assert f'id="tracking-code">{case.tracking_code}<' in html
    assert f'href="{reverse("track_case", args=[case.tracking_code])}"' in html


def test_an_anonymous_report_keeps_neither_name_nor_phone(world, client):
    client.post("/report/", _form(world, anonymous="on"))
    case = Case.objects.get(title="小区路灯不亮")
    assert (case.anonymous, case.reporter_name, case.reporter_phone) == (True, "", "")
    assert case.reporter_user is None
    assert NAME not in case.events.get(kind=EventKind.REPORT).actor_name


def test_bad_input_is_explained_in_chinese_and_nothing_is_stored(world, client, _media):
    before = Case.objects.count()
    data = _form(world, title="  ", phone="call me", lon="", lat="", address="")
    photos = [_photo(f"{n}.png") for n in range(4)]
    response = client.post("/report/", {**data, "photos": photos})

    html = response.content.decode()
    assert response.status_code == 400
    assert "请简要说明是什么问题" in html
    assert "最多附 3 张照片" in html
    assert "请在地图上标出位置或写明地点" in html
    assert Case.objects.count() == before
    assert not Path(_media).exists()


def test_a_photo_the_attachment_rules_refuse_leaves_no_case_and_no_file(world, client, _media):
    before = Case.objects.count()
    photos = [_photo("ok.png"), _photo("动图.gif", content_type="image/gif")]
    response = client.post("/report/", {**_form(world), "photos": photos})

    assert response.status_code == 400
    assert "动图.gif" in response.content.decode()
    assert Case.objects.count() == before
    assert Attachment.objects.count() == 0
    assert [p for p in Path(_media).rglob("*") if p.is_file()] == []


def test_a_wrong_phone_number_is_refused_by_the_intake_rules(world, client):
    before = Case.objects.count()
    response = client.post("/report/", _form(world, phone="abc"))
    assert response.status_code == 400
    assert "不是有效的电话号码" in response.content.decode()
    assert Case.objects.count() == before


def test_the_qr_link_reports_into_its_grid_on_the_qr_channel(world, client):
    url = reverse("portal_report_grid", args=[world.grid_b1.code])
    page = client.get(url)
    assert world.grid_b1.name in page.content.decode()

    client.post(url, _form(world, lon="", lat="", address=""))
    case = Case.objects.get(title="小区路灯不亮")
    assert (case.channel, case.cell, case.handling_cell) == (
        Channel.QR,
        world.grid_b1,
        world.grid_b1,
    )


def test_the_grid_page_link_reports_into_that_grid_on_the_web_channel(world, client):
    page = client.get(reverse("portal_grid", args=[world.grid_b1.code])).content.decode()
    link = f"/report/?grid={world.grid_b1.code}"
    assert f'href="{link}"' in page
    assert f'name="grid" value="{world.grid_b1.code}"' in client.get(link).content.decode()

    client.post(link, _form(world, lon="", lat="", address="", grid=world.grid_b1.code))
    case = Case.objects.get(title="小区路灯不亮")
    assert (case.channel, case.cell) == (Channel.WEB, world.grid_b1)


def test_an_unknown_grid_code_is_not_found(world, client):
    assert client.get("/r/nope/").status_code == 404
    assert client.get("/qr/nope.svg").status_code == 404
    assert client.get("/grids/nope/").status_code == 404


def test_the_map_draws_grid_polygons_from_our_own_json(world, client):
    answer = client.get(reverse("portal_grids")).json()
    codes = {f["properties"]["code"] for f in answer["features"]}
    assert {world.grid_a1.code, world.grid_b1.code} <= codes
    assert world.county.code not in codes


# --- QR codes and the poster ------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["svg", "png"])
def test_the_qr_code_encodes_the_grid_report_address(world, client, kind):
    response = client.get(f"/qr/{world.grid_a1.code}.{kind}")

    expected = io.BytesIO()
    target = f"http://testserver/r/{world.grid_a1.code}/"
    segno.make(target, **portal.QR_MAKE).save(expected, kind=kind, **portal.QR_SAVE[kind])
    assert response["Content-Type"] == {"svg": "image/svg+xml", "png": "image/png"}[kind]
    assert response.content == expected.getvalue()
    assert response.content.startswith(b"\x89PNG" if kind == "png" else b"<?xml")


def test_the_poster_shows_the_grid_the_qr_and_its_link_but_nobody_personal(world, client):
    html = client.get(f"/qr/{world.grid_a1.code}/poster/").content.decode()
    link = f"http://testserver/r/{world.grid_a1.code}/"
    assert f'href="{link}"' in html
    assert f'src="/qr/{world.grid_a1.code}.svg"' in html
    assert world.grid_a1.name in html
    assert f"{world.county.name} · {world.grid_a1.parent.parent.name} · " in html
    assert "网格员" in html
    for secret in [world.grid_worker_a1.display_name, "张敏", "陈刚"]:
        assert secret not in html
    assert (
        "@media print"
        in (Path(portal.__file__).parents[2] / "static/portal/portal.css").read_text()
    )


# --- rating -------------------------------------------------------------------------------------


def test_the_resident_rates_once_and_the_page_shows_it(world, report, client):
    case = _resolved(world, report)
    track = reverse("track_case", args=[case.tracking_code])
    rate = reverse("portal_rate", args=[case.tracking_code])
    assert "评价办理结果" in client.get(track).content.decode()

    first = client.post(rate, {"satisfaction": "satisfied", "comment": "修得快"})
    second = client.post(rate, {"satisfaction": "unsatisfied", "comment": "改主意了"})

    case.refresh_from_db()
    assert (first.status_code, first["Location"]) == (302, track)
    assert second.status_code == 409
    assert "已评价过" in second.content.decode()
    assert (case.state, case.satisfaction, case.rating_comment) == (
        CaseState.RATED,
        "satisfied",
        "修得快",
    )
    rates = list(case.events.filter(kind=EventKind.RATE))
    assert [(e.actor.username, e.actor_name) for e in rates] == [
        ("system:resident", "群众（凭查询码）")
    ]
    page = client.get(track).content.decode()
    assert 'id="case-rating">满意<' in page
    assert "评价办理结果" not in page


def test_an_unsatisfied_rating_reopens_the_case_by_the_existing_rules(world, report, client):
    case = _resolved(world, report)
    client.post(reverse("portal_rate", args=[case.tracking_code]), {"satisfaction": "unsatisfied"})
    case.refresh_from_db()
    assert (case.state, case.satisfaction) == (CaseState.REOPENED, "unsatisfied")
    assert list(case.events.values_list("kind", flat=True))[-3:] == [
        EventKind.RATE,
        EventKind.REOPEN,
        EventKind.SUPERVISE,
    ]


def test_a_case_still_being_handled_cannot_be_rated(world, report, client):
    case = report("井盖缺失")
    response = client.post(
        reverse("portal_rate", args=[case.tracking_code]), {"satisfaction": "satisfied"}
    )
    case.refresh_from_db()
    assert response.status_code == 409
    assert (case.state, case.satisfaction) == (CaseState.NEW, "")


def test_a_rating_without_a_choice_is_refused(world, report, client):
    case = _resolved(world, report)
    response = client.post(reverse("portal_rate", args=[case.tracking_code]), {"comment": "嗯"})
    case.refresh_from_db()
    assert response.status_code == 400
    assert "请选择满意度" in response.content.decode()
    assert (case.state, case.satisfaction) == (CaseState.RESOLVED, "")


# --- public pages carry no personal data --------------------------------------------------------


def test_public_pages_show_no_reporter_or_staff_personal_data(world, report, client):
    case = _resolved(world, report)
    pages = [
        reverse("track_case", args=[case.tracking_code]),
        reverse("portal_grid", args=[world.grid_a1.code]),
        reverse("portal_grid", args=[world.county.code]),
        reverse("portal_poster", args=[world.grid_a1.code]),
    ]
    for url in pages:
        html = client.get(url).content.decode()
        for secret in [NAME, PHONE, "*******5678", "李**", "张敏已更换灯泡", "张敏"]:
            assert secret not in html, (url, secret)
        assert world.dispatcher.display_name not in html
        assert world.grid_worker_a1.display_name not in html


def test_the_grid_page_lists_resolved_cases_and_its_figures(world, report, client):
    _resolved(world, report, category="0201")
    report("井盖缺失", category="0601")  # still open: counted as reported, not listed
    _resolved(world, report)  # no category yet: not public, neither listed nor counted
    html = client.get(reverse("portal_grid", args=[world.grid_a1.code])).content.decode()

    assert world.grid_a1.parent.name in html and world.county.name in html
    rows = re.findall(r"<tr><td>(.*?)</td>.*?<td>([^<]*)</td></tr>", html)
    assert rows == [("小区路灯不亮", "已解决")]
    assert 'id="stat-total">2<' in html
    assert 'id="stat-resolved">1<' in html
    assert 'id="stat-on-time">100%<' in html
    assert 'id="stat-satisfaction">—<' in html


def test_a_form_without_a_valid_key_is_sent_back_with_a_fresh_one(world, client):
    before = Case.objects.count()
    response = client.post("/report/", _form(world, key="x"))
    html = response.content.decode()
    assert response.status_code == 400
    assert "表单已过期，请重新提交" in html
    assert re.search(r'name="key" value="[0-9a-f]{32}"', html)
    assert Case.objects.count() == before
