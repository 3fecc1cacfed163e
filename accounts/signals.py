"""Every way in (log-in, sign-up, a verification link) goes through Django's `login`,
and every way out through `logout`: their signals keep the sessions list."""

from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.dispatch import receiver

from . import services


@receiver(user_logged_in)
def sign_in_noted(sender, request, user, **kwargs) -> None:
    if request is not None and request.session.session_key:
        services.sign_in_record(
            user=user,
            session_key=request.session.session_key,
            user_agent=request.headers.get("User-Agent", ""),
        )


@receiver(user_logged_out)
def sign_out_noted(sender, request, user, **kwargs) -> None:
    if request is not None:
        services.sign_in_forget(session_key=request.session.session_key)
