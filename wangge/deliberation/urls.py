from django.urls import path

from wangge.deliberation import views

urlpatterns = [
    # staff
    path("deliberation/", views.home, name="deliberation_home"),
    path("deliberation/matters/new/", views.matter_new, name="deliberation_matter_new"),
    path("deliberation/matters/<int:matter_id>/", views.matter_detail, name="deliberation_matter"),
    path(
        "deliberation/matters/<int:matter_id>/repropose/",
        views.matter_repropose,
        name="deliberation_repropose",
    ),
    path("deliberation/meetings/new/", views.meeting_new, name="deliberation_meeting_new"),
    path(
        "deliberation/meetings/<int:meeting_id>/",
        views.meeting_detail,
        name="deliberation_meeting",
    ),
    path("deliberation/disclosure/new/", views.disclosure_new, name="deliberation_disclosure_new"),
    path(
        "deliberation/disclosure/<int:item_id>/",
        views.disclosure_detail,
        name="deliberation_disclosure",
    ),
    path(
        "deliberation/disclosure/<int:item_id>/publish/",
        views.disclosure_publish,
        name="deliberation_disclosure_publish",
    ),
    path(
        "deliberation/disclosure/<int:item_id>/correct/",
        views.disclosure_correct,
        name="deliberation_disclosure_correct",
    ),
    # public, by village code (after the staff paths: a code is digits)
    path("deliberation/<str:code>/", views.public_deliberation, name="deliberation_public"),
    path("disclosure/<str:code>/", views.disclosure_board, name="disclosure_board"),
    path(
        "disclosure/<str:code>/archive/<str:period>/",
        views.disclosure_archive,
        name="disclosure_archive",
    ),
]
