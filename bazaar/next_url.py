"""Where a `next` parameter may send a person: a path on this site, nothing else.

Every view that reads `next` (sign-up, log in, log out, the verification link, the
Save and Follow buttons) goes through `local_next`. Django's
`url_has_allowed_host_and_scheme` alone lets `env` through, which `redirect()` then
takes for a view name (a 500) and a browser for a relative URL; and a `next` naming the
page that redirects is a loop.
"""

import unicodedata
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.http import HttpRequest
from django.shortcuts import resolve_url
from django.utils.http import url_has_allowed_host_and_scheme


def is_local_path(url: str) -> bool:
    """An absolute path on this site: one leading slash, no scheme or host, no
    backslash (browsers read `/\\evil.example` as `//evil.example`), no control,
    invisible or space characters (a path we made is percent-encoded; a newline would
    break the Location header)."""
    if not url.startswith("/") or url.startswith("//") or "\\" in url:
        return False
    if any(unicodedata.category(char)[0] in "CZ" for char in url):
        return False
    parts = urlsplit(url)
    return (
        not parts.scheme
        and not parts.netloc
        and url_has_allowed_host_and_scheme(url, allowed_hosts=set())
    )


def _leads_back(request: HttpRequest, url: str) -> bool:
    """Would following `url` land on the page that is redirecting, or send a
    signed-in person to the login page (which sends them on again)?"""
    path = unquote(urlsplit(url).path)
    if path == request.path:
        return True
    return request.user.is_authenticated and path == resolve_url(settings.LOGIN_URL)


def local_next(request: HttpRequest) -> str:
    """The request's `next` (form field first, then query) if it is a safe local path
    that does not lead back here, else ""."""
    url = request.POST.get("next") or request.GET.get("next") or ""
    if is_local_path(url) and not _leads_back(request, url):
        return url
    return ""


def safe_next(request: HttpRequest, fallback: str) -> str:
    """Where to go after this request: a safe `next`, else `fallback` (a URL or a
    view name, resolved here so `redirect()` never sees user input as a view name)."""
    return local_next(request) or resolve_url(fallback)
