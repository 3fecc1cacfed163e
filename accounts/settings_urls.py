"""/account/…: the settings hub and its pages (payments stay orders' at
/account/payments/, closing the account is privacy's at /account/delete/)."""

from django.urls import path

from . import settings_views as views

app_name = "account"

urlpatterns = [
    path("", views.hub, name="hub"),
    path("email/", views.email_change, name="email"),
    path("email/cancel/", views.email_change_cancel, name="email_cancel"),
    path("email/confirm/<str:token>/", views.email_confirm, name="email_confirm"),
    path("password/", views.password_change, name="password"),
    path("time-zone/", views.time_zone, name="time_zone"),
]
