"""Shared by the benchmarks: WebSocket clients as the benches open them.

Every bench socket goes without compression, keep-alive pings or a receive queue
limit, so that what is measured is the server's fan-out and not the client's
housekeeping; each waits for the server's `welcome`, the end of a join.
"""

import asyncio

WELCOME = '{"type": "welcome"'
ERROR = '{"type": "error"'


def ws_url(base_url: str, path: str) -> str:
    """The ws:// URL of `path` on the server at http://… `base_url`."""
    return base_url.replace("http://", "ws://", 1) + path


async def connect(
    url: str,
    *,
    origin: str,
    cookie: str | None = None,
    open_timeout: float | None = 10,
    close_timeout: float | None = 10,
):
    """An open client socket; `cookie` ("name=value") signs it in."""
    import websockets

    return await websockets.connect(
        url,
        origin=origin,
        additional_headers={"Cookie": cookie} if cookie else None,
        compression=None,
        proxy=None,
        open_timeout=open_timeout,
        ping_interval=None,
        close_timeout=close_timeout,
        max_queue=None,
    )


async def wait_welcome(socket, timeout: float | None = None) -> None:
    """Read frames until `welcome`; an `error` frame first (a refused join) raises."""
    async with asyncio.timeout(timeout):
        while True:
            raw = await socket.recv()
            if isinstance(raw, str) and raw.startswith(WELCOME):
                return
            if isinstance(raw, str) and raw.startswith(ERROR):
                raise RuntimeError(f"error frame: {raw[:120]}")


async def join(url: str, *, origin: str, cookie: str | None = None, timeout: float | None = 10):
    """`connect`, then `wait_welcome`; the socket is closed again if the join fails."""
    socket = await connect(url, origin=origin, cookie=cookie, open_timeout=timeout, close_timeout=2)
    try:
        await wait_welcome(socket, timeout)
    except BaseException:
        await socket.close()
        raise
    return socket


def abort(sockets) -> None:
    """Drop the sockets at once: no closing handshake to wait for at the end of a run."""
    for socket in sockets:
        socket.transport.abort()
