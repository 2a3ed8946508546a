from django.urls import include, path

from wangge.cases.views import console as views

urlpatterns = [
    path("", views.home, name="home"),
    path("queue/", views.queue, name="queue"),
    path("cases/<int:case_id>/", views.case_detail, name="case_detail"),
    path("cases/<int:case_id>/act/<slug:action>/", views.case_act, name="case_act"),
    path(
        "cases/<int:case_id>/supervisions/<int:order_id>/answer/",
        views.answer_supervision,
        name="answer_supervision",
    ),
    path(
        "cases/<int:case_id>/instructions/<int:instruction_id>/result/",
        views.instruction_result,
        name="instruction_result",
    ),
    path("", include("wangge.cases.urls_operator")),
    path("", include("wangge.cases.urls_mobile")),
    path("", include("wangge.cases.urls_portal")),
]
