"""A Redis that wants a password and speaks only TLS (as deploy/compose.yaml runs it):
the cache, the channel layer, the readiness check and Celery's broker all take both
from REDIS_URL, and a server whose certificate our CA did not sign is refused."""

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from bench._servers import free_port, wait_for_port
from deploy.internal_tls import make as make_certificates
from tests.conftest import need
from tests.subprocesses import python_with_local_settings

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "a0b1c2d3e4f5"

_EXERCISE = """
import asyncio, django
django.setup()
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.cache import cache
from bazaar.readiness import readiness_checks
from bazaar.celery import app as celery_app

cache.set("k", "v")
assert cache.get("k") == "v"
layer = get_channel_layer()

async def through_the_layer():
    channel = await layer.new_channel()
    await layer.group_add("room", channel)
    await layer.group_send("room", {"type": "hello"})
    return (await asyncio.wait_for(layer.receive(channel), 5))["type"]

assert async_to_sync(through_the_layer)() == "hello"
redis_check = next(c for c in readiness_checks() if type(c).__name__ == "Redis")
result = asyncio.run(redis_check.get_result())
assert result.error is None, result.error
with celery_app.connection_for_write() as broker:
    broker.ensure_connection(max_retries=1)
print("ok")
"""


@contextmanager
def redis_server(folder: Path, *options: str) -> Iterator[int]:
    """Debian's redis-server with a password and `options`, on a free port."""
    binary = shutil.which("redis-server")
    need(binary is not None, "needs redis-server (Debian's redis-server)")
    port = free_port()
    listen = ("--port", str(port)) if "--tls-port" not in options else ("--port", "0")
    process = subprocess.Popen(
        [
            binary,
            *listen,
            *("--save", "", "--appendonly", "no", "--requirepass", PASSWORD),
            *("--dir", str(folder)),
            *(option.replace("{port}", str(port)) for option in options),
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, process)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def redis_with_password(tmp_path):
    with redis_server(tmp_path) as port:
        yield port


def _run(redis_url: str) -> subprocess.CompletedProcess:
    return python_with_local_settings(_EXERCISE, REDIS_URL=redis_url)


def test_every_redis_client_takes_the_password_from_the_url(redis_with_password):
    with_password = _run(f"redis://:{PASSWORD}@127.0.0.1:{redis_with_password}/0")
    assert with_password.stdout.strip() == "ok", with_password.stderr
    without = _run(f"redis://127.0.0.1:{redis_with_password}/0")
    assert without.returncode != 0
    assert "authenticat" in without.stderr.splitlines()[-1].lower()


def test_every_redis_client_speaks_tls_to_a_server_our_ca_signed(tmp_path):
    certificates = make_certificates(tmp_path / "certs", names=["127.0.0.1"])
    key = certificates["server"].with_suffix(".key")
    tls = (
        *("--tls-port", "{port}", "--tls-cert-file", str(certificates["server"])),
        *("--tls-key-file", str(key), "--tls-ca-cert-file", str(certificates["ca"])),
        *("--tls-auth-clients", "no"),
    )
    with redis_server(tmp_path, *tls) as port:
        url = f"rediss://:{PASSWORD}@127.0.0.1:{port}/0?ssl_cert_reqs=required&ssl_ca_certs="
        over_tls = _run(url + str(certificates["ca"]))
        assert over_tls.stdout.strip() == "ok", over_tls.stderr
        # Another CA (someone posing as the server) is refused, and so is plain TCP.
        stranger = make_certificates(tmp_path / "stranger", names=["127.0.0.1"])["ca"]
        posing = _run(url + str(stranger))
        assert posing.returncode != 0
        assert "certificate verify failed" in posing.stderr
        plain = _run(f"redis://:{PASSWORD}@127.0.0.1:{port}/0")
        assert plain.returncode != 0
