"""PostgreSQL over TLS, as deploy/compose.yaml runs it: the server takes connections
from the network only over TLS (deploy/pg_hba.conf), and Django, given the URL's
`sslmode=verify-full&sslrootcert=…`, speaks TLS to a server our CA signed
(deploy/internal_tls.py) and refuses one it did not."""

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from bench._servers import free_port, wait_for_port
from deploy.internal_tls import make as make_certificates
from tests.conftest import need
from tests.subprocesses import python_with_local_settings

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "f5e4d3c2b1a0"

_ASK = """
import django
django.setup()
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
    print(cursor.fetchone()[0])
"""


def _as_postgres(*command: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(["runuser", "-u", "postgres", "--", *command], **kwargs)


@pytest.fixture
def postgres_over_tls():
    """A PostgreSQL cluster of this test's own, with our certificate and pg_hba.conf."""
    binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    need(bool(binaries), "needs PostgreSQL's server binaries (Debian's postgresql)")
    need(os.geteuid() == 0 and shutil.which("runuser"), "needs root to run PostgreSQL as its user")
    try:
        owner = pwd.getpwnam("postgres")
    except KeyError:
        need(False, "needs the postgres system user")
    bin_dir = Path(binaries[-1]).parent
    folder = Path(tempfile.mkdtemp(prefix="bazaar-pg-tls-"))
    try:
        certificates = make_certificates(folder / "certs", names=["127.0.0.1"])
        shutil.copy(ROOT / "deploy" / "pg_hba.conf", folder / "pg_hba.conf")
        (folder / "password").write_text(PASSWORD)
        for path in [folder, *folder.rglob("*")]:
            os.chown(path, owner.pw_uid, owner.pw_gid)
        folder.chmod(0o700)
        _as_postgres(
            str(bin_dir / "initdb"),
            "-D",
            str(folder / "data"),
            "-U",
            "postgres",
            "--pwfile",
            str(folder / "password"),
            "--auth-local",
            "trust",
            stdout=subprocess.DEVNULL,
        ).wait(timeout=120)
        port = free_port()
        server = _as_postgres(
            str(bin_dir / "postgres"),
            "-D",
            str(folder / "data"),
            *("-c", "listen_addresses=127.0.0.1", "-c", f"port={port}"),
            *("-c", f"unix_socket_directories={folder}", "-c", "ssl=on"),
            *("-c", f"ssl_cert_file={certificates['server']}"),
            *("-c", f"ssl_key_file={certificates['server'].with_suffix('.key')}"),
            *("-c", f"hba_file={folder / 'pg_hba.conf'}"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for_port(port, server, timeout=60)
            yield port, certificates["ca"]
        finally:
            server.terminate()
            server.wait(timeout=30)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _ask(database_url: str) -> subprocess.CompletedProcess:
    return python_with_local_settings(_ASK, DATABASE_URL=database_url)


def test_django_speaks_tls_to_a_postgresql_our_ca_signed_and_nothing_else(
    postgres_over_tls, tmp_path
):
    port, ca = postgres_over_tls
    url = f"postgres://postgres:{PASSWORD}@127.0.0.1:{port}/postgres"

    verified = _ask(f"{url}?sslmode=verify-full&sslrootcert={ca}")
    assert verified.stdout.strip() == "True", verified.stderr
    stranger = make_certificates(tmp_path / "stranger", names=["127.0.0.1"])["ca"]
    posing = _ask(f"{url}?sslmode=verify-full&sslrootcert={stranger}")
    assert posing.returncode != 0
    assert "certificate verify failed" in posing.stderr
    plain = _ask(f"{url}?sslmode=disable")
    assert plain.returncode != 0
    assert "no encryption" in plain.stderr
