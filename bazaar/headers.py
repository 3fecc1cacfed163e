"""Response headers every page gets: what a browser may use, and what caches may keep.

- `Permissions-Policy` on every response: camera and microphone for the market's own
  pages only (sellers' live shows), no geolocation, and the Payment Request API for
  our own pages (Stripe Checkout is a redirect to Stripe's page, which sets its own
  policy; embedding Stripe.js wallets would add "https://js.stripe.com").
- `Cache-Control: private, no-store` on every response to a signed-in person (cart,
  checkout, orders, payments, dashboards, offers, bids, account pages, and whatever is
  added later), so neither a shared cache nor the browser's disk keeps a page meant
  for one person. A response that declared itself `public` keeps its header (uploaded
  photos, the favicon); static files never reach this far as a signed-in request
  (WhiteNoise answers them before sessions are read).
- `Content-Disposition: attachment` on JSON answers (OWASP ASVS V14.4.2): our pages read
  them with `fetch`, which ignores it; a browser sent to one as a page saves it rather
  than rendering it.
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control

PERMISSIONS_POLICY = "camera=(self), microphone=(self), geolocation=(), payment=(self)"


def _signed_in(request: HttpRequest) -> bool:
    # No session cookie, no user: the session is not read just to find that out.
    if settings.SESSION_COOKIE_NAME not in request.COOKIES:
        return False
    user = getattr(request, "user", None)
    return user is not None and user.is_authenticated


def _declared_public(response: HttpResponse) -> bool:
    directives = response.get("Cache-Control", "").lower().replace(" ", "").split(",")
    return "public" in directives


class PrivacyHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        if response.get("Content-Type", "").startswith("application/json"):
            response.headers.setdefault("Content-Disposition", 'attachment; filename="data.json"')
        if _signed_in(request) and not _declared_public(response):
            patch_cache_control(response, private=True, no_store=True)
        return response
