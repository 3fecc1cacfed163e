"""`next` is a local path or nothing."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory

from bazaar.next_url import is_local_path, local_next, safe_next


@pytest.mark.parametrize(
    "url",
    ["/", "/stalls/01J0000000000000000000000/", "/search/?q=lamp&page=2", "/stalls/x/#item-1"],
)
def test_local_paths_pass(url):
    assert is_local_path(url)


@pytest.mark.parametrize(
    "url",
    [
        "",
        "env",  # redirect() would take it for a view name
        "market:home",
        "stalls/x/",
        "https://evil.example/",
        "//evil.example/",
        "///evil.example/",
        "/\\evil.example/",
        "\\\\evil.example",
        "javascript:alert(1)",
        " /leading-space/",
        "/a\nSet-Cookie: x=1",
        "/a\rb",
        "/a\x00b",
        "/\u2028evil",
        "/tab\there",
        "/zero\u200bwidth",
    ],
)
def test_everything_else_is_refused(url):
    assert not is_local_path(url)


def request_for(path: str, *, next_url: str, method: str = "get", user=None):
    factory = RequestFactory()
    request = (
        factory.post(path, {"next": next_url})
        if method == "post"
        else factory.get(path, {"next": next_url})
    )
    request.user = user or AnonymousUser()
    return request


def test_a_next_leading_back_to_the_page_itself_is_dropped():
    request = request_for("/accounts/signup/", next_url="/accounts/signup/?next=/x/")
    assert local_next(request) == ""


def test_a_signed_in_person_is_never_sent_to_the_login_page(make_user):
    signed_in = request_for("/accounts/signup/", next_url="/accounts/login/", user=make_user())
    anonymous = request_for("/accounts/signup/", next_url="/accounts/login/")
    assert local_next(signed_in) == ""
    assert local_next(anonymous) == "/accounts/login/"


def test_the_fallback_is_resolved_here_never_taken_from_input():
    assert safe_next(request_for("/accounts/signup/", next_url="env"), "market:home") == "/market/"
    posted = request_for("/accounts/signup/", next_url="/stalls/", method="post")
    assert safe_next(posted, "market:home") == "/stalls/"
