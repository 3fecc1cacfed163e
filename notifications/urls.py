from django.urls import path

from . import views

app_name = "notifications"

urlpatterns = [
    path("notifications/", views.notice_list, name="list"),
    path("notifications/read-all/", views.notices_read_all, name="read_all"),
    path("notifications/settings/", views.email_settings, name="settings"),
    path("notifications/<ulid:public_id>/open/", views.notice_open, name="open"),
    path("notifications/unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
