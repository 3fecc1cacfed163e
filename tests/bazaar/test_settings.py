"""Production settings: secrets must come from the environment; check --deploy is clean."""

import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


SECRET = "x" * 20 + "-a-long-random-production-secret-" + "y" * 20
# What a production deployment must set: its secret and hosts, Redis, live Stripe keys,
# a bucket for photos, a pepper for passwords.
DEPLOYABLE = {
    "DJANGO_SECRET_KEY": SECRET,
    "DJANGO_ALLOWED_HOSTS": "bazaar.example",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "AWS_STORAGE_BUCKET_NAME": "bazaar-photos",
    "STRIPE_SECRET_KEY": "sk_live_not-a-real-key",
    "STRIPE_WEBHOOK_SECRET": "whsec_not-a-real-secret",
    "PASSWORD_PEPPERS": "k1=" + "p" * 48,
}


def production(*argv, **env):
    """Run a Python command under production settings with only `env` configured."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(
            ("DJANGO_", "DATABASE_URL", "REDIS_URL", "STRIPE_", "PAYMENT_", "BAZAAR_")
        )
    }
    environment.update(DJANGO_SETTINGS_MODULE="bazaar.settings.production", **env)
    return subprocess.run(
        [sys.executable, *argv],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def manage(*args, **env):
    return production("manage.py", *args, **env)


def probe_output(code: str, **env) -> str:
    """What a snippet of Python prints under production settings (it must succeed)."""
    result = production("-c", code, **env)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    result = manage("check", DJANGO_ALLOWED_HOSTS="bazaar.example")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_production_passes_the_deployment_checklist():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **DEPLOYABLE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_probes_over_plain_http_are_answered_and_pages_redirected_to_https():
    probe = (
        "import django; django.setup();"
        "from django.test import Client; c = Client(HTTP_HOST='bazaar.example');"
        "print(c.get('/healthz/').status_code, c.get('/market/').status_code,"
        " c.get('/market/')['Location'])"
    )
    assert probe_output(probe, **DEPLOYABLE).split() == [
        "200",
        "301",
        "https://bazaar.example/market/",
    ]


def test_mail_goes_to_the_smtp_server_the_environment_names():
    smtp = {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "smtp.example.com",
        "EMAIL_PORT": "587",
        "EMAIL_HOST_USER": "market",
        "EMAIL_HOST_PASSWORD": "not-a-real-password",
        "EMAIL_USE_TLS": "true",
    }
    probe = (
        "import django; django.setup(); from django.core.mail import get_connection;"
        "c = get_connection(); print(c.host, c.port, c.username, c.use_tls)"
    )
    printed = probe_output(probe, **DEPLOYABLE, **smtp)
    assert printed.split() == ["smtp.example.com", "587", "market", "True"]


def test_a_staging_site_may_take_play_money():
    staging = {**DEPLOYABLE, "BAZAAR_STAGING": "1", "PAYMENT_GATEWAY": "test"}
    del staging["STRIPE_SECRET_KEY"], staging["STRIPE_WEBHOOK_SECRET"]
    result = manage("check", "--deploy", "--fail-level", "WARNING", **staging)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_deploy_check_refuses_play_money_and_no_redis():
    """The issue's case: production settings, no Stripe key, no Redis."""
    env = {key: DEPLOYABLE[key] for key in ("DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS")}
    result = manage("check", "--deploy", **env)
    assert result.returncode != 0
    assert "(orders.E001) Payments would take play money" in result.stderr
    assert "HINT: Set STRIPE_SECRET_KEY to a live key" in result.stderr
    assert "(bazaar.E001) REDIS_URL is not set" in result.stderr
    # The ordinary check (migrate, shell) still runs: only serving is refused.
    assert manage("check", **env).returncode == 0


