"""The case page of the console: the reporter's phone revealed only with a reason (and the read
logged), attachments behind the case's scope, repeats linked both ways, one-click dispatch to a
suggestion, joint handling, and the dispatcher's decision on a returned case."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from wangge.audit.models import PersonalDataAccess
from wangge.cases.actions import add_attachment, dispatch_case, link_duplicate, return_case
from wangge.cases.models import Case, CaseState, CaseTask, EventKind
from wangge.dispatch.actions import route_case
from wangge.dispatch.models import DispatchRecommendation

PHONE = "13812345678"
# A real 2×2 PNG: photos are decoded and re-encoded without metadata before they are stored.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000002000000020802000000fdd49a73"
    "0000001649444154789c63d4eb0e6760606062606060606000000cc10114e1cda95c0000000049454e44ae426082"
)


def _page(client, user, case, lang="en"):
    client.force_login(user)
    client.cookies["django_language"] = lang
    return client.get(f"/cases/{case.pk}/")


# --- the reporter's phone -----------------------------------------------------------------


def test_revealing_the_phone_needs_a_reason_and_the_read_is_logged(world, report, client):
    case = report(reporter_name="李秀英", reporter_phone=PHONE)
    html = _page(client, world.dispatcher, case).content.decode()
    assert '<span class="phone" id="reporter-phone">*******5678</span>' in html
    assert f'action="/cases/{case.pk}/reveal/"' in html

    refused = client.post(f"/cases/{case.pk}/reveal/", {"purpose": " "})
    assert refused.status_code == 400
    assert PHONE not in refused.content.decode()
    assert not PersonalDataAccess.objects.exists()

    shown = client.post(f"/cases/{case.pk}/reveal/", {"purpose": "回访核实"})
    assert shown.status_code == 200
    assert f'<span class="phone revealed" id="reporter-phone">{PHONE}</span>' in (
        shown.content.decode()
    )
    assert "no-store" in shown["Cache-Control"]
    log = PersonalDataAccess.objects.get()
    assert (log.actor, log.field, log.purpose) == (world.dispatcher, "reporter_phone", "回访核实")
    event = case.events.get(kind=EventKind.REVEAL)
    assert (event.actor, event.reason, event.audience) == (world.dispatcher, "回访核实", "internal")
    # The next visit shows the number masked again.
    assert PHONE not in client.get(f"/cases/{case.pk}/").content.decode()


def test_a_handler_cannot_reveal_the_phone(world, report, client):
    case = dispatch_case(report(reporter_phone=PHONE), unit=world.unit("urban"),
                         actor=world.dispatcher)  # fmt: skip
    html = _page(client, world.urban_handler, case).content.decode()
    assert "/reveal/" not in html
    response = client.post(f"/cases/{case.pk}/reveal/", {"purpose": "想看"})
    assert response.status_code == 403
    assert not PersonalDataAccess.objects.exists()


# --- attachments --------------------------------------------------------------------------


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def test_photos_show_on_the_case_page_and_only_to_those_who_see_the_case(
    world, report, client, media
):
    case = report()
    photo, _ = add_attachment(
        case, upload=SimpleUploadedFile("路灯.png", PNG, content_type="image/png"), actor=None
    )
    html = _page(client, world.dispatcher, case).content.decode()
    url = f"/cases/{case.pk}/attachments/{photo.pk}/"
    assert f'<img src="{url}" alt="路灯.png" loading="lazy">' in html

    response = client.get(url)
    assert (response.status_code, response["Content-Type"]) == (200, "image/png")
    body = b"".join(response.streaming_content)
    assert body.startswith(b"\x89PNG") and body == photo.file.read()  # as stored: re-encoded

    client.force_login(world.grid_worker_b1)
    assert client.get(url).status_code == 404
    other = report("另一个")
    assert client.get(f"/cases/{other.pk}/attachments/{photo.pk}/").status_code == 404


# --- repeats ------------------------------------------------------------------------------


def test_a_repeat_and_its_master_link_to_each_other(world, report, client):
    master = report("东门路灯不亮")
    repeat = report("东门路灯还是不亮")
    link_duplicate(repeat, master=master, score=0.97, actor=None)

    repeat_html = _page(client, world.dispatcher, repeat).content.decode()
    master_html = client.get(f"/cases/{master.pk}/").content.decode()

    assert (f'<dd id="case-master"><a class="code" href="/cases/{master.pk}/">'
            f"{master.tracking_code}</a> 东门路灯不亮</dd>") in repeat_html  # fmt: skip
    assert f'<a class="code" href="/cases/{repeat.pk}/">{repeat.tracking_code}</a>' in master_html


def test_merging_into_a_suggested_repeat_takes_one_click(world, report, client):
    master = report("东门路灯不亮，晚上很黑", category="0201")
    repeat = report("东门路灯不亮，晚上很黑", category="0201")
    rec = route_case(repeat)
    rec.candidates = [*rec.candidates, {"rule": "duplicate", "master": master.tracking_code,
                      "name": master.tracking_code, "score": 0.8, "why": "相似"}]  # fmt: skip
    rec.save()
    html = _page(client, world.dispatcher, repeat).content.decode()
    assert f'<input type="hidden" name="master" value="{master.tracking_code}">' in html

    client.post(f"/cases/{repeat.pk}/act/merge/", {"master": master.tracking_code})

    repeat.refresh_from_db()
    assert (repeat.master, repeat.state) == (master, CaseState.CLOSED)


def test_merging_into_a_case_outside_the_scope_is_refused(world, report, client):
    elsewhere = report("董店路灯", cell=world.grid_b1)
    case = report("凤城路灯")
    client.force_login(world.township_dispatcher_a)
    client.cookies["django_language"] = "en"
    response = client.post(f"/cases/{case.pk}/act/merge/", {"master": elsewhere.tracking_code})
    assert response.status_code == 400
    assert "No case with this tracking code in your scope." in response.content.decode()
    case.refresh_from_db()
    assert (case.master, case.state) == (None, CaseState.NEW)


# --- dispatching --------------------------------------------------------------------------


def _one_click_forms(html: str) -> list[str]:
    return re.findall(r'<form class="one-click".*?</form>', html, re.S)


def test_one_click_dispatch_sends_the_case_where_the_suggestion_says(world, report, client):
    case = report("路灯不亮", category="0201")
    route_case(case)
    html = _page(client, world.dispatcher, case).content.decode()
    (form,) = _one_click_forms(html)
    assert f'<input type="hidden" name="unit" value="{world.unit("urban").pk}">' in form
    assert "Dispatch to 县城市管理局" in form

    fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', form))
    response = client.post(f"/cases/{case.pk}/act/dispatch/", fields, follow=True)

    case.refresh_from_db()
    assert (case.state, case.unit) == (CaseState.DISPATCHED, world.unit("urban"))
    assert '<dd id="case-unit">县城市管理局</dd>' in response.content.decode()
    rec = DispatchRecommendation.objects.get(case=case)
    assert (rec.chosen_unit, rec.chosen_by) == (world.unit("urban"), world.dispatcher)


def test_a_grid_level_suggestion_dispatches_to_the_grid_worker(world, report, client):
    case = report("邻居噪音", category="0301")
    route_case(case)
    html = _page(client, world.dispatcher, case).content.decode()
    form = _one_click_forms(html)[0]
    assert f'name="assignee" value="{world.grid_worker_a1.pk}"' in form

    client.post(f"/cases/{case.pk}/act/dispatch/", dict(re.findall(
        r'name="(\w+)" value="([^"]*)"', form)))  # fmt: skip

    case.refresh_from_db()
    assert (case.state, case.assignee, case.unit) == (
        CaseState.DISPATCHED, world.grid_worker_a1, None
    )  # fmt: skip


def test_dispatch_with_helping_units_opens_joint_handling(world, report, client):
    case = report("积水严重", category="0201")
    client.force_login(world.dispatcher)
    client.post(
        f"/cases/{case.pk}/act/dispatch/",
        {"unit": world.unit("urban").pk, "helpers": [world.unit("water").pk],
         "version": case.version},
    )  # fmt: skip
    tasks = CaseTask.objects.filter(case=case).order_by("role")
    assert [(t.unit.code, t.role) for t in tasks] == [("water", "helper"), ("urban", "lead")]
    assert [e.kind for e in Case.objects.get(pk=case.pk).events.all()] == [
        "report", "dispatch", "joint"
    ]  # fmt: skip


def test_dispatch_without_a_target_says_so_and_changes_nothing(world, report, client):
    case = report()
    client.force_login(world.dispatcher)
    client.cookies["django_language"] = "en"
    response = client.post(f"/cases/{case.pk}/act/dispatch/", {"version": case.version})
    assert response.status_code == 400
    assert response.context["buttons"][0]["form"].errors == {
        "unit": ["Choose a unit or a grid worker."]
    }
    assert Case.objects.get(pk=case.pk).version == 1


def test_a_returned_case_shows_why_and_offers_to_dispatch_it_again(world, report, client):
    case = dispatch_case(report(), unit=world.unit("water"), actor=world.dispatcher)
    return_case(case, reason="不是供水问题，是路灯", actor=world.water_handler)
    response = _page(client, world.dispatcher, Case.objects.get(pk=case.pk))
    html = response.content.decode()
    assert "不是供水问题，是路灯" in re.search(r'<section class="notice returned".*?</section>',
                                            html, re.S).group(0)  # fmt: skip
    names = [(b["name"], str(b["label"])) for b in response.context["buttons"]]
    assert names[0] == ("dispatch", "Dispatch again (decide on the return)")

    client.post(f"/cases/{case.pk}/act/dispatch/",
                {"unit": world.unit("urban").pk, "version": 3})  # fmt: skip
    after = Case.objects.get(pk=case.pk)
    assert (after.state, after.unit) == (CaseState.DISPATCHED, world.unit("urban"))


def test_the_dispatch_form_offers_grid_workers_of_the_cases_township_only(world, report, client):
    case = report()
    response = _page(client, world.dispatcher, case)
    form = response.context["buttons"][0]["form"]
    offered = set(form.fields["assignee"].queryset.values_list("username", flat=True))
    assert offered == {"grid_worker_a1", "grid_deputy_a1"}
