from django.urls import path

from . import flash_views, views

app_name = "auctions"

urlpatterns = [
    path("bids/", views.my_bids, name="mine"),
    path("auctions/<ulid:public_id>/", views.auction_detail, name="detail"),
    path("auctions/<ulid:public_id>/bids", views.bid_create, name="bids"),
    path("auctions/<ulid:public_id>/buy-now", views.buy_now, name="buy_now"),
    path("auctions/<ulid:public_id>/retract", views.retract, name="retract"),
    path(
        "auctions/<ulid:public_id>/second-chance/accept",
        views.second_chance,
        {"answer": "accept"},
        name="second_chance_accept",
    ),
    path(
        "auctions/<ulid:public_id>/second-chance/decline",
        views.second_chance,
        {"answer": "decline"},
        name="second_chance_decline",
    ),
    path("auctions/<ulid:public_id>/you", views.your_part, name="your_part"),
    path("auctions/<ulid:public_id>/cancel", views.cancel, name="cancel"),
    path("dashboard/stall/auctions/", views.dashboard_panel, name="dashboard"),
    path("stalls/<ulid:public_id>/flash-auction/", flash_views.flash_overlay, name="flash"),
    path(
        "stalls/<ulid:public_id>/flash-auction/tools", flash_views.flash_tools, name="flash_tools"
    ),
]