def test_the_deploy_check_refuses_photos_from_the_sites_own_origin():
    without_bucket = {
        key: value for key, value in DEPLOYABLE.items() if key != "AWS_STORAGE_BUCKET_NAME"
    }
    result = manage("check", "--deploy", **without_bucket)
    assert result.returncode != 0
    assert "(bazaar.E002) Uploaded photos need an origin of their own: photos would be kept" in (
        result.stderr
    )
    assert "HINT: Set AWS_STORAGE_BUCKET_NAME" in result.stderr
    same_host = {**DEPLOYABLE, "AWS_S3_CUSTOM_DOMAIN": "bazaar.example"}
    result = manage("check", "--deploy", **same_host)
    assert "AWS_S3_CUSTOM_DOMAIN='bazaar.example' is one of the site's own hosts" in result.stderr
    own_cdn = {**DEPLOYABLE, "AWS_S3_CUSTOM_DOMAIN": "photos.bazaar-cdn.example"}
    result = manage("check", "--deploy", "--fail-level", "WARNING", **own_cdn)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_asgi_app_refuses_to_load_on_a_deploy_error():
    """What daphne, uvicorn and gunicorn import: it exits with the reasons before the
    embedded job runner could start."""
    without_redis = {key: value for key, value in DEPLOYABLE.items() if key != "REDIS_URL"}
    refused = production("-c", "import bazaar.asgi", **without_redis)
    assert refused.returncode == 1
    assert refused.stderr.startswith("Refusing to start: this production deployment")
    assert "bazaar.E001: REDIS_URL is not set" in refused.stderr
    assert "HINT: Set REDIS_URL=" in refused.stderr
    loaded = production("-c", "import bazaar.asgi", **DEPLOYABLE)
    assert loaded.returncode == 0, loaded.stderr


def test_the_launcher_refuses_before_it_binds_its_socket():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = production(
        "-m", "bazaar.serve", "--port", str(port), **DEPLOYABLE, PAYMENT_GATEWAY="test"
    )
    assert result.returncode == 1
    assert "orders.E001: Payments would take play money" in result.stderr
    assert "web worker" not in result.stderr  # no daphne process was started


def site_url(**env) -> str:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("SITE_URL", "HOST", "PORT", "DJANGO_SETTINGS_MODULE")
    }
    environment.update(DJANGO_SETTINGS_MODULE="bazaar.settings.local", **env)
    result = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; print(settings.SITE_URL)"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_links_in_emails_follow_where_make_run_serves():
    assert site_url() == "http://127.0.0.1:8000"
    assert site_url(PORT="8123") == "http://127.0.0.1:8123"
    assert site_url(HOST="0.0.0.0", PORT="9000") == "http://127.0.0.1:9000"  # noqa: S104
    assert site_url(HOST="::1") == "http://[::1]:8000"
    assert site_url(SITE_URL="https://bazaar.example", PORT="8123") == "https://bazaar.example"


def test_the_session_cookie_in_production_is_secure_httponly_samesite_and_host_only():
    """OWASP ASVS 3.4: the Set-Cookie Django's session middleware writes under
    production settings (a signed-cookie session, so no database or cache is needed)."""
    probe = (
        "import django; django.setup();"
        "from django.contrib.sessions.backends.signed_cookies import SessionStore;"
        "from django.contrib.sessions.middleware import SessionMiddleware;"
        "from django.http import HttpResponse; from django.test import RequestFactory;"
        "request = RequestFactory().get('/'); request.session = SessionStore();"
        "request.session['_auth_user_id'] = '1';"
        "response = SessionMiddleware(lambda r: None).process_response(request, HttpResponse());"
        "print(response.cookies.output())"
    )
    cookie = probe_output(probe, **DEPLOYABLE).strip()
    assert cookie.startswith("Set-Cookie: __Host-sessionid=")
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"secure", "httponly", "samesite", "path"} <= attributes
    assert "domain" not in attributes
    assert "SameSite=Lax" in cookie and "Path=/;" in cookie


def test_production_settings_refuse_the_demo_market():
    """Before touching the database: a real market never gets the demo accounts."""
    result = manage("seed_market", "--sections", "1", **DEPLOYABLE)
    assert result.returncode != 0
    assert "Refused: these are production settings" in result.stderr
