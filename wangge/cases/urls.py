from django.urls import include, path

from wangge.cases.views import console as views

urlpatterns = [
    path("", views.home, name="home"),
    path("queue/", views.queue, name="queue"),
    path("queue/table/", views.queue_table, name="queue_table"),
    path("queue/dispatch/", views.bulk_dispatch, name="queue_dispatch"),
    path("queue/views/", views.save_view, name="queue_save_view"),
    path("queue/views/<int:view_id>/delete/", views.delete_view, name="queue_delete_view"),
    path("console/map/", views.console_map, name="console_map"),
    path("console/map/grids.json", views.map_grids, name="console_map_grids"),
    path("console/map/cases.json", views.map_cases, name="console_map_cases"),
    path("cases/<int:case_id>/", views.case_detail, name="case_detail"),
    path("cases/<int:case_id>/act/<slug:action>/", views.case_act, name="case_act"),
    path("cases/<int:case_id>/reveal/", views.reveal_phone, name="case_reveal"),
    path(
        "cases/<int:case_id>/attachments/<int:attachment_id>/",
        views.case_attachment,
        name="case_attachment",
    ),
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
