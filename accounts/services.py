"""Writes to accounts: signing up, verifying email, staff access, the sessions one is
signed in to."""

from contextlib import suppress
from datetime import datetime, timedelta
from importlib import import_module
from urllib.parse import urlencode

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.hashers import make_password
from django.contrib.sessions.models import Session
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from bazaar.errors import Invalid, NotFound
from bazaar.jobs import enqueue_on_commit

from . import tokens
from .devices import device_described
from .models import SignIn, User

VERIFICATION_RESEND_SECONDS = 60
# The notice to an owner whose address someone signed up with: at most one an hour,
# so sign-up cannot be used to flood their inbox.
SIGNUP_NOTICE_SECONDS = 3600


class SignupRefused(Invalid):
    """Sign-up input broke a rule; `errors` maps each form field to its messages."""

    code = "signup_refused"

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(next(iter(errors.values()))[0])
        self.errors = errors


@transaction.atomic
def user_create(
    *,
    handle: str,
    email: str,
    password: str | None,
    verified: bool = False,
    privacy_notice_version: str = "",
) -> User:
    """A new buyer. Passwords are hashed; email is verified separately unless told. The
    privacy notice's edition, when given, is the one the person read before joining."""
    user = User(handle=handle, email=User.objects.normalize_email(email))
    if privacy_notice_version:
        _privacy_notice_noted(user, privacy_notice_version)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    if verified:
        user.email_verified_at = timezone.now()
    user.full_clean()
    user.save()
    return user


def privacy_notice_acknowledge(*, user: User, version: str) -> None:
    """Record that the person has seen this edition of the privacy notice (a later
    edition is shown to them again until they say so)."""
    _privacy_notice_noted(user, version)
    user.save(update_fields=["privacy_notice_version", "privacy_notice_read_at"])


def _privacy_notice_noted(user: User, version: str) -> None:
    """The edition the person has seen, and when: set on the account, not saved."""
    user.privacy_notice_version = version
    user.privacy_notice_read_at = timezone.now()


def user_set_staff(*, user: User, is_staff: bool) -> None:
    """Admin access follows steward and ops roles (governance decides, we store)."""
    if user.is_staff != is_staff:
        user.is_staff = is_staff
        user.save(update_fields=["is_staff"])


def user_identity_conflicts(
    *, handle: str = "", email: str = "", exclude: User | None = None
) -> dict[str, list[str]]:
    """Which of handle and email another account holds, ignoring case.

    One place for the rule so sign-up and the admin say the same thing.
    """
    others = User.objects.all()
    if exclude is not None and exclude.pk is not None:
        others = others.exclude(pk=exclude.pk)
    conflicts = {}
    if handle and others.filter(handle__iexact=handle).exists():
        conflicts["handle"] = ["That handle is taken."]
    if email and others.filter(email__iexact=email).exists():
        conflicts["email"] = ["An account already uses that email. Log in, or reset your password."]
    return conflicts


def user_signup(
    *,
    handle: str,
    email: str,
    password: str,
    base_url: str,
    next_url: str = "",
    privacy_notice_version: str = "",
) -> User | None:
    """Open an unverified account and mail a verification link once it is committed
    (the link signs its holder in and goes on to `next_url`).

    An address an account already uses is answered the same way, with nothing said:
    its owner is mailed instead (as password reset does), so sign-up cannot tell
    anyone which addresses are customers. Returns the new user, or None then.
    Every rule that does not depend on the address is checked before anything is
    written, so one refusal lists all the problems; a sign-up that loses a race for
    the same handle is refused the same way rather than failing.
    """
    errors = user_identity_conflicts(handle=handle)
    try:
        password_validation.validate_password(password, User(handle=handle, email=email))
    except ValidationError as error:
        errors["password"] = error.messages
    if errors:
        raise SignupRefused(errors)
    if User.objects.filter(email__iexact=email).exists():
        return _signup_with_a_known_email(email=email, password=password, base_url=base_url)
    try:
        user = user_create(
            handle=handle,
            email=email,
            password=password,
            privacy_notice_version=privacy_notice_version,
        )
    except (ValidationError, IntegrityError) as error:
        if User.objects.filter(email__iexact=email).exists():  # lost a race for the address
            return _signup_with_a_known_email(email=email, password=password, base_url=base_url)
        conflicts = user_identity_conflicts(handle=handle)
        if conflicts:
            raise SignupRefused(conflicts) from error
        if isinstance(error, ValidationError):
            raise SignupRefused(error.message_dict) from error
        raise
    email_verification_send(user=user, base_url=base_url, next_url=next_url)
    return user


def _signup_with_a_known_email(*, email: str, password: str, base_url: str) -> None:
    # The same hashing work as opening an account, so the answer takes as long.
    make_password(password)
    owner = User.objects.get(email__iexact=email)
    # A job, as the new account's link is: both answers take the same time.
    enqueue_on_commit("accounts.tasks.send_signup_notice", user_id=owner.pk, base_url=base_url)


def signup_notice_send(*, user: User, base_url: str) -> None:
    """Tell an owner that someone signed up with their address: how to log in or reset
    the password, or (not yet verified) a new verification link. Runs as a job."""
    if not user.email_verified:
        # Refused only when a link went out less than a minute ago: that one works.
        with suppress(Invalid):
            email_verification_send(user=user, base_url=base_url)
        return
    if not cache.add(f"accounts:signup-notice:{user.public_id}", True, SIGNUP_NOTICE_SECONDS):
        return
    context = {
        "user": user,
        "login_link": base_url + reverse("accounts:login"),
        "reset_link": base_url + reverse("accounts:password_reset"),
    }
    send_mail(
        subject="Someone tried to sign up with your address at Mesh Bazaar",
        message=render_to_string("accounts/emails/signup_notice_body.txt", context),
        from_email=None,
        recipient_list=[user.email],
    )


