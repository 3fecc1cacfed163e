from django.urls import path

from . import views

app_name = "shows"

urlpatterns = [
    path("stalls/<ulid:public_id>/show/", views.stall_show_state, name="stall_state"),
    path("stalls/<ulid:public_id>/show/start/", views.show_start, name="start"),
    path("shows/<ulid:public_id>/token/", views.show_token, name="token"),
    path("shows/<ulid:public_id>/heartbeat/", views.show_heartbeat, name="heartbeat"),
    path("shows/<ulid:public_id>/end/", views.show_end, name="end"),
    path("shows/<ulid:public_id>/watching/", views.show_watching, name="watching"),
    path("shows/<ulid:public_id>/leave/", views.show_leave, name="leave"),
    path("webhooks/livekit/", views.livekit_webhook, name="livekit_webhook"),
]
