from django.urls import path

from . import views

app_name = "discovery"

urlpatterns = [
    path("", views.front_page, name="home"),
    path("search/", views.search, name="search"),
    path("categories/<slug:category>/", views.category, name="category"),
    path("items/<ulid:public_id>/", views.item_detail, name="item"),
    path("auctions/", views.auction_list, name="auctions"),
]
