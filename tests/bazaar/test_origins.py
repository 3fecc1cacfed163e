"""WebSocket origin check: scheme, host and port must be the site's own."""

import pytest
from channels.testing import WebsocketCommunicator
from django.test import override_settings

from bazaar.origins import SameOriginValidator, origin_allowed, parse_origin

SITE = "127.0.0.1:8000"


def scope(origin: str | None, host: str = SITE, scheme: str = "ws", **extra: str) -> dict:
    headers = [(b"host", host.encode())] if host else []
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    headers += [(name.replace("_", "-").encode(), value.encode()) for name, value in extra.items()]
    return {"type": "websocket", "scheme": scheme, "headers": headers}


def test_the_exact_site_origin_is_accepted():
    assert origin_allowed(scope("http://127.0.0.1:8000"))
    assert origin_allowed(scope("HTTP://127.0.0.1:8000"))  # scheme and host ignore case


@pytest.mark.parametrize(
    "origin",
    [
        "http://127.0.0.1:1234",  # another program on the machine
        "https://127.0.0.1:8000",  # another scheme
        "http://localhost:8000",  # another host name, even if it is the same machine
        "http://127.0.0.1",
        "https://evil.example",
        "null",  # sandboxed frames and file:// pages
        "",
        "ws://127.0.0.1:8000",
        "http://127.0.0.1:8000@evil.example",
        "http://127.0.0.1:99999",
    ],
)
def test_other_origins_are_refused(origin):
    assert not origin_allowed(scope(origin))


def test_a_socket_without_origin_or_with_a_foreign_host_is_refused():
    assert not origin_allowed(scope(None))
    assert not origin_allowed(scope("http://evil.example:8000", host="evil.example:8000"))
    assert not origin_allowed(scope("http://127.0.0.1:8000", host=""))


def test_default_ports_match_their_scheme():
    assert parse_origin("https://bazaar.example") == ("https", "bazaar.example", 443)
    with override_settings(ALLOWED_HOSTS=["bazaar.example"]):
        assert origin_allowed(
            scope("https://bazaar.example:443", host="bazaar.example", scheme="wss")
        )
        assert not origin_allowed(
            scope("http://bazaar.example", host="bazaar.example", scheme="wss")
        )


@override_settings(
    ALLOWED_HOSTS=["bazaar.example"], SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https")
)
def test_behind_a_tls_proxy_the_scheme_comes_from_its_header():
    proxied = {"host": "bazaar.example", "scheme": "ws"}
    assert origin_allowed(scope("https://bazaar.example", **proxied, x_forwarded_proto="https"))
    assert not origin_allowed(scope("http://bazaar.example", **proxied, x_forwarded_proto="https"))
    assert origin_allowed(scope("http://bazaar.example", **proxied))  # no header: the socket's


async def _accept(scope, receive, send):
    await receive()
    await send({"type": "websocket.accept"})


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)  # Channels' denier is a consumer: it tidies connections
@pytest.mark.parametrize(
    ("origin", "accepted"),
    [
        (b"http://127.0.0.1:8000", True),
        (b"http://127.0.0.1:1234", False),
        (b"https://127.0.0.1:8000", False),
    ],
)
async def test_the_handshake_is_refused_before_the_app_sees_it(origin, accepted):
    socket = WebsocketCommunicator(
        SameOriginValidator(_accept),
        "/ws/market/",
        headers=[(b"origin", origin), (b"host", SITE.encode())],
    )
    connected, _ = await socket.connect()
    assert connected is accepted
    await socket.disconnect()


def test_a_host_kept_allowed_is_refused_once_allowed_hosts_drop_it():
    """What a Host parses to is kept for the next socket, and forgotten when
    ALLOWED_HOSTS changes."""
    site = scope("https://bazaar.example", host="bazaar.example", scheme="wss")
    with override_settings(ALLOWED_HOSTS=["bazaar.example"]):
        assert origin_allowed(site)
    with override_settings(ALLOWED_HOSTS=["other.example"]):
        assert not origin_allowed(site)
