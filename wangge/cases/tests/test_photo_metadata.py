"""Every place a photo is stored keeps its pixels and drops its metadata (the GPS position of the
home, the phone model, the time): case attachments, wish photos, project progress and site-visit
photos, care visits and 四议两公开 step attachments. A broken "photo" is refused there with
nothing stored; a PDF is stored as it came."""

from datetime import date
from pathlib import Path

import pytest
from django.test import Client

from wangge.accounts.models import ApiToken
from wangge.care.actions import record_visit
from wangge.care.models import Visit
from wangge.cases.models import Attachment
from wangge.deliberation import actions as deliberation
from wangge.deliberation.models import Matter, StepAttachment
from wangge.lib.errors import InvalidInput
from wangge.lib.tests.photos import BROKEN, PDF, assert_clean, gps_upload, read_back, upload
from wangge.participation import actions as participation
from wangge.people.models import Household
from wangge.projects.actions import record_site_visit, report_progress
from wangge.projects.models import ProjectPhoto
from wangge.projects.tests.factories import project


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def stored_files(media) -> list[Path]:
    return [p for p in Path(media).rglob("*") if p.is_file()]


def api(user) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {ApiToken.issue(user)[1]}", HTTP_ACCEPT_LANGUAGE="en")


# --- case attachments (public ones show on the tracking page) -------------------------------


def test_a_case_photo_through_the_api_is_stored_without_its_gps_position(world, report, media):
    case = report("路灯不亮")
    client = api(world.grid_worker_a1)
    url = f"/api/v1/cases/{case.pk}/attachments"

    photo = client.post(url, {"file": gps_upload("路灯.jpg"), "public": "true"})
    pdf = client.post(url, {"file": upload(PDF, "说明.pdf", "application/pdf")})

    assert (photo.status_code, photo.json()["original_name"]) == (201, "路灯.jpg")
    stored = Attachment.objects.get(pk=photo.json()["id"])
    assert (stored.content_type, stored.is_public) == ("image/jpeg", True)
    assert_clean(read_back(stored.file))
    assert stored.size == stored.file.size
    assert pdf.status_code == 201
    with Attachment.objects.get(pk=pdf.json()["id"]).file.open("rb") as f:
        assert f.read() == PDF


def test_a_broken_case_photo_is_refused_with_a_clear_message_and_nothing_stored(
    world, report, media
):
    case = report("路灯不亮")

    r = api(world.grid_worker_a1).post(
        f"/api/v1/cases/{case.pk}/attachments", {"file": upload(BROKEN, "现场.jpg")}
    )

    assert (r.status_code, r.json()["fields"]) == (
        400,
        {"file": "This photo could not be read. Choose a JPEG, PNG or WebP image."},
    )
    assert Attachment.objects.filter(case=case).count() == 0
    assert stored_files(media) == []


# --- micro-wishes (the public wall) ------------------------------------------------------------


def _wish(world, **kw):
    wish, _ = participation.post_wish(
        world.grid_a1.parent,
        title="想要一台收音机",
        wisher_name="王秀英",
        wisher_phone="13912345678",
        actor=world.secretary_a,
        **kw,
    )
    return wish


def test_wish_photos_are_stored_without_metadata(world, media):
    wish = _wish(world, photo=gps_upload("收音机.jpg"))
    assert_clean(read_back(wish.photo))
    participation.claim_wish(wish, claimant_kind="party_member", claimant_name="李明", actor=None)

    r = api(world.secretary_a).post(
        f"/api/v1/participation/wishes/{wish.pk}/fulfil", {"photo": gps_upload("送到.jpg")}
    )

    assert (r.status_code, r.json()["state"]) == (200, "fulfilled")
    wish.refresh_from_db()
    assert_clean(read_back(wish.fulfilment_photo))


def test_a_broken_wish_photo_is_refused_and_nothing_stored(world, media):
    with pytest.raises(InvalidInput) as refused:
        _wish(world, photo=upload(BROKEN, "收音机.jpg"))
    assert list(refused.value.fields) == ["photo"]
    assert stored_files(media) == []


# --- 民生实事 project photos (all public) -----------------------------------------------------


def test_progress_and_site_visit_photos_are_stored_without_metadata(world, media):
    school = project(world, "学校操场翻新", budget="120000")

    report_progress(
        school, progress=20, note="拆除旧跑道", actor=world.secretary_a, photos=[gps_upload()]
    )
    record_site_visit(
        school,
        visit_date=date(2025, 5, 6),
        findings="跑道基层已完成",
        actor=world.deputy,
        photos=[gps_upload("视察.jpg")],
    )

    photos = list(ProjectPhoto.objects.filter(project=school).order_by("pk"))
    assert [(p.update_id is not None, p.record_id is not None) for p in photos] == [
        (True, False),
        (False, True),
    ]
    for p in photos:
        assert_clean(read_back(p.file))
        assert p.size == p.file.size


def test_a_broken_project_photo_is_refused_and_nothing_stored(world, media):
    school = project(world, "学校操场翻新", budget="120000")

    with pytest.raises(InvalidInput) as refused:
        report_progress(
            school,
            progress=20,
            note="拆除旧跑道",
            actor=world.secretary_a,
            photos=[gps_upload(), upload(BROKEN)],
        )

    assert list(refused.value.fields) == ["photos"]
    assert ProjectPhoto.objects.count() == 0
    assert stored_files(media) == []


# --- 走访 visits -----------------------------------------------------------------------------


def test_a_visit_photo_is_stored_without_the_gps_position_of_the_home(world, media):
    home = Household.objects.create(cell=world.grid_a1, address="幸福路8号3栋", door="101")

    visit, _ = record_visit(home, visitor=world.grid_worker_a1, photo=gps_upload("走访.jpg"))

    assert_clean(read_back(visit.photo))
    with pytest.raises(InvalidInput):
        record_visit(home, visitor=world.grid_worker_a1, photo=upload(BROKEN))
    assert Visit.objects.count() == 1
    assert len(stored_files(media)) == 1


# --- 四议两公开 step attachments ---------------------------------------------------------------


def _propose(matter, actor, uploads):
    return deliberation.record_step(
        matter,
        kind="propose",
        version=matter.version,
        held_on=date(2025, 3, 3),
        actor=actor,
        expected=5,
        present=5,
        votes_for=5,
        votes_against=0,
        votes_abstain=0,
        minutes="支委会提议",
        uploads=uploads,
    )


def test_step_photos_lose_their_metadata_and_a_pdf_is_kept_as_it_came(world, media):
    matter = deliberation.create_matter(
        world.grid_a1.parent, title="修建村东生产路", actor=world.secretary_a
    )
    refused_state = matter.state

    with pytest.raises(InvalidInput) as refused:
        _propose(
            matter, world.secretary_a, [upload(PDF, "纪要.pdf", "application/pdf"), upload(BROKEN)]
        )
    assert list(refused.value.fields) == ["attachments"]
    assert (Matter.objects.get(pk=matter.pk).state, StepAttachment.objects.count()) == (
        refused_state,
        0,
    )
    assert stored_files(media) == []

    step = _propose(
        matter,
        world.secretary_a,
        [gps_upload("公示栏.jpg"), upload(PDF, "纪要.pdf", "application/pdf")],
    )

    photo, pdf = step.attachments.order_by("pk")
    assert (photo.original_name, photo.content_type) == ("公示栏.jpg", "image/jpeg")
    assert_clean(read_back(photo.file))
    with pdf.file.open("rb") as f:
        assert f.read() == PDF
