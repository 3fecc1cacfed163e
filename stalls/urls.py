from django.urls import path

from . import upload_urls, views
from .room.views import chat_history

app_name = "stalls"

urlpatterns = [
    path("stalls/<ulid:public_id>/", views.stall_detail, name="detail"),
    path("stalls/<ulid:public_id>/chat/", chat_history, name="chat_history"),
    path("stalls/<ulid:public_id>/items/<ulid:item_id>/", views.item_drawer, name="item_drawer"),
    path("sell/", views.become_seller, name="become_seller"),
    path("dashboard/stall/", views.dashboard, name="dashboard"),
    path("dashboard/stall/slots/", views.slot_options, name="slot_options"),
    path("dashboard/stall/items/", views.item_create, name="item_create"),
    path("dashboard/stall/items/<ulid:public_id>/", views.item_edit, name="item_edit"),
    path("dashboard/stall/items/<ulid:public_id>/delete/", views.item_delete, name="item_delete"),
    path("dashboard/stall/photos/", views.photo_upload, name="photo_upload"),
    path(
        "dashboard/stall/photos/<ulid:public_id>/delete/", views.photo_delete, name="photo_delete"
    ),
]

# Photo uploads: the screening's status (and, with S3, the browser's direct uploads).
urlpatterns += upload_urls.urlpatterns
