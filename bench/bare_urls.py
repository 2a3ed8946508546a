"""The project's URLs plus two bench-only endpoints, mounted only by the bench's server:

- POST /bench/bare: django-ninja parsing the same JSON body and doing one INSERT, the ceiling
  the intake endpoint is measured against;
- POST /bench/report-only: the same token auth and permission check, then `report_case` alone
  (no 智能分派, no detail read back), to show what the handler adds around the action.
"""

from django.db import connection
from django.urls import path
from ninja import NinjaAPI, Schema

from wangge.accounts.auth import api_auth
from wangge.accounts.permissions import Perm, has_perm
from wangge.cases.actions import report_case
from wangge.cases.models import Category
from wangge.lib.errors import PermissionDenied
from wangge.urls import urlpatterns as project_urls

bare = NinjaAPI(title="bench", urls_namespace="bench", docs_url=None)


class BareIn(Schema):
    title: str
    description: str = ""
    channel: str
    lon: float | None = None
    lat: float | None = None
    category: str | None = None


@bare.post("/bare", response={201: dict})
def bare_insert(request, payload: BareIn):
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO bench_bare (title, description, channel, lon, lat, category, key)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id",
            [
                payload.title,
                payload.description,
                payload.channel,
                payload.lon,
                payload.lat,
                payload.category,
                request.headers.get("Idempotency-Key", ""),
            ],
        )
        (row_id,) = cur.fetchone()
    return 201, {"id": row_id}


@bare.post("/report-only", response={200: dict, 201: dict}, auth=api_auth)
def report_only(request, payload: BareIn):
    if not has_perm(request.auth, Perm.REPORT_CASE):
        raise PermissionDenied()
    case, created = report_case(
        channel=payload.channel,
        title=payload.title,
        description=payload.description,
        idempotency_key=request.headers.get("Idempotency-Key"),
        lon=payload.lon,
        lat=payload.lat,
        category=Category.objects.filter(code=payload.category).first(),
        actor=request.auth,
    )
    return (201 if created else 200), {"id": case.pk, "tracking_code": case.tracking_code}


urlpatterns = [path("bench/", bare.urls), *project_urls]
