"""A Redis that wants a password (as deploy/compose.yaml runs it): the cache, the channel
layer, the readiness check and Celery's broker all take it from REDIS_URL."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench._servers import free_port, wait_for_port
from tests.conftest import need

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


@pytest.fixture
def redis_with_password(tmp_path):
    binary = shutil.which("redis-server")
    need(binary is not None, "needs redis-server (Debian's redis-server)")
    port = free_port()
    process = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--requirepass",
            PASSWORD,
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, process)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def _run(redis_url: str) -> subprocess.CompletedProcess:
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "bazaar.settings.local",
        "REDIS_URL": redis_url,
        "HOME": str(ROOT),
    }
    return subprocess.run(
        [sys.executable, "-c", _EXERCISE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_every_redis_client_takes_the_password_from_the_url(redis_with_password):
    with_password = _run(f"redis://:{PASSWORD}@127.0.0.1:{redis_with_password}/0")
    assert with_password.stdout.strip() == "ok", with_password.stderr
    without = _run(f"redis://127.0.0.1:{redis_with_password}/0")
    assert without.returncode != 0
    assert "authenticat" in without.stderr.splitlines()[-1].lower()
