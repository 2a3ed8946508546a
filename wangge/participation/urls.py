from django.urls import path

from wangge.participation import views

urlpatterns = [
    path("participation/", views.home, name="participation_home"),
    path("participation/items/", views.add_item, name="participation_add_item"),
    path("participation/items/<int:item_id>/", views.item_detail, name="participation_item"),
    path(
        "participation/items/<int:item_id>/state/",
        views.item_state,
        name="participation_item_state",
    ),
    path(
        "participation/items/<int:item_id>/match/",
        views.confirm_match,
        name="participation_match",
    ),
    path(
        "participation/items/<int:item_id>/order/",
        views.place_order,
        name="participation_place_order",
    ),
    path(
        "participation/needs/from-cases/",
        views.need_from_cases,
        name="participation_need_from_cases",
    ),
    path("participation/orders/", views.orders, name="participation_orders"),
    path(
        "participation/orders/<int:order_id>/<slug:step>/",
        views.order_step,
        name="participation_order_step",
    ),
    path("participation/wishes/", views.wishes, name="participation_wishes"),
    path("participation/wishes/new/", views.wish_post, name="participation_wish_post"),
    path(
        "participation/wishes/<int:wish_id>/<slug:step>/",
        views.wish_step,
        name="participation_wish_step",
    ),
    path("community/", views.community_home, name="community_home"),
    path("community/<str:code>/services/", views.services_public, name="services_public"),
    path("wishes/<str:code>/", views.wishes_wall, name="wishes_wall"),
    path("wishes/photo/<int:wish_id>/<slug:which>/", views.wish_photo, name="wishes_photo"),
]
