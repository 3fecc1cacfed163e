"""Page-specific stylesheets inlined into the page's <head>.

Every extra <link rel="stylesheet"> holds the first paint for a round trip (Lighthouse
put it at 140 ms on the stall page, which linked four); the page-specific files are a
few kilobytes gzipped, so they travel inside the page. The site-wide bazaar.css stays a
link, cached across pages. Used where a page needs several (the stall page, the
seller's dashboard); a page with one more keeps a link. The page's HTML then holds the
CSS text: a test that looks for a word a page must not say should look at the text
people read, not the raw HTML.

Each inlined sheet's SHA-256 goes into the response's Content-Security-Policy
(`bazaar.csp`) rather than a nonce: the hash is the same in every response, so the
same sheet arriving again in a fragment htmx swaps in is allowed too, where a nonce
from another response would not be.
"""

import base64
import hashlib
from functools import cache
from pathlib import Path

from django import template
from django.conf import settings
from django.contrib.staticfiles import finders
from django.utils.safestring import mark_safe

from bazaar.csp import allow_inline_style

register = template.Library()


def _read(path: str) -> str:
    found = finders.find(path)
    if found is None:
        raise template.TemplateSyntaxError(f"No static file {path!r} to inline.")
    return Path(found).read_text()


_read_once = cache(_read)


@cache
def _digest(css: str) -> str:
    return base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()


@register.simple_tag(takes_context=True)
def inline_stylesheet(context, path: str) -> str:
    """The static file `path` as a <style> element (read once; on every render with
    DEBUG on, so edits show at once), its hash allowed by the response's CSP."""
    css = _read(path) if settings.DEBUG else _read_once(path)
    allow_inline_style(context["request"], _digest(css))
    return mark_safe(f"<style>{css}</style>")  # noqa: S308 - our own static file


@register.simple_tag
def inline_script(path: str) -> str:
    """The static script `path`'s text, for inside a <script> element: code a page must
    run before its deferred scripts arrive (read once, like the stylesheets)."""
    js = _read(path) if settings.DEBUG else _read_once(path)
    if "</script" in js.lower():
        raise template.TemplateSyntaxError(f"{path!r} cannot be inlined: it closes its element.")
    return mark_safe(js)  # noqa: S308 - our own static file
