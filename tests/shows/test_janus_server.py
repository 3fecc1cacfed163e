"""The embedded Janus starts from the configuration we write, with nothing to complain about."""

import shutil
import subprocess

from bench._servers import free_port, wait_for_port
from shows.media.janus_server import config_write, janus_argv
from tests.conftest import need


def test_janus_starts_from_our_configuration_without_an_error(tmp_path):
    binary = shutil.which("janus")
    need(binary is not None, "needs Debian's janus for live video (apt-get install janus)")
    port = free_port()
    config = config_write(tmp_path / "janus", token_secret="s3cret", http_port=port)
    log_path = tmp_path / "janus.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(janus_argv(config, binary), stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for_port(port, process)
        finally:
            process.terminate()
            process.wait(timeout=10)
    started = log_path.read_text()
    assert "Starting Meetecho Janus" in started
    # Debian's jsonlog logger, loaded unless disabled, printed two [ERR] lines at every
    # `make run` for a configuration file no one needs.
    assert "[ERR]" not in started, started
