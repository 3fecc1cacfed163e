"""Every state change needs the CSRF token (OWASP ASVS 4.2.2, 13.2.3): the middleware
guards every URL, and the only views exempt are the three whose callers cannot hold a
token and prove themselves otherwise."""

import re
import uuid
from collections.abc import Callable, Iterator

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.resolvers import RoutePattern

from bazaar.ids import new_ulid

pytestmark = pytest.mark.django_db

# Each is signed another way: Stripe's signature, LiveKit's JWT, the signed token in
# the unsubscribe link (RFC 8058's one-click POST carries no CSRF token).
EXEMPT = {
    "orders.views.stripe_webhook",
    "shows.views.livekit_webhook",
    "notifications.views.unsubscribe",
}
SAMPLES = {"ulid": new_ulid, "int": lambda: "1", "uuid": lambda: str(uuid.uuid4())}
PARAMETER = re.compile(r"<(?:(\w+):)?\w+>")


def name_of(view: Callable) -> str:
    view = getattr(view, "view_class", view)
    return f"{view.__module__}.{view.__qualname__}"


def every_view(
    resolver: URLResolver | None = None, route: str | None = ""
) -> Iterator[tuple[str | None, Callable]]:
    """(route, view) for every URL pattern; route None where a regex is in the way
    (the admin's few), whose views are still checked for exemptions."""
    for entry in (resolver or get_resolver()).url_patterns:
        part = str(entry.pattern) if isinstance(entry.pattern, RoutePattern) else None
        whole = None if route is None or part is None else route + part
        if isinstance(entry, URLResolver):
            yield from every_view(entry, whole)
        elif isinstance(entry, URLPattern):
            yield whole, entry.callback


def path_for(route: str) -> str:
    return "/" + PARAMETER.sub(lambda m: SAMPLES.get(m.group(1), lambda: "x")(), route)


def test_only_the_three_signed_callbacks_are_exempt():
    exempt = {name_of(view) for _, view in every_view() if getattr(view, "csrf_exempt", False)}
    assert exempt == EXEMPT


def test_a_post_without_the_token_is_refused_everywhere_else(make_user):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(make_user("alice"))
    paths = {path_for(route) for route, _ in every_view() if route is not None}
    refused = []
    for path in sorted(paths):
        if name_of(resolve(path).func) in EXEMPT:
            continue
        response = strict.post(path, {"anything": "1"})
        assert response.status_code == 409, (path, response.status_code)
        assert b"reload it and try again" in response.content
        refused.append(path)
    assert len(refused) > 100  # the walk found the market's endpoints, not a handful
