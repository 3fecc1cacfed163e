"""The WebSocket origin check: a socket is accepted only from a page of this site.

Channels' `AllowedHostsOriginValidator` compares host names only, so a page at
http://127.0.0.1:1234 (any other program on the machine) or at https://… could open
sockets to http://127.0.0.1:8000 carrying the visitor's cookies. This check compares
scheme, host and port of the `Origin` header with the origin the socket itself was
requested at, which is what a page of this site has (Django's CSRF check does the
same for forms). The host must be in ALLOWED_HOSTS; behind a TLS-terminating proxy
the scheme comes from SECURE_PROXY_SSL_HEADER, as for HTTP requests.
"""

from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

DEFAULT_PORTS = {"http": 80, "https": 443}

Origin = tuple[str, str, int]


def parse_origin(url: str) -> Origin | None:
    """(scheme, host, port) of an http(s) origin, the port filled in; None otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return parts.scheme, parts.hostname.lower(), port or DEFAULT_PORTS[parts.scheme]


def _headers(scope) -> dict[str, str]:
    return {name.decode("latin1"): value.decode("latin1") for name, value in scope["headers"]}


def _secure(scope, headers: dict[str, str]) -> bool:
    """As Django's `request.is_secure()`: the proxy's header if configured and sent."""
    if settings.SECURE_PROXY_SSL_HEADER:
        meta_name, secure_value = settings.SECURE_PROXY_SSL_HEADER
        value = headers.get(meta_name.removeprefix("HTTP_").replace("_", "-").lower())
        if value is not None:
            return value.split(",", 1)[0].strip() == secure_value
    return scope.get("scheme") in ("wss", "https")


def socket_origin(scope) -> Origin | None:
    """The origin of the page that may open this socket: its own scheme and Host."""
    headers = _headers(scope)
    host = headers.get("host", "")
    domain, _ = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return None
    return parse_origin(f"{'https' if _secure(scope, headers) else 'http'}://{host}")


def origin_allowed(scope) -> bool:
    own = socket_origin(scope)
    return own is not None and parse_origin(_headers(scope).get("origin", "")) == own


class SameOriginValidator:
    """ASGI middleware: refuse the WebSocket handshake unless `origin_allowed`."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and origin_allowed(scope):
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)
