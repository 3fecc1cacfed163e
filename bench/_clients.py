"""Shared by the benchmarks: HTTP clients that time each request.

`Client` is one keep-alive connection with a cookie jar, like a browser tab (blocking,
one per thread); `AsyncHttp` is one signed-in client's keep-alive connection on
asyncio streams, so thousands of them share one event loop.
"""

import asyncio
import http.client
import json
import secrets
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit


@dataclass(frozen=True)
class Response:
    body: bytes
    seconds: float
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")


class Client:
    """One keep-alive connection that keeps cookies, like a browser tab."""

    def __init__(self, base_url: str, timeout: float = 30.0, cookies: dict | None = None):
        parts = urlsplit(base_url)
        connection_class = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        self.connection = connection_class(parts.hostname, parts.port, timeout=timeout)
        self.prefix = parts.path.rstrip("/")
        self.cookies: dict[str, str] = dict(cookies or {})

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        self.connection.close()

    def request(
        self,
        method: str,
        path: str,
        form: dict | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        """Send one request (a `form` is POSTed with the CSRF cookie's token) and read the
        whole answer, whatever its status; times the round trip, keeps the cookies set."""
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["X-CSRFToken"] = self.cookies.get("csrftoken", "")
        started = time.perf_counter()
        self.connection.request(method, self.prefix + path, body=body, headers=headers)
        response = self.connection.getresponse()
        content = response.read()
        seconds = time.perf_counter() - started
        for cookie in response.headers.get_all("Set-Cookie") or []:
            name, _, value = cookie.split(";", 1)[0].partition("=")
            self.cookies[name.strip()] = value
        return Response(
            body=content, seconds=seconds, status=response.status, headers=dict(response.headers)
        )

    def get(self, path: str, headers: dict[str, str] | None = None) -> Response:
        """GET `path` and read the whole body; times the round trip, raises unless 200."""
        response = self.request("GET", path, headers=headers)
        if response.status != 200:
            raise RuntimeError(f"GET {path} answered {response.status}, expected 200")
        return response


class AsyncHttp:
    """One keep-alive HTTP/1.1 connection for one signed-in client's form POSTs, on
    asyncio streams so thousands of clients share one event loop."""

    def __init__(self, base_url: str, cookie: str):
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname, parts.port
        self.csrf = secrets.token_hex(16)  # 32 characters: Django takes it as the secret
        self.cookie = f"{cookie}; csrftoken={self.csrf}"
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def post(
        self, path: str, form: dict[str, str], headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        """POST `form` asking for JSON; (status, body), the body whole even if chunked."""
        body = urlencode(form).encode()
        extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Cookie: {self.cookie}\r\nX-CSRFToken: {self.csrf}\r\n"
            f"Accept: application/json\r\n{extra}"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        await self.writer.drain()
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("the server closed the connection")
        length, chunked = 0, False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "transfer-encoding" and "chunked" in value:
                chunked = True
        status = int(status_line.split()[1])
        if not chunked:
            return status, await self.reader.readexactly(length)
        parts = []
        while size := int((await self.reader.readline()).strip(), 16):
            parts.append(await self.reader.readexactly(size))
            await self.reader.readline()
        await self.reader.readline()
        return status, b"".join(parts)

    async def post_ok(
        self, path: str, form: dict[str, str], headers: dict[str, str] | None = None
    ) -> bytes:
        """`post`, raising unless 200; the body."""
        status, body = await self.post(path, form, headers)
        if status != 200:
            raise RuntimeError(f"POST {path} answered {status}: {body[:200]!r}")
        return body

    async def post_json(self, path: str, form: dict[str, str]) -> dict:
        """`post_ok`, decoded."""
        return json.loads(await self.post_ok(path, form))

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
