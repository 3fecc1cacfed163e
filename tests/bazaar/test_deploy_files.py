"""deploy/: the compose file, the Procfile and the image start the same processes with
the same commands, and each command names something that exists."""

import importlib.util
import shlex
from pathlib import Path

import yaml
from django.core.management import get_commands

from bazaar.celery import app as celery_app
from deploy.internal_tls import KEY_OWNERS, SERVERS

ROOT = Path(__file__).resolve().parents[2]


def procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip())


def compose_services() -> dict[str, dict]:
    return yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())["services"]


def app_services() -> dict[str, dict]:
    return {
        name: service
        for name, service in compose_services().items()
        if "bazaar.process" in service.get("labels", {})
    }


def test_every_procfile_process_runs_in_compose_with_the_same_command():
    processes = procfile()
    services = app_services()

    assert {service["labels"]["bazaar.process"] for service in services.values()} == set(processes)
    for name, service in services.items():
        assert service["command"] == processes[service["labels"]["bazaar.process"]], name


def test_compose_runs_two_web_processes_behind_the_proxy_and_the_services_they_need():
    services = compose_services()
    web = [name for name, s in app_services().items() if s["labels"]["bazaar.process"] == "web"]

    assert len(web) == 2
    assert {"postgres", "redis", "proxy", "worker", "beat", "janus"} <= set(services)
    caddyfile = (ROOT / "deploy" / "Caddyfile").read_text()
    assert all(f"{name}:8000" in caddyfile for name in web)
    assert "health_uri /readyz/" in caddyfile


def test_the_image_starts_the_procfile_s_web_command():
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    cmd = next(line for line in dockerfile.splitlines() if line.startswith("CMD "))

    assert yaml.safe_load(cmd.removeprefix("CMD ")) == shlex.split(procfile()["web"])


def test_each_command_names_a_module_command_or_app_that_exists():
    for process, command in procfile().items():
        argv = shlex.split(command)
        if argv[:2] == ["python", "-m"]:
            assert importlib.util.find_spec(argv[2]) is not None, process
        elif argv[:2] == ["python", "manage.py"]:
            assert argv[2] in get_commands(), process
        else:
            assert argv[:3] == ["celery", "-A", "bazaar"], process
            assert argv[3] in {"worker", "beat"}, process
            assert celery_app.main == "bazaar"


def test_redis_on_the_compose_network_wants_the_password_every_process_is_given():
    services = compose_services()
    redis = services["redis"]
    assert '--requirepass "$$REDISCLI_AUTH"' in redis["entrypoint"][-1]
    assert redis["environment"]["REDISCLI_AUTH"] == "${REDIS_PASSWORD}"
    for name, service in app_services().items():
        assert service["environment"]["REDIS_URL"].startswith("rediss://:${REDIS_PASSWORD}@"), name
    example = (ROOT / "deploy" / ".env.example").read_text().splitlines()
    assert "REDIS_PASSWORD=" in example


def test_processes_reach_postgresql_and_redis_only_over_verified_tls():
    """The servers listen for TLS alone (PostgreSQL by the repository's pg_hba.conf,
    Redis with no plain port) with the certificates deploy/internal_tls.py makes, and
    every process verifies them against its CA (tests/bazaar/test_postgres_tls.py and
    test_redis_url.py run the same settings against real servers)."""
    services = compose_services()
    postgres = services["postgres"]["entrypoint"][-1]
    assert "-c ssl=on" in postgres
    assert "-c hba_file=/etc/postgresql/pg_hba.conf" in postgres
    assert "./pg_hba.conf:/etc/postgresql/pg_hba.conf:ro" in services["postgres"]["volumes"]
    hba = [
        line.split()
        for line in (ROOT / "deploy" / "pg_hba.conf").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert {rule[0] for rule in hba} == {"local", "hostssl"}
    redis = services["redis"]["entrypoint"][-1]
    assert "--port 0 --tls-port 6379" in redis
    for name, service in app_services().items():
        environment = service["environment"]
        assert environment["DATABASE_URL"].endswith(
            "?sslmode=verify-full&sslrootcert=/certs/ca.pem"
        ), name
        assert environment["REDIS_URL"].endswith(
            "?ssl_cert_reqs=required&ssl_ca_certs=/certs/ca.pem"
        ), name
        assert "./certs/ca.pem:/certs/ca.pem:ro" in service["volumes"], name
    for server in ("postgres", "redis", "janus"):
        mounted = " ".join(services[server]["volumes"])
        assert f"./certs/{server}.pem" in mounted and f"./certs/{server}.key" in mounted
    # Janus's API: TLS only, reached by its certificate's host name, through our CA.
    janus = app_services()["janus"]["environment"]
    assert janus["JANUS_API_URL"].startswith("https://host.docker.internal:")
    assert janus["JANUS_API_CA"] == "/certs/ca.pem"
    assert (janus["JANUS_TLS_CERT"], janus["JANUS_TLS_KEY"]) == (
        "/certs/janus.pem",
        "/certs/janus.key",
    )
    assert SERVERS["janus"] == ["host.docker.internal"]
    assert "./certs/ca.pem:/certs/ca.pem:ro" in services["proxy"]["volumes"]
    caddyfile = (ROOT / "deploy" / "Caddyfile").read_text()
    assert "reverse_proxy https://{$JANUS_UPSTREAM" in caddyfile
    assert "tls_trusted_ca_certs {$INTERNAL_CA:/certs/ca.pem}" in caddyfile
    # Janus's key belongs to the user the image runs as.
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    assert f"--uid {KEY_OWNERS['janus']} bazaar" in dockerfile
