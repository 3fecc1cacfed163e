"""Rate limits: at most `count` requests of one kind per `seconds`, per person or
per address, counted in the cache (Redis in production, shared by every process:
`bazaar.cache.counted`).

A fixed window per key: the first request of a window creates its counter with the
window's lifetime, each request adds one; past the count the request is refused with
`RateLimited` (429, Retry-After: the window's remaining seconds), shown in place by
`bazaar.errors`. A refused request does nothing. Cheap enough to sit on hot paths:
one round trip to Redis per request.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from django.conf import settings
from django.http import HttpRequest

from bazaar.cache import counted
from bazaar.errors import RateLimited
from bazaar.metrics import refusals


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: int
    described: str  # for the person refused: "5 sign-ups an hour"


def client_ip(request: HttpRequest) -> str:
    """The visitor's address: REMOTE_ADDR, or behind TRUSTED_PROXY_COUNT proxies the
    address the outermost of them saw (X-Forwarded-For, counted from the right, since
    anything further left was written by the client). Also django-axes's."""
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [part for part in forwarded if part]
    if proxies and len(forwarded) >= proxies:
        return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "")


def rate_check(kind: str, who: str, rate: Rate) -> None:
    """Count one request of `kind` by `who`; refuse it when past `rate`."""
    now = time.time()
    window = int(now // rate.seconds)
    count = counted(f"ratelimit:{kind}:{who}:{window}", rate.seconds)
    if count > rate.count:
        retry_after = max(1, int((window + 1) * rate.seconds - now))
        refusals.labels(kind).inc()
        raise RateLimited(
            f"Too many tries: at most {rate.described}. Try again in {_wait(retry_after)}.",
            retry_after=retry_after,
        )


def _wait(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} seconds"
    return f"{round(seconds / 60)} minutes"


def rate_limited(kind: str, rate: Rate, *, per: str = "ip") -> Callable:
    """A view's POSTs limited per address (`per="ip"`) or per signed-in person
    (`per="user"`, by address when signed out)."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def limited(request: HttpRequest, *args, **kwargs):
            if request.method == "POST":
                user = request.user
                if per == "user" and user.is_authenticated:
                    who = f"user:{user.pk}"
                else:
                    who = f"ip:{client_ip(request)}"
                rate_check(kind, who, rate)
            return view(request, *args, **kwargs)

        return limited

    return decorate
