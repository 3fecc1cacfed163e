"""Production: every secret comes from the environment and a missing one stops start-up."""

from django.core.exceptions import ImproperlyConfigured

from bazaar.logs import logging_config

from .base import *  # noqa: F403
from .base import env

LOGGING = logging_config(env("LOG_FORMAT", default="json"), env("LOG_LEVEL", default="INFO"))

SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
if len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set to at least 50 random characters.")
# Rotating the key (docs/runbook.md): the previous one, listed here, still verifies
# sessions, password-reset links and signed values until they expire.
SECRET_KEY_FALLBACKS = env.list("DJANGO_SECRET_KEY_FALLBACKS", default=[])
DEBUG = False
# No demo market, with its printed password and its steward, on a real one.
DEMO_DATA_ALLOWED = False
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
# The proxy's and the container runtime's probes reach a web process over plain HTTP
# inside the host: answered, not redirected to HTTPS.
SECURE_REDIRECT_EXEMPT = [r"^healthz/$", r"^readyz/$"]
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
# "__Host-": browsers keep it only when Secure, for path / and without a Domain, so
# no other host under the same domain can set or overwrite it (OWASP ASVS 3.4.4).
# Renaming it signs everyone out once, on the deploy that brings it.
SESSION_COOKIE_NAME = "__Host-sessionid"
CSRF_COOKIE_SECURE = True
SECURE_CONTENT_TYPE_NOSNIFF = True

# Payment keys and Redis are deploy checks (orders.payments.checks, bazaar.checks), so that
# `check --deploy` lists every problem at once; a server refuses to start on any.
DEPLOY_CHECKS_AT_START = True
