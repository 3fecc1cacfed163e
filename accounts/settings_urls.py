"""/account/…: the settings hub and its pages (payments stay orders' at
/account/payments/, closing the account is privacy's at /account/delete/)."""

from django.urls import path

import bazaar.ids  # noqa: F401  registers the <ulid:…> path converter

from . import second_factor_views as two_step
from . import settings_views as views

app_name = "account"

urlpatterns = [
    path("", views.hub, name="hub"),
    path("email/", views.email_change, name="email"),
    path("email/cancel/", views.email_change_cancel, name="email_cancel"),
    path("email/confirm/<str:token>/", views.email_confirm, name="email_confirm"),
    path("password/", views.password_change, name="password"),
    path("time-zone/", views.time_zone, name="time_zone"),
    path("sessions/", views.sign_ins, name="sign_ins"),
    path("sessions/<ulid:public_id>/end/", views.sign_in_end, name="sign_in_end"),
    path("sessions/end-others/", views.sign_ins_end_others, name="sign_ins_end_others"),
    path("two-step/", two_step.two_step, name="two_step"),
    path("two-step/begin/", two_step.two_step_begin, name="two_step_begin"),
    path("two-step/confirm/", two_step.two_step_confirm, name="two_step_confirm"),
    path("two-step/verify/", two_step.two_step_verify, name="two_step_verify"),
    path("two-step/recovery-codes/", two_step.recovery_codes_renew, name="recovery_codes"),
]
