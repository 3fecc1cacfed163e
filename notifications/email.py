"""A notice's email, with RFC 8058 one-click unsubscribe."""

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.urls import reverse

from .models import Notice
from .tokens import unsubscribe_token


def site_link(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def unsubscribe_link(*, user_public_id: str, kind: str) -> str:
    token = unsubscribe_token(user_public_id=user_public_id, kind=kind)
    return site_link(reverse("notifications:unsubscribe", args=[token]))


def notice_email_send(notice: Notice) -> None:
    """Send it. `List-Unsubscribe` points at the same signed URL as the visible link:
    a mail client POSTs `List-Unsubscribe=One-Click` to it, the reader's browser
    GETs it and is asked to confirm with one button."""
    user = notice.recipient
    unsubscribe = unsubscribe_link(user_public_id=user.public_id, kind=notice.kind)
    body = render_to_string(
        "notifications/emails/notice.txt",
        {
            "notice": notice,
            "user": user,
            "link": site_link(notice.url) if notice.url.startswith("/") else notice.url,
            "unsubscribe": unsubscribe,
            "settings_link": site_link(reverse("notifications:settings")),
        },
    )
    EmailMessage(
        subject=notice.title,
        body=body,
        to=[user.email],
        headers={
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    ).send()
