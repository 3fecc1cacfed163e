from django.urls import path

from . import views

app_name = "offers"

urlpatterns = [
    path("items/<ulid:item_id>/offers/", views.item_panel, name="item_panel"),
    path("items/<ulid:item_id>/offers/new/", views.offer_create, name="create"),
    *[
        path(
            f"offers/<ulid:public_id>/{action}/",
            views.offer_answer,
            {"action": action},
            name=action,
        )
        for action in ("accept", "decline", "withdraw", "counter")
    ],
    path("offers/", views.my_offers, name="mine"),
    path("dashboard/stall/offers/", views.dashboard_panel, name="dashboard"),
    path("dashboard/stall/offers/<ulid:item_id>/auto/", views.auto_prices, name="auto_prices"),
]
