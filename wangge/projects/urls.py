from django.urls import path, re_path

from wangge.projects import views

urlpatterns = [
    # staff
    path("projects/", views.home, name="projects_home"),
    path("projects/new/", views.create, name="projects_create"),
    path("projects/manage/<int:project_id>/", views.manage, name="projects_manage"),
    path("projects/manage/<int:project_id>/progress/", views.progress, name="projects_progress"),
    path("projects/manage/<int:project_id>/state/", views.change_state, name="projects_state"),
    path(
        "projects/manage/<int:project_id>/milestones/",
        views.add_milestone,
        name="projects_milestone",
    ),
    path(
        "projects/manage/<int:project_id>/milestones/<int:milestone_id>/reached/",
        views.reach_milestone,
        name="projects_milestone_reached",
    ),
    path("projects/manage/<int:project_id>/supervise/", views.supervise, name="projects_supervise"),
    path("projects/comments/", views.comments, name="projects_comments"),
    re_path(
        r"^projects/comments/(?P<comment_id>\d+)/(?P<verdict>approve|hide)/$",
        views.moderate,
        name="projects_moderate",
    ),
    # public
    path("projects/p/<int:project_id>/", views.public_detail, name="projects_public_detail"),
    path("projects/p/<int:project_id>/comment/", views.comment, name="projects_comment"),
    re_path(
        r"^projects/p/(?P<project_id>\d+)/qr\.(?P<kind>svg|png)$", views.qr, name="projects_qr"
    ),
    path("projects/photos/<int:photo_id>/", views.photo, name="projects_photo"),
    re_path(r"^projects/(?P<code>\d{6,40})/$", views.public_list, name="projects_public"),
]
