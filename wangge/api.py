"""The JSON API under /api/v1/: one NinjaAPI, one router per app, errors in one shape.

Callers authenticate with `Authorization: Bearer <token>` (`wangge token create`) or the web
session plus its CSRF token. Docs: /api/docs.
"""

from importlib.util import find_spec

from ninja import NinjaAPI

from wangge.accounts.auth import api_auth
from wangge.care.api import router as care_router
from wangge.cases.api import router as cases_router
from wangge.cases.supervision_api import router as supervision_router
from wangge.deliberation.api import router as deliberation_router
from wangge.dispatch.api import router as hotspots_router
from wangge.lib.api_errors import StrictJsonParser, install_error_handlers
from wangge.participation.api import router as participation_router
from wangge.people.api import router as registry_router
from wangge.projects.api import router as projects_router
from wangge.timebank.api import router as timebank_router

api = NinjaAPI(
    title="wangge API",
    version="1",
    urls_namespace="api",
    docs_url="/docs",
    auth=api_auth,
    parser=StrictJsonParser(),
)
install_error_handlers(api)

api.add_router("v1/cases", cases_router)
api.add_router("v1", supervision_router)  # /v1/supervisions…, /v1/units/{id}/supervise
api.add_router("v1/hotspots", hotspots_router)
api.add_router("v1/residents", registry_router)
api.add_router("v1/care", care_router)
api.add_router("v1/timebank", timebank_router)
api.add_router("v1/participation", participation_router)
api.add_router("v1/projects", projects_router)
api.add_router("v1/deliberation", deliberation_router)

# The metrics router is written beside this one; mount it once its module exists.
if find_spec("wangge.dashboards.api") is not None:
    from wangge.dashboards.api import router as metrics_router

    api.add_router("v1/metrics", metrics_router)
