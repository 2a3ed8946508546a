from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.static import serve

from wangge.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("open311/v2/", include("wangge.open311.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("wangge.accounts.urls")),
    path("", include("wangge.cases.urls")),
    path("", include("wangge.dashboards.urls")),
    path("", include("wangge.privacy.urls")),
    path("", include("wangge.people.urls")),
    path("", include("wangge.timebank.urls")),
    path("", include("wangge.participation.urls")),
    path("", include("wangge.projects.urls")),
    path("", include("wangge.deliberation.urls")),
]
if settings.DEBUG:
    urlpatterns += [path("media/<path:path>", serve, {"document_root": settings.MEDIA_ROOT})]
