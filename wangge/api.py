"""The JSON API under /api/v1/: one NinjaAPI, one router per app, errors in one shape."""

from ninja import NinjaAPI

api = NinjaAPI(title="wangge API", version="1", urls_namespace="api", docs_url="/docs")