def _verification_sent_key(user: User) -> str:
    return f"accounts:verification-sent:{user.public_id}"


def email_verification_send(*, user: User, base_url: str, next_url: str = "") -> None:
    """Queue a link that proves the address is theirs (and goes on to `next_url`,
    checked again when it is followed); at most one a minute per user, so the resend
    button cannot be used to flood someone's inbox. The mail goes as a job once the
    caller commits: a slow or absent mail server never fails a sign-up."""
    if user.email_verified:
        raise Invalid("Your email address is already verified.", code="already_verified")
    if not cache.add(_verification_sent_key(user), True, VERIFICATION_RESEND_SECONDS):
        raise Invalid(
            "We sent you a link less than a minute ago. Check your inbox (and spam folder), "
            "or try again in a minute.",
            code="too_soon",
        )
    enqueue_on_commit(
        "accounts.tasks.send_verification_mail",
        user_id=user.pk,
        base_url=base_url,
        next_url=next_url,
    )


def verification_mail_send(*, user: User, base_url: str, next_url: str = "") -> None:
    token = tokens.email_token_make(user=user)
    context = {
        "user": user,
        "link": base_url
        + reverse("accounts:verify", args=[token])
        + (f"?{urlencode({'next': next_url})}" if next_url else ""),
        "days": tokens.MAX_AGE.days,
    }
    subject = render_to_string("accounts/emails/verify_subject.txt", context)
    send_mail(
        subject=" ".join(subject.split()),
        message=render_to_string("accounts/emails/verify_body.txt", context),
        from_email=None,
        recipient_list=[user.email],
    )


def verification_link_user(*, token: str) -> User:
    """The account a verification link is for, if the link is ours, recent, and for
    the address the account has now."""
    try:
        return tokens.email_token_user(token=token)
    except signing.SignatureExpired as error:
        raise Invalid(
            f"This verification link has expired: links work for {tokens.MAX_AGE.days} days.",
            code="expired",
        ) from error
    except signing.BadSignature as error:
        raise Invalid(
            "This verification link is not valid. It may have been cut short, or your email "
            "address changed after it was sent.",
            code="bad_link",
        ) from error


def email_verify(*, token: str) -> tuple[User, bool]:
    """Mark the address of the link's account verified.

    Returns the user and whether this call verified it (the first does: that one may
    sign a new account in, as the link proves the address). Following a link twice is
    harmless: the first verification time is kept.
    """
    user = verification_link_user(token=token)
    if user.email_verified:
        return user, False
    user.email_verified_at = timezone.now()
    user.save(update_fields=["email_verified_at"])
    return user, True


def _sessions_end(session_keys: list[str]) -> None:
    """End the sessions themselves (cache and database alike, as the engine keeps them)."""
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    for session_key in session_keys:
        store.delete(session_key)


def sign_in_record(*, user: User, session_key: str, user_agent: str) -> SignIn:
    """Note the session someone just signed in to; their entries whose sessions have
    expired since go (so the list stays as long as their devices, not their history)."""
    SignIn.objects.filter(user=user).exclude(
        session_key__in=Session.objects.filter(expire_date__gt=timezone.now()).values("session_key")
    ).delete()
    sign_in, _ = SignIn.objects.update_or_create(
        session_key=session_key,
        defaults={
            "user": user,
            "signed_in_at": timezone.now(),
            "device": device_described(user_agent)[:80],
        },
    )
    return sign_in


def sign_in_forget(*, session_key: str | None) -> None:
    """Signed out: the session ends by itself, its entry goes."""
    if session_key:
        SignIn.objects.filter(session_key=session_key).delete()


def sign_in_end(*, user: User, public_id: str) -> None:
    """Sign one of your sessions out, on whatever device holds it."""
    sign_in = SignIn.objects.filter(user=user, public_id=public_id).first()
    if sign_in is None:
        raise NotFound("That session has already ended.", code="sign_in_gone")
    _sessions_end([sign_in.session_key])
    sign_in.delete()


def sign_ins_end_others(*, user: User, keep_session_key: str | None) -> int:
    """Sign out every session of `user` but the one kept (None: every one); how many."""
    others = SignIn.objects.filter(user=user).exclude(session_key=keep_session_key or "")
    keys = list(others.values_list("session_key", flat=True))
    _sessions_end(keys)
    SignIn.objects.filter(session_key__in=keys).delete()
    return len(keys)


def sign_in_after_password_change(*, user: User, old_key: str | None, new_key: str) -> int:
    """A changed password keeps this session (under its new key) and ends the others
    now, rather than at their next request; how many ended."""
    if old_key:
        SignIn.objects.filter(user=user, session_key=old_key).update(session_key=new_key)
    return sign_ins_end_others(user=user, keep_session_key=new_key)


def sign_in_records_expire(*, now: datetime | None = None) -> int:
    """Drop django-axes's records of log-ins, log-outs and failed attempts (address,
    browser, account name) older than SIGN_IN_RECORDS_DAYS (ASVS V8.3.8): kept long
    enough to look into an account's misuse, not for ever. A lockout in force is
    minutes old, so none is lifted. Returns how many records went."""
    before = (now or timezone.now()) - timedelta(days=settings.SIGN_IN_RECORDS_DAYS)
    return sum(
        model.objects.filter(attempt_time__lt=before).delete()[0]
        for model in (AccessLog, AccessFailureLog, AccessAttempt)
    )
