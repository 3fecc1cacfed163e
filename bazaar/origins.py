"""The WebSocket origin check: a socket is accepted only from a page of this site.

Channels' `AllowedHostsOriginValidator` compares host names only, so a page at
http://127.0.0.1:1234 (any other program on the machine) or at https://… could open
sockets to http://127.0.0.1:8000 carrying the visitor's cookies. This check compares
scheme, host and port of the `Origin` header with the origin the socket itself was
requested at, which is what a page of this site has (Django's CSRF check does the
same for forms). The host must be in ALLOWED_HOSTS; behind a TLS-terminating proxy
the scheme comes from SECURE_PROXY_SSL_HEADER, as for HTTP requests.

A crowd's sockets bring the same few Host and Origin headers, so what each parses to
is kept (ORIGINS_KEPT of each, forgotten when ALLOWED_HOSTS changes): parsing them
was about 4% of a watcher's join (session crowd3).
"""

from functools import lru_cache
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.core.signals import setting_changed
from django.http.request import split_domain_port, validate_host

DEFAULT_PORTS = {"http": 80, "https": 443}
ORIGINS_KEPT = 256

Origin = tuple[str, str, int]


@lru_cache(maxsize=ORIGINS_KEPT)
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


@lru_cache(maxsize=ORIGINS_KEPT)
def _own_origin(host: str, secure: bool) -> Origin | None:
    """The origin of the page that may open a socket: its own scheme and Host."""
    domain, _ = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return None
    return parse_origin(f"{'https' if secure else 'http'}://{host}")


def _forget_hosts(*, setting: str, **_) -> None:
    if setting == "ALLOWED_HOSTS":
        _own_origin.cache_clear()


setting_changed.connect(_forget_hosts)


def origin_allowed(scope) -> bool:
    headers = _headers(scope)
    own = _own_origin(headers.get("host", ""), _secure(scope, headers))
    return own is not None and parse_origin(headers.get("origin", "")) == own


class SameOriginValidator:
    """ASGI middleware: refuse the WebSocket handshake unless `origin_allowed`."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and origin_allowed(scope):
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)
