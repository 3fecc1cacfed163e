from django.urls import path

from . import views

app_name = "watchlist"

urlpatterns = [
    path("saved/", views.saved, name="saved"),
    path("items/<ulid:public_id>/watch/", views.item_watch, name="item_watch"),
    path("stalls/<ulid:public_id>/follow/", views.stall_follow, name="stall_follow"),
]
