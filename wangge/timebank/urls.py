from django.urls import path

from wangge.timebank import views

urlpatterns = [
    path("timebank/", views.home, name="timebank_home"),
    path("timebank/tasks/<int:task_id>/confirm/", views.confirm_task, name="timebank_confirm"),
    path("timebank/claims/<int:claim_id>/approve/", views.approve_claim, name="timebank_approve"),
    path("timebank/claims/<int:claim_id>/reject/", views.reject_claim, name="timebank_reject"),
    path("timebank/redeem/", views.redeem, name="timebank_redeem"),
    path(
        "timebank/accounts/<int:account_id>/",
        views.account_statement,
        name="timebank_statement",
    ),
    path("timebank/<str:code>/", views.public, name="timebank_public"),
]
