"""A ceiling on guessing one account's password from many addresses (OWASP ASVS
V2.2.1: at most 100 failures an hour per account), without letting anyone lock its
owner out.

django-axes locks an account out per address (5 failures); an attacker with many
addresses is slowed only by that. Past LOGIN_ACCOUNT_FAILURES_PER_HOUR failures in the
last hour, an account takes one try every LOGIN_SLOWED_TRY_SECONDS from browsers it does
not know, which holds the tries to that ceiling. A browser the account has logged in
from before carries a known-device cookie (OWASP's "device cookies") and is neither
slowed nor counted: the owner walks past a siege of their account."""

import math
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.utils.crypto import salted_hmac

from bazaar.cache import counted
from bazaar.errors import RateLimited
from bazaar.metrics import refusals

HOUR = 3600
KNOWN_DEVICE_ACCOUNTS = 5  # accounts one browser remembers (a shared family computer)
_KNOWN_DEVICE_SALT = "accounts.known_device"
_ONE_YEAR = 365 * 24 * 3600


def login_failures_in_the_last_hour(account: str) -> float:
    """Failures from unknown browsers over a sliding hour: this hour's counter and the
    part of the last hour's that the sliding hour still covers."""
    now = time.time()
    window = int(now // HOUR)
    counts = cache.get_many([_failures_key(account, window - 1), _failures_key(account, window)])
    covered = 1 - (now % HOUR) / HOUR
    return counts.get(_failures_key(account, window - 1), 0) * covered + counts.get(
        _failures_key(account, window), 0
    )


def login_failure_record(account: str) -> None:
    counted(_failures_key(account, int(time.time() // HOUR)), 2 * HOUR)


def login_try_allowed(account: str) -> None:
    """Let this try through, or raise RateLimited while the account is slowed and its
    one try of the moment is taken."""
    if login_failures_in_the_last_hour(account) < settings.LOGIN_ACCOUNT_FAILURES_PER_HOUR:
        return
    spacing = settings.LOGIN_SLOWED_TRY_SECONDS
    next_try = time.time() + spacing
    if cache.add(f"login:slowed:{account}", next_try, spacing):
        return
    wait = max(1, math.ceil((cache.get(f"login:slowed:{account}") or next_try) - time.time()))
    refusals.labels("login_slowed").inc()
    raise RateLimited(
        "This account has had many failed log-ins in the last hour, so it takes one try "
        f"at a time. Try again in {wait} second{'s' if wait != 1 else ''}, log in from a "
        "device you have used before, or reset your password.",
        retry_after=wait,
    )


def known_device(request: HttpRequest, account: str) -> bool:
    """Has this browser logged in to `account` before?"""
    return _device_mark(account) in _known_marks(request)


def known_device_remember(request: HttpRequest, response: HttpResponse, account: str) -> None:
    """After a log-in: this browser is known to `account` from now on."""
    marks = [_device_mark(account)]
    marks += [mark for mark in _known_marks(request) if mark != marks[0]]
    response.set_signed_cookie(
        settings.KNOWN_DEVICE_COOKIE,
        ".".join(marks[:KNOWN_DEVICE_ACCOUNTS]),
        salt=_KNOWN_DEVICE_SALT,
        max_age=_ONE_YEAR,
        httponly=True,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
    )


def _known_marks(request: HttpRequest) -> list[str]:
    value = request.get_signed_cookie(
        settings.KNOWN_DEVICE_COOKIE, default="", salt=_KNOWN_DEVICE_SALT, max_age=_ONE_YEAR
    )
    return value.split(".") if value else []


def _device_mark(account: str) -> str:
    """The account as the cookie names it: opaque, so the cookie tells nobody which
    accounts were used on the browser."""
    return salted_hmac(_KNOWN_DEVICE_SALT, account, algorithm="sha256").hexdigest()[:20]


def _failures_key(account: str, window: int) -> str:
    return f"login:failures:{account}:{window}"
