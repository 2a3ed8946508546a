"""The projects API: scope answers 404, a role without the permission 403, retries count once,
and no answer carries a commenter's phone."""

from decimal import Decimal

from django.test import Client

from wangge.accounts.actions import grant_role
from wangge.accounts.models import ApiToken, Role, User
from wangge.projects.actions import submit_public_comment
from wangge.projects.models import LivelihoodProject, ProgressUpdate, SupervisionRecord
from wangge.projects.tests.factories import project

PHONE = "13912345678"


def api(user) -> Client:
    _, raw = ApiToken.issue(user)
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def test_a_secretary_builds_a_tree_and_the_owner_reports_through_the_api(world):
    secretary = api(world.secretary_a)
    community = world.grid_a1.parent.code
    unit = world.townships[0].code
    root = secretary.post(
        "/api/v1/projects",
        {"title": "饮水安全工程", "cell": community, "owner_unit": unit, "budget": "0"},
        content_type="application/json",
    )
    assert root.status_code == 201
    root_id = root.json()["id"]
    kids = [
        secretary.post(
            "/api/v1/projects",
            {"title": t, "cell": world.grid_a1.code, "owner_unit": unit, "budget": b,
             "weight": w, "parent_id": root_id},
            content_type="application/json",
        ).json()["id"]
        for t, b, w in (("管网", "90000", "2"), ("水塔", "10000", "1"))
    ]  # fmt: skip
    owner = api(world.township_handler_a)
    url = f"/api/v1/projects/{kids[0]}/progress"
    body = {"progress": "60", "note": "管网铺设六成"}
    first = owner.post(url, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="p-1")
    again = owner.post(url, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="p-1")
    assert (first.status_code, again.status_code) == (201, 200)
    # (60·2 + 0·1) / 3 = 40
    detail = owner.get(f"/api/v1/projects/{root_id}").json()
    assert (Decimal(detail["progress"]), sorted(detail["children"])) == (Decimal("40"), kids)
    history = owner.get(f"/api/v1/projects/{root_id}/progress").json()
    assert [(h["project_id"], h["note"]) for h in history] == [(kids[0], "管网铺设六成")]
    # the parent's progress is not reported by hand
    refused = owner.post(
        f"/api/v1/projects/{root_id}/progress", body, content_type="application/json"
    )
    assert refused.status_code == 409
    assert ProgressUpdate.objects.count() == 1


def test_scope_and_roles_are_enforced_on_every_endpoint(world):
    school = project(world, "学校操场翻新", budget="120000")
    deputy_b = User.objects.create_user("deputy_b2", display_name="乙镇人大代表")
    grant_role(deputy_b, Role.DEPUTY, actor=None, cell=world.townships[1])
    visit = {"kind": "site_visit", "text": "已到现场", "visit_date": "2025-05-06"}
    assert (
        api(deputy_b)
        .post(f"/api/v1/projects/{school.pk}/supervision", visit, content_type="application/json")
        .status_code
        == 404
    )
    assert (
        api(world.leader)
        .post(f"/api/v1/projects/{school.pk}/supervision", visit, content_type="application/json")
        .status_code
        == 403
    )
    assert api(world.grid_worker_b1).get(f"/api/v1/projects/{school.pk}").status_code == 404
    outside = api(world.grid_worker_b1).post(
        "/api/v1/projects",
        {"title": "越界", "cell": world.grid_a1.code, "owner_unit": "urban", "budget": "1"},
        content_type="application/json",
    )
    assert outside.status_code == 404
    ok = api(world.deputy).post(
        f"/api/v1/projects/{school.pk}/supervision", visit, content_type="application/json"
    )
    assert (ok.status_code, ok.json()["deputy_name"]) == (201, str(world.deputy))
    assert SupervisionRecord.objects.count() == 1
    assert LivelihoodProject.objects.filter(title="越界").count() == 0


def test_moderation_lists_comments_without_the_phone(world):
    park = project(world, "口袋公园", budget="60000")
    comment, _ = submit_public_comment(
        park, body=f"请回电{PHONE}", phone=PHONE, idempotency_key="k-api-0001"
    )
    secretary = api(world.secretary_a)
    listed = secretary.get("/api/v1/projects/comments")
    assert listed.status_code == 200
    assert PHONE not in listed.content.decode()
    [row] = listed.json()["items"]
    assert (row["id"], row["with_phone"], row["body"]) == (comment.pk, True, "请回电*******5678")
    approved = secretary.post(f"/api/v1/projects/comments/{comment.pk}/approve")
    assert (approved.status_code, approved.json()["status"]) == (200, "approved")
    assert api(world.grid_worker_b1).get("/api/v1/projects/comments").json()["items"] == []
    assert api(world.deputy).get("/api/v1/projects/comments").status_code == 403
