from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from bazaar.ratelimit import rate_limited

from . import views
from .forms import LoginForm

app_name = "accounts"

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("signup/sent/", views.signup_sent, name="signup_sent"),
    path(
        "login/",
        rate_limited("login", views.LOGIN_RATE)(
            views.LoginView.as_view(
                template_name="accounts/login.html",
                authentication_form=LoginForm,
                redirect_authenticated_user=True,
            )
        ),
        name="login",
    ),
    # Django's LogoutView accepts POST only.
    path("logout/", views.LogoutView.as_view(), name="logout"),
    # "resend" before the token pattern, which would swallow it.
    path("verify/resend/", views.verify_resend, name="verify_resend"),
    path("verify/<str:token>/", views.verify, name="verify"),
    path(
        "password-reset/",
        rate_limited("password_reset", views.PASSWORD_RESET_RATE)(
            auth_views.PasswordResetView.as_view(
                template_name="accounts/password_reset_form.html",
                subject_template_name="accounts/emails/password_reset_subject.txt",
                email_template_name="accounts/emails/password_reset_body.txt",
                success_url=reverse_lazy("accounts:password_reset_done"),
            )
        ),
        name="password_reset",
    ),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="accounts/password_reset_done.html"),
        name="password_reset_done",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(
            template_name="accounts/password_reset_confirm.html",
            success_url=reverse_lazy("accounts:password_reset_complete"),
        ),
        name="password_reset_confirm",
    ),
    path(
        "password-reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(
            template_name="accounts/password_reset_complete.html"
        ),
        name="password_reset_complete",
    ),
]
