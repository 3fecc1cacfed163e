"""Content Security Policy: scripts only from our origin or bearing this response's
nonce, no inline styles or event handlers, nothing framing our pages.

django-csp builds the header; the policy's fixed part is `CONTENT_SECURITY_POLICY` in
the settings, and this middleware adds the origins the settings name for this
deployment, read per request (tests and benches point them elsewhere): the media
server's signalling (Janus's HTTP API, LiveKit's WebSocket), the photo bucket (images,
and the browser's direct uploads), Stripe's pages that forms lead to, and the
page's own WebSocket origin (`'self'` covers ws: only in CSP level 3 browsers).
"""

from urllib.parse import urlsplit

from csp.constants import SELF, UNSAFE_INLINE
from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings
from django.http import HttpRequest, HttpResponse

STRIPE_PAGES = ("https://checkout.stripe.com", "https://connect.stripe.com")
# Django's admin writes inline styles in its own templates (style attributes, and a
# <style> in the change list): its pages (staff only) may use them. Scripts stay
# nonce-only there too.
ADMIN_PREFIX = "/admin/"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def _bucket_origins() -> list[str]:
    bucket = settings.AWS_STORAGE_BUCKET_NAME
    if not bucket:
        return []
    if settings.AWS_S3_ENDPOINT_URL:
        return [_origin(settings.AWS_S3_ENDPOINT_URL)]
    region = settings.AWS_S3_REGION_NAME
    return [f"https://{bucket}.s3.amazonaws.com", f"https://{bucket}.s3.{region}.amazonaws.com"]


def deployment_sources(request: HttpRequest) -> dict[str, list[str]]:
    """The origins this deployment's settings add to the fixed policy."""
    socket_scheme = "wss" if request.is_secure() else "ws"
    connect = [f"{socket_scheme}://{request.get_host()}"]
    connect += [_origin(settings.JANUS_PUBLIC_URL), _origin(settings.LIVEKIT_URL)]
    bucket = _bucket_origins()
    images = [_origin(settings.MEDIA_URL), *bucket]
    if settings.AWS_S3_CUSTOM_DOMAIN:
        images.append(f"https://{settings.AWS_S3_CUSTOM_DOMAIN}")
    forms = list(STRIPE_PAGES) if settings.STRIPE_SECRET_KEY else []
    sources = {"connect-src": connect + bucket, "img-src": images, "form-action": forms}
    return {name: sorted({s for s in found if s}) for name, found in sources.items() if any(found)}


def allow_inline_style(request: HttpRequest, sha256: str) -> None:
    """Let this response's page use an inline <style> whose text has this SHA-256
    (base64), in any response: a hash, unlike a nonce, holds for the same sheet
    swapped in later from a fragment."""
    if not hasattr(request, "csp_style_hashes"):
        request.csp_style_hashes = set()
    request.csp_style_hashes.add(f"'sha256-{sha256}'")


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, with the deployment's origins added, and its two hooks
    run inline on the async path (they touch neither the database nor files, so the
    hop to the one sync thread that MiddlewareMixin makes would only queue an async
    view behind sync ones)."""

    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponse, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if not report_only:
            parts.update = {**deployment_sources(request), **(parts.update or {})}
            hashes = sorted(getattr(request, "csp_style_hashes", ()))
            if request.path.startswith(ADMIN_PREFIX):
                parts.replace = {**(parts.replace or {}), "style-src": [SELF, UNSAFE_INLINE]}
            elif hashes:
                parts.update["style-src"] = [*parts.update.get("style-src", []), *hashes]
        return parts

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        self.process_request(request)
        response = await self.get_response(request)
        return self.process_response(request, response)
