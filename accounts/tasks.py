"""Background work for accounts: the emails, each sent by a job once the change that
decided it has committed, and the daily drop of old sign-in records. Each task takes
ids and calls one service."""

from celery import shared_task

from bazaar.jobs import MAIL_RETRY

from .mail import account_mail_send
from .models import User
from .services import sign_in_records_expire, signup_notice_send, verification_mail_send


@shared_task(**MAIL_RETRY)
def send_verification_mail(user_id: int, base_url: str, next_url: str = "") -> None:
    user = User.objects.get(pk=user_id)
    if not user.email_verified:
        verification_mail_send(user=user, base_url=base_url, next_url=next_url)


@shared_task(**MAIL_RETRY)
def send_signup_notice(user_id: int, base_url: str) -> None:
    signup_notice_send(user=User.objects.get(pk=user_id), base_url=base_url)


@shared_task(**MAIL_RETRY)
def send_account_mail(template: str, to: str, user_id: int, **context) -> None:
    user = User.objects.get(pk=user_id)
    account_mail_send(template=template, to=to, context={"user": user, **context})


@shared_task
def expire_sign_in_records() -> int:
    return sign_in_records_expire()
