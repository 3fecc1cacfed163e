from django.urls import path

from . import views

app_name = "privacy"

urlpatterns = [
    path("privacy/", views.notice, name="notice"),
    path("privacy/seen/", views.notice_seen, name="notice_seen"),
    path("account/delete/", views.account_delete, name="delete"),
    path("account/export/", views.account_export, name="export"),
]
