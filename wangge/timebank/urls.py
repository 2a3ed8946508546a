from django.urls import path

from wangge.timebank import views

# Staff pages take their community as ?community=<code>; the public page has it in the path.
urlpatterns = [
    path("timebank/", views.home, name="timebank_home"),
    path("timebank/members/", views.members, name="timebank_members"),
    path("timebank/tasks/", views.tasks, name="timebank_tasks"),
    path("timebank/points/", views.points, name="timebank_points"),
    path("timebank/store/", views.store, name="timebank_store"),
    path("timebank/policy/", views.policy, name="timebank_policy"),
    path("timebank/rules/", views.create_rule, name="timebank_create_rule"),
    path("timebank/claims/", views.claim_points, name="timebank_claim"),
    path("timebank/items/", views.add_item, name="timebank_add_item"),
    path("timebank/items/<int:item_id>/restock/", views.restock_item, name="timebank_restock"),
    path("timebank/convert/", views.convert_hours, name="timebank_convert"),
    path(
        "timebank/tasks/<int:task_id>/volunteers/",
        views.add_volunteer,
        name="timebank_add_volunteer",
    ),
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
