"""Emails about an account (its address, password, two-step verification), sent by a
job once the change commits."""

from django.core.mail import send_mail
from django.template.loader import render_to_string

from bazaar.jobs import enqueue_on_commit

from .models import User


def account_mail_on_commit(*, template: str, to: str, user: User, **context: str) -> None:
    """Queue an email about the account as a job once the change commits: a slow or
    absent mail server never delays or fails the change (the job retries)."""
    enqueue_on_commit(
        "accounts.tasks.send_account_mail", template=template, to=to, user_id=user.pk, **context
    )


def account_mail_send(*, template: str, to: str, context: dict) -> None:
    subject = render_to_string(f"accounts/emails/{template}_subject.txt", context)
    send_mail(
        subject=" ".join(subject.split()),
        message=render_to_string(f"accounts/emails/{template}_body.txt", context),
        from_email=None,
        recipient_list=[to],
    )
