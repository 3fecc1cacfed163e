"""deploy/Caddyfile run for real, as compose runs it: Caddy in front of two web processes
(production's uvicorn) and a Celery worker, on this suite's PostgreSQL and Redis. Pages
and sockets go through it, spread over both processes, each request carries the id
Caddy gives it, and when one process is killed the other takes every request within
the health check's interval (Caddy as tests/caddy.py runs it)."""

import asyncio
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.request
from contextlib import ExitStack
from email.message import Message

from websockets.asyncio.client import connect

from deploy.internal_tls import make as make_certificates
from tests.caddy import caddy_config
from tests.conftest import need
from tests.faults import stack
from tests.faults.conftest import dump_logs

pytestmark = stack.FAULT_TEST

PROXY_PORT, WEB_PORTS = 8630, (8631, 8632)
ROOT = stack.ROOT
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _get(path: str) -> tuple[int, Message]:
    request = urllib.request.Request(f"http://localhost:{PROXY_PORT}{path}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.headers
    except urllib.error.HTTPError as refused:
        return refused.code, refused.headers


def _open_sockets(port: int) -> int:
    """What one web process says it holds (its own /metrics, asked directly)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        metrics = response.read().decode()
    return int(float(re.search(r"^bazaar_open_sockets (\S+)$", metrics, re.M).group(1)))


async def _sockets(count: int) -> list:
    origin = f"http://localhost:{PROXY_PORT}"
    sockets = [
        await connect(f"ws://localhost:{PROXY_PORT}/ws/market/", origin=origin)
        for _ in range(count)
    ]
    for socket in sockets:
        await socket.send('{"hello": 1}')
        async with asyncio.timeout(10):
            while '"read_only"' not in await socket.recv():
                pass
    return sockets


def test_the_caddyfile_spreads_pages_and_sockets_over_two_processes_and_survives_a_kill(
    market_env, workdir
):
    need(shutil.which("caddy") is not None, "needs Debian's caddy (apt-get install caddy)")
    env = {**market_env, "TRUSTED_PROXY_COUNT": "1"}
    with ExitStack() as running:
        webs = [
            running.enter_context(
                stack.web(
                    env, port=port, workers=1, log=workdir / f"web{port}.log", server="uvicorn"
                )
            )
            for port in WEB_PORTS
        ]
        running.enter_context(stack.celery_worker(env, log=workdir / "worker.log"))
        with (workdir / "caddy.log").open("ab") as log:
            caddy = subprocess.Popen(
                [
                    *("caddy", "run", "--config"),
                    caddy_config(
                        workdir,
                        site=f"localhost:{PROXY_PORT}",
                        web_upstreams=" ".join(f"127.0.0.1:{port}" for port in WEB_PORTS),
                        janus_upstream="127.0.0.1:9",
                        internal_ca=make_certificates(workdir / "certs", names=["127.0.0.1"])["ca"],
                    ),
                ],
                env={**os.environ, "HOME": str(workdir)},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        running.callback(stack.stop_process, caddy)
        stack.wait_for(
            lambda: _get("/readyz/")[0] == 200, timeout=60, what="the market through Caddy"
        )

        status, headers = _get("/healthz/")
        assert status == 200
        assert UUID.match(headers.get("X-Request-ID", "")), dict(headers)

        async def spread_then_kill() -> list[int]:
            sockets = await _sockets(4)
            landed = [_open_sockets(port) for port in WEB_PORTS]
            os.kill(stack.children(webs[0].pid)[0], signal.SIGKILL)
            for socket in sockets:
                await socket.close()
            return landed

        landed = asyncio.run(spread_then_kill())
        assert landed == [2, 2], f"least_conn put the sockets {landed}\n{dump_logs(workdir)}"

        killed_at = time.monotonic()
        stack.wait_for(
            lambda: all(_get("/healthz/")[0] == 200 for _ in range(10)),
            timeout=15,
            what="every request answered by the process left",
        )
        assert time.monotonic() - killed_at < 12
        assert len(asyncio.run(_sockets(2))) == 2
