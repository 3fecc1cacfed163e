"""Janus's API over TLS, as deploy/compose.yaml runs it: the web processes' calls
(a room made and ended) and Caddy's /janus route both reach it only through a
certificate of the deployment's own CA (deploy/internal_tls.py); another CA's
certificate and plain HTTP are refused."""

import json
import shutil
import subprocess
import urllib.request
from contextlib import ExitStack

import pytest

from bench._servers import free_port, wait_for_port
from deploy.internal_tls import make as make_certificates
from shows.media.base import MediaUnavailable
from shows.media.janus import JanusBackend
from shows.media.janus_server import config_write, janus_argv
from tests.caddy import caddy_config
from tests.conftest import need


def _started(stack: ExitStack, argv: list[str], port: int, log_path) -> None:
    log = stack.enter_context(log_path.open("w"))
    process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    stack.callback(process.wait, 10)
    stack.callback(process.terminate)
    wait_for_port(port, process)


@pytest.fixture
def janus_over_tls(tmp_path):
    binary = shutil.which("janus")
    need(binary is not None, "needs Debian's janus for live video (apt-get install janus)")
    certificates = make_certificates(tmp_path / "certs", names=["127.0.0.1"])
    port = free_port()
    config = config_write(
        tmp_path / "janus",
        token_secret="s3cret",
        http_port=port,
        tls_cert=str(certificates["server"]),
        tls_key=str(certificates["server"].with_suffix(".key")),
    )
    with ExitStack() as stack:
        _started(stack, janus_argv(config, binary), port, tmp_path / "janus.log")
        yield port, certificates["ca"]


def test_the_web_processes_reach_janus_only_through_our_ca(settings, janus_over_tls, tmp_path):
    port, ca = janus_over_tls
    settings.JANUS_TOKEN_SECRET = "s3cret"
    settings.JANUS_API_URL = f"https://127.0.0.1:{port}/janus"
    settings.JANUS_API_CA = str(ca)
    backend = JanusBackend()
    backend.room_ensure(room="tls-room")
    backend.room_end(room="tls-room")

    settings.JANUS_API_CA = str(make_certificates(tmp_path / "stranger", names=["127.0.0.1"])["ca"])
    with pytest.raises(MediaUnavailable, match="CERTIFICATE_VERIFY_FAILED"):
        backend.room_ensure(room="tls-room")
    settings.JANUS_API_URL = f"http://127.0.0.1:{port}/janus"
    with pytest.raises(MediaUnavailable, match="unreachable"):
        backend.room_ensure(room="tls-room")


def test_caddy_reaches_janus_over_tls(janus_over_tls, tmp_path):
    need(shutil.which("caddy") is not None, "needs Debian's caddy (apt-get install caddy)")
    port, ca = janus_over_tls
    site = free_port()
    config = caddy_config(
        tmp_path,
        site=f"localhost:{site}",
        web_upstreams="127.0.0.1:9",
        janus_upstream=f"127.0.0.1:{port}",
        internal_ca=ca,
    )
    with ExitStack() as stack:
        _started(stack, ["caddy", "run", "--config", config], site, tmp_path / "caddy.log")
        with urllib.request.urlopen(f"http://localhost:{site}/janus/info", timeout=10) as answer:
            assert json.loads(answer.read())["janus"] == "server_info"
