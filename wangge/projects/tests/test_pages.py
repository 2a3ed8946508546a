"""The pages: staff create and report, deputies supervise within their area, residents read the
public pages and comment through the QR code; nothing personal reaches a public page."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from wangge.accounts.actions import grant_role
from wangge.accounts.models import Role, User
from wangge.audit.models import AuditEntry
from wangge.lib.errors import NotFound
from wangge.projects.actions import (
    approve_comment,
    comment_as_deputy,
    hide_comment,
    report_progress,
    submit_public_comment,
)
from wangge.projects.models import (
    CommentStatus,
    LivelihoodProject,
    ProgressUpdate,
    PublicComment,
    SupervisionRecord,
)
from wangge.projects.tests.factories import photo, project

PHONE = "13812345678"
ID_NUMBER = "411422199001011234"


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _deputy_of_township_b(world) -> User:
    user = User.objects.create_user("deputy_b", display_name="乙镇人大代表")
    grant_role(user, Role.DEPUTY, actor=None, cell=world.townships[1])
    return user


def test_staff_create_a_project_and_its_owner_reports_progress_with_a_photo(world, media):
    secretary = logged_in(world.secretary_a)
    community = world.grid_a1.parent
    town_office = world.unit(world.townships[0].code)
    # when: the secretary creates the project
    r = secretary.post(
        reverse("projects_create"),
        {
            "title": "背街小巷改造",
            "cell": community.code,
            "owner_unit": town_office.pk,
            "budget": "250000",
            "start_date": "2025-03-01",
            "planned_end": "2025-10-31",
        },
    )
    created = LivelihoodProject.objects.get(title="背街小巷改造")
    assert r.status_code == 302 and r["Location"] == reverse("projects_manage", args=[created.pk])
    # and the township office's handler reports on it, with a photo
    owner = logged_in(world.township_handler_a)
    r = owner.post(
        reverse("projects_progress", args=[created.pk]),
        {"progress": "30", "note": "管网铺设完成", "photos": [photo()], "key": "form-1234abcd"},
    )
    assert r.status_code == 302
    page = owner.get(reverse("projects_manage", args=[created.pk])).content.decode()
    assert "管网铺设完成" in page and "30%" in page
    # a grid worker of another township sees neither the project nor its progress form
    other = logged_in(world.grid_worker_b1)
    assert other.get(reverse("projects_manage", args=[created.pk])).status_code == 404
    r = other.post(
        reverse("projects_progress", args=[created.pk]), {"progress": "90", "note": "越权"}
    )
    assert r.status_code == 404
    assert [u.progress for u in ProgressUpdate.objects.filter(project=created)] == [Decimal("30")]


def test_a_deputy_outside_the_area_cannot_supervise_and_a_role_without_it_is_refused(world):
    school = project(world, "学校操场翻新", budget="120000")
    outsider = _deputy_of_township_b(world)
    url = reverse("projects_supervise", args=[school.pk])
    form = {"kind": "comment", "text": "请加快进度"}
    # when
    r_outside = logged_in(outsider).post(url, form)
    r_leader = logged_in(world.leader).post(url, form)
    # then
    assert (r_outside.status_code, r_leader.status_code) == (404, 403)
    with pytest.raises(NotFound):
        comment_as_deputy(school, text="请加快进度", actor=outsider)
    assert SupervisionRecord.objects.count() == 0
    assert not AuditEntry.objects.filter(action__startswith="supervise_project").exists()


def test_a_deputy_of_the_area_comments_rates_and_visits_and_the_public_sees_it(world, media):
    school = project(world, "学校操场翻新", budget="120000")
    deputy = logged_in(world.deputy)
    url = reverse("projects_supervise", args=[school.pk])
    # when
    deputy.post(url, {"kind": "comment", "text": "排水沟需加宽"})
    deputy.post(url, {"kind": "rating", "rating": "4", "text": "进度较好"})
    r = deputy.post(
        url,
        {"kind": "site_visit", "visit_date": "2025-05-06", "text": "跑道基层已完成",
         "photos": [photo("视察.png")]},
    )  # fmt: skip
    bad = deputy.post(url, {"kind": "rating", "rating": "", "text": "无分"})
    # then
    assert (r.status_code, bad.status_code) == (302, 400)
    records = list(SupervisionRecord.objects.filter(project=school).order_by("id"))
    assert [(x.kind, x.rating, x.visit_date, x.text) for x in records] == [
        ("comment", None, None, "排水沟需加宽"),
        ("rating", 4, None, "进度较好"),
        ("site_visit", None, date(2025, 5, 6), "跑道基层已完成"),
    ]
    assert [p.original_name for p in records[2].photos.all()] == ["视察.png"]
    page = Client().get(reverse("projects_public_detail", args=[school.pk])).content.decode()
    for text in ("排水沟需加宽", "进度较好", "跑道基层已完成", str(world.deputy), "4/5"):
        assert text in page
    photo_url = reverse("projects_photo", args=[records[2].photos.get().pk])
    assert photo_url in page
    assert Client().get(photo_url)["Content-Type"] == "image/png"


def test_a_comment_shows_publicly_only_after_approval_and_never_with_the_phone(world):
    park = project(world, "口袋公园", budget="60000")
    resident = Client()
    form_url = reverse("projects_comment", args=[park.pk])
    form_page = resident.get(form_url)
    assert form_page.status_code == 200
    key = form_page.context["form"]["key"].value()
    body = f"希望增加座椅，我的身份证{ID_NUMBER}"
    # when: the form is sent twice (a double tap)
    first = resident.post(form_url, {"body": body, "phone": PHONE, "key": key})
    again = resident.post(form_url, {"body": body, "phone": PHONE, "key": key})
    # then: one comment, waiting, and not on the public page
    assert (first.status_code, again.status_code) == (200, 200)
    comment = PublicComment.objects.get()
    assert (comment.status, comment.phone) == (CommentStatus.PENDING, PHONE)
    with connection.cursor() as cursor:
        cursor.execute("SELECT phone FROM projects_publiccomment")
        assert PHONE not in cursor.fetchone()[0]  # encrypted at rest
    detail = reverse("projects_public_detail", args=[park.pk])
    assert "希望增加座椅" not in Client().get(detail).content.decode()
    # when the secretary approves it
    approve_comment(comment, actor=world.secretary_a)
    page = Client().get(detail).content.decode()
    assert "希望增加座椅" in page
    assert PHONE not in page and ID_NUMBER not in page
    assert "4114**************" in page  # the typed ID number, masked
    # and hidden again, it is gone from the page
    hide_comment(comment, actor=world.secretary_a, reason="含个人信息")
    assert "希望增加座椅" not in Client().get(detail).content.decode()


def test_comments_are_moderated_by_community_staff_of_the_area_only(world):
    park = project(world, "口袋公园", budget="60000")
    comment, _ = submit_public_comment(park, body="路灯太暗了", idempotency_key="k-00000001")
    url = reverse("projects_moderate", args=[comment.pk, "approve"])
    assert logged_in(world.grid_worker_b1).post(url).status_code == 404
    assert logged_in(world.deputy).post(url).status_code == 403
    listing = logged_in(world.secretary_a).get(reverse("projects_comments")).content.decode()
    assert "路灯太暗了" in listing
    r = logged_in(world.secretary_a).post(url, {"back": "pending"})
    assert r.status_code == 302
    comment.refresh_from_db()
    assert (comment.status, comment.moderated_by) == (CommentStatus.APPROVED, world.secretary_a)


def test_a_comment_too_short_or_with_a_bad_phone_is_refused_and_nothing_is_stored(world):
    park = project(world, "口袋公园", budget="60000")
    form_url = reverse("projects_comment", args=[park.pk])
    r = Client().post(form_url, {"body": "好", "phone": "12345", "key": "k-00000002"})
    assert r.status_code == 400
    assert set(r.context["form"].errors) == {"body", "phone"}
    long = Client().post(form_url, {"body": "长" * 501, "key": "k-00000003"})
    assert (long.status_code, set(long.context["form"].errors)) == (400, {"body"})
    assert PublicComment.objects.count() == 0


def test_public_pages_are_open_to_anyone_and_show_progress_budget_and_milestones(world, media):
    root = project(world, "老旧小区改造", budget="0")
    roads = project(world, "道路硬化", parent=root, budget="300000")
    lights = project(world, "路灯安装", parent=root, budget="100000")
    report_progress(roads, progress=50, note=f"联系人{PHONE}已到场", actor=world.secretary_a,
                    photos=[photo()])  # fmt: skip
    report_progress(lights, progress=10, note="灯杆到货", actor=world.secretary_a)
    submit_public_comment(root, body="施工噪音大", phone=PHONE, idempotency_key="k-00000004")
    anonymous = Client()
    # the township's list and the community's list
    for code in (world.townships[0].code, world.grid_a1.parent.code):
        listing = anonymous.get(reverse("projects_public", args=[code]))
        assert listing.status_code == 200
        text = listing.content.decode()
        assert "老旧小区改造" in text and "40%" in text and PHONE not in text
    other_town = anonymous.get(reverse("projects_public", args=[world.townships[1].code]))
    assert "老旧小区改造" not in other_town.content.decode()
    # the project's page: sub-projects with their bars, the budget, the owner unit
    page = anonymous.get(reverse("projects_public_detail", args=[root.pk])).content.decode()
    for text in ("道路硬化", "路灯安装", "50%", "10%", "40%", "400000.00", str(roads.owner_unit)):
        assert text in page
    assert PHONE not in page and "施工噪音大" not in page  # not approved yet
    leaf_page = anonymous.get(reverse("projects_public_detail", args=[roads.pk])).content.decode()
    assert "*******5678" in leaf_page and PHONE not in leaf_page
    assert str(world.secretary_a) not in leaf_page  # staff names stay on staff pages
    # the QR codes open the comment form
    svg = anonymous.get(reverse("projects_qr", args=[root.pk, "svg"]))
    png = anonymous.get(reverse("projects_qr", args=[root.pk, "png"]))
    assert (svg["Content-Type"], png["Content-Type"]) == ("image/svg+xml", "image/png")
    assert png.content.startswith(b"\x89PNG")
    assert anonymous.get(reverse("projects_public", args=["999999999"])).status_code == 404
