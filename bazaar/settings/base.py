"""Settings shared by every environment.

The environment is read once, here, through one ``env`` object; each integration
(database, Redis, storage, mail) switches from its embedded default to the real
service when its variable is set.
"""

import shutil
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import environ
from csp.constants import NONCE, NONE, SELF
from django.conf import global_settings

from bazaar.broker import transport_for
from bazaar.database import BoundedConnection
from bazaar.logs import logging_config, sentry_init

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()

# Everything the embedded market writes (SQLite, media, its secret key) lives in
# var/, which a fresh clone does not have yet.
VAR_DIR.mkdir(exist_ok=True)

SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
# `seed_market` makes demo accounts whose password it prints (a steward's among them):
# production settings turn it off (market.management.commands.seed_market).
DEMO_DATA_ALLOWED = True
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    # Django's admin on stewards' own site: a second step (an authenticator app's code)
    # before anyone with a role reaches it (stewards.admin_site).
    "stewards.apps.StewardsAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "channels",
    "django_htmx",
    "django_celery_beat",
    "health_check",
    "axes",
    # Two-step verification: authenticator-app codes and one-use recovery codes
    # (accounts.second_factor).
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "bazaar",
    "accounts",
    "analytics",
    "governance",
    "market",
    "stalls",
    "offers",
    "orders",
    "auctions",
    "discovery",
    "watchlist",
    "reviews",
    "privacy",
    "notifications",
    "stewards",
    "insights",
    "giveaways",
    "shows",
]

MIDDLEWARE = [
    # Request counts and durations by route and status for /metrics: first, so that
    # it times everything after it.
    "bazaar.metrics.RequestMetricsMiddleware",
    "bazaar.logs.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy with a nonce per response (docs/security.md).
    "bazaar.csp.ContentSecurityPolicyMiddleware",
    # A database that does not answer: a 503 with Retry-After (bazaar.database).
    "bazaar.errors.DatabaseUnavailableMiddleware",
    # Permissions-Policy everywhere; no-store for signed-in pages (docs/security.md).
    "bazaar.headers.PrivacyHeadersMiddleware",
    # Compresses pages, and static files WhiteNoise has no compressed copy of (with
    # DEBUG on it serves the sources); BREACH: see docs/decisions.md.
    "django.middleware.gzip.GZipMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.TimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "bazaar.visitors.VisitorIdMiddleware",
    "bazaar.errors.DomainErrorMiddleware",
    # Turns django-axes's lockout into accounts.views.login_locked_out's page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "bazaar.urls"
ASGI_APPLICATION = "bazaar.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "bazaar.context_processors.market",
                "privacy.context_processors.notice",
                "discovery.context_processors.top_bar",
            ],
            # `{% url %}` remembering its answers (bazaar/templatetags/urls.py).
            "builtins": ["bazaar.templatetags.urls"],
            "libraries": {
                "money": "bazaar.templatetags.money",
                "idempotency": "bazaar.templatetags.idempotency",
                "kept": "bazaar.templatetags.kept",
                "stylesheets": "bazaar.templatetags.stylesheets",
            },
        },
    },
]

# Database: SQLite file by default; DATABASE_URL switches to PostgreSQL with
# psycopg 3's connection pool.
# A PostgreSQL that stops answering is waited for DATABASE_WAIT_SECONDS, not for
# ever: a new connection (connect_timeout), a free pooled one (the pool's timeout)
# and, in web processes, a query's answer (bazaar.database; then a 503).
DATABASE_WAIT_SECONDS = env.int("DATABASE_WAIT_SECONDS", default=3)
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'bazaar.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Daphne and the Celery worker share the file: WAL lets readers run beside the
    # writer, IMMEDIATE transactions take the write lock up front instead of failing
    # with "database is locked" on upgrade.
    # Keep the connection: opening one and running the pragmas per request cost
    # more than the section page's queries. (PostgreSQL uses the pool instead.)
    DATABASES["default"]["CONN_MAX_AGE"] = 600
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    # psycopg prepares a query on a connection once it has run there
    # `prepare_threshold` times (Django's default, None, never does): the pool keeps
    # its connections, so the queries every page repeats skip PostgreSQL's planner.
    # DATABASE_PREPARE_THRESHOLD=off behind a pooler that cannot keep prepared
    # statements (PgBouncer in transaction mode before 1.21): docs/decisions.md.
    prepare_threshold = env("DATABASE_PREPARE_THRESHOLD", default="2")
    # The URL's own options come first: `?sslmode=verify-full&sslrootcert=…` is how
    # deploy/compose.yaml asks for TLS to PostgreSQL (deploy/internal_tls.py).
    DATABASES["default"]["OPTIONS"] = {
        **DATABASES["default"].get("OPTIONS", {}),
        "pool": {
            "min_size": 2,
            "max_size": env.int("DATABASE_POOL_MAX", default=20),
            "timeout": DATABASE_WAIT_SECONDS,
            "connection_class": BoundedConnection,
        },
        "connect_timeout": max(2, DATABASE_WAIT_SECONDS),
        "server_side_binding": True,
        "prepare_threshold": None if prepare_threshold == "off" else int(prepare_threshold),
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Requests of one process in their threads at once (bazaar.handlers); the rest wait in
# the event loop. Fewer threads leave the event loop (the sockets' frames) more of the
# GIL: with a hundred bids by POST in flight and a thousand watchers, 12 threads gave
# the watchers their state at p95 0.5-0.8 s, 24 threads 1.3 s, no limit 2.5 s
# (docs/decisions.md). A bid waiting for its batch gives its turn back, so the limit no
# longer caps how many bids a batch holds. Bids hold no connection while they wait;
# other requests beyond the pool's connections would wait for one in their threads.
REQUEST_THREADS = env.int("REQUEST_THREADS", default=24)

REDIS_URL = env("REDIS_URL", default="")

# /metrics answers a bearer of this token, or the machine itself when it is unset.
METRICS_TOKEN = env("METRICS_TOKEN", default="")

if REDIS_URL:
    CACHES = {
        "default": {
            # One redis-py client per pool, not one per operation (bazaar.cache).
            "BACKEND": "bazaar.cache.SharedClientRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "bazaar",
            "OPTIONS": {"pool_class": "bazaar.cache.SharedConnectionPool"},
        }
    }
    # Sessions read from Redis, written through to the database: one query fewer on
    # every signed-in request (bids, offers, checkout).
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    CHANNEL_LAYERS = {
        "default": {
            # Pub/sub: one PUBLISH per group message, fanned out in each process: 4.6x
            # faster to 1,000 members than channels_redis.core (bench/layers.py), and it
            # survives idle sockets and connection storms that the core layer's pool
            # and 5 s read timeout did not. What is published while a process's Redis
            # connection is down is lost; clients resync from the document. Pub/sub
            # channels are shared by every database of a Redis server, so the prefix
            # carries the database number.
            # Publishes go out in order, many a round trip, and never wait behind a
            # socket's subscription (bazaar.channel_layer).
            "BACKEND": "bazaar.channel_layer.OutboxPubSubChannelLayer",
            "CONFIG": {
                "hosts": [{"address": REDIS_URL, "max_connections": 1000}],
                "prefix": f"bazaar{urlsplit(REDIS_URL).path.strip('/') or '0'}",
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# Content Security Policy (bazaar.csp adds the origins the settings below name: the
# media server, the photo bucket, Stripe). No 'unsafe-inline' and no 'unsafe-eval':
# the inline scripts and stylesheets carry the response's nonce; htmx is told not to
# evaluate attributes, inject its indicator style or copy style attributes when it
# swaps (base.html's htmx-config). Django's admin may use style attributes (bazaar.csp).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:", "blob:"],
        "media-src": [SELF, "blob:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "worker-src": [SELF, "blob:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

AUTH_USER_MODEL = "accounts.User"
# django-axes first: it refuses an account locked out from this address before any
# password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesBackend",
    "accounts.backends.HandleOrEmailBackend",
]
# Log-in lockout: 5 failures for one account from one address lock that pair out for
# 15 minutes (the page says so); a success clears the count. Stewards see and clear
# lockouts in the admin ("Access attempts"); ops with `manage.py axes_reset`.
# The name authenticator apps show beside a steward's codes.
OTP_TOTP_ISSUER = "Mesh Bazaar"
# No one reads another person's authenticator secret, in the admin or anywhere.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "bazaar.ratelimit.client_ip"
AXES_LOCKOUT_CALLABLE = "accounts.views.login_locked_out"
AXES_USERNAME_CALLABLE = "accounts.backends.lockout_name"
# Every failed log-in is kept (account, address, browser, time; never the password)
# after a success clears the count, as successes and log-outs are (AccessLog, with the
# session hashed): stewards read both in the admin. django-axes masks the account and
# address in its log lines, so these tables are the record (docs/security.md).
AXES_ENABLE_ACCESS_FAILURE_LOG = True
# Those records are dropped this long after the attempt (accounts.services.
# sign_in_records_expire, daily): long enough to look into an account's misuse.
SIGN_IN_RECORDS_DAYS = env.int("SIGN_IN_RECORDS_DAYS", default=90)
# Stall chat is deleted this long after it was written (stalls.room.chat.chat_expire,
# daily; ASVS V8.3.8): longer than a dispute or a card chargeback takes to be raised,
# which is what chat is kept to be cited in. A message under an open report, or held
# and not yet reviewed, waits for the steward.
CHAT_RETENTION_DAYS = env.int("CHAT_RETENTION_DAYS", default=365)
# The privacy notice's edition (/privacy/): sign-up records which one a person read.
PRIVACY_NOTICE_VERSION = "2026-12-08"
# No banner at every start (it came before a refusal's reasons); failures and lockouts
# are still logged.
AXES_VERBOSE = False
# Behind a reverse proxy (deploy/: Caddy), how many proxies add to X-Forwarded-For.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
LOGIN_URL = "accounts:login"
CSRF_FAILURE_VIEW = "bazaar.views.csrf_failure"
LOGIN_REDIRECT_URL = "market:home"
LOGOUT_REDIRECT_URL = "market:home"
# OWASP ASVS 2.1: at least 12 characters and at most 128, any characters, not among
# the 20,000 commonest; no composition rules and no expiry (docs/security.md).
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "accounts.passwords.MaximumLengthValidator", "OPTIONS": {"max_length": 128}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# A pepper for password hashes (ASVS V2.4.5, accounts.hashers): "id=key,…"; the first
# hashes new passwords, the others still verify until their owners next log in.
# Production must set it (accounts.E001); without it, Django's own hashers as before.
PASSWORD_PEPPERS = env.dict("PASSWORD_PEPPERS", default={})
if PASSWORD_PEPPERS:
    PASSWORD_HASHERS = [
        "accounts.hashers.PepperedPBKDF2PasswordHasher",
        *global_settings.PASSWORD_HASHERS,
    ]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
MEDIA_URL = env("MEDIA_URL", default="/media/")
MEDIA_ROOT = env.path("MEDIA_ROOT", default=VAR_DIR / "media")

# Uploaded images: local files by default; AWS_STORAGE_BUCKET_NAME switches to S3
# (or any S3-compatible endpoint) with browser uploads through pre-signed POSTs.
AWS_STORAGE_BUCKET_NAME = env("AWS_STORAGE_BUCKET_NAME", default="")
AWS_S3_ENDPOINT_URL = env("AWS_S3_ENDPOINT_URL", default=None)
AWS_S3_REGION_NAME = env("AWS_S3_REGION_NAME", default="us-east-1")
AWS_S3_CUSTOM_DOMAIN = env("AWS_S3_CUSTOM_DOMAIN", default=None)
AWS_DEFAULT_ACL = None
AWS_QUERYSTRING_AUTH = False
AWS_S3_OBJECT_PARAMETERS = {"CacheControl": "public, max-age=31536000, immutable"}
if AWS_STORAGE_BUCKET_NAME:
    _default_storage = {"BACKEND": "storages.backends.s3.S3Storage"}
else:
    _default_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
STORAGES = {
    "default": _default_storage,
    "staticfiles": {"BACKEND": "bazaar.static_storage.RememberedURLStaticFilesStorage"},
}
UPLOAD_HOLDING_PREFIX = "holding/"
# Dispute evidence that passed screening: private like the holding prefix (no public
# read on S3, never served by the media view), shown only through the order's view.
EVIDENCE_PREFIX = "evidence/"
# Photo screening (governance.screening): "nudenet" (local, the default) or "rekognition"
# (AWS DetectModerationLabels, credentials from boto3's usual chain).
PHOTO_SCREENING = env("PHOTO_SCREENING", default="nudenet")
AWS_REKOGNITION_REGION = env("AWS_REKOGNITION_REGION", default="")

EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
# The SMTP server, when EMAIL_BACKEND is Django's smtp backend (docs/runbook.md).
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Mesh Bazaar <market@localhost>")

# Background work. With REDIS_URL: Celery, its broker on Redis, a worker and beat
# (`celery -A bazaar worker --beat`). Without: no broker at all; the web process runs
# the jobs that services queue (rows of `bazaar.Job`) and the beat schedule below
# itself (`bazaar.runner`), so what they publish reaches the pages it serves.
JOBS_BACKEND = "celery" if REDIS_URL else "embedded"
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_BROKER_TRANSPORT = transport_for(CELERY_BROKER_URL)
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = TIME_ZONE

# New bids one person may place in a time (count, seconds; BID_PACE=off for none, as
# the auction bench's bidders need): retries of a bid are answered before this is
# asked, so a retry is always told its first answer. Nobody bids faster by hand; a
# script that does is told to slow down, its bids neither stored nor announced.
_bid_pace = env("BID_PACE", default="10/10")
BID_PACE = None if _bid_pace == "off" else tuple(int(part) for part in _bid_pace.split("/"))

# The market.
MARKET_CURRENCY = env("MARKET_CURRENCY", default="USD")
# The demo market's flash auctions and art credit (market.seeding); on in local settings.
DEMO_MARKET = False
SECTION_CACHE_SECONDS = 5
MINIMAP_RADIUS = 3
# The live crowd (analytics.crowd): a grid view counts its visitor in that section for
# this long; the heat-map frame goes out every HEATMAP_SECONDS when it changed.
CROWD_SECONDS = 30
HEATMAP_SECONDS = 2.0
# Raw analytics events are dropped this long after they occurred, once rolled up.
ANALYTICS_RETENTION_DAYS = env.int("ANALYTICS_RETENTION_DAYS", default=35)
VISITOR_COOKIE = "bazaar_visitor"
# Past this many failed log-ins in an hour, an account takes one try every
# LOGIN_SLOWED_TRY_SECONDS from browsers it does not know (accounts.login_services),
# which keeps guesses at the ceiling; browsers it was logged in from carry this cookie.
LOGIN_ACCOUNT_FAILURES_PER_HOUR = 100
LOGIN_SLOWED_TRY_SECONDS = 3600 // LOGIN_ACCOUNT_FAILURES_PER_HOUR
KNOWN_DEVICE_COOKIE = "bazaar_known_device"
PHOTO_MAX_UPLOAD_BYTES = 5 * 1024 * 1024
PHOTO_MAX_PIXELS = 40_000_000
PHOTO_SIZE = 1200
PHOTO_THUMB_SIZE = 360
PHOTOS_PER_ITEM = 6
PHOTOS_PER_STALL = 6
# Items on sale in one stall (archived ones aside): with the photos per item, this
# bounds what one seller stores (docs/security.md, V12.1.3).
ITEMS_PER_STALL = env.int("ITEMS_PER_STALL", default=500)
# Photos each side of a dispute may add as evidence.
DISPUTE_PHOTOS_MAX = 4
# Steward elections (stewards.elections): how long a seller must have sold to stand.
STEWARD_MIN_SELLING_DAYS = env.int("STEWARD_MIN_SELLING_DAYS", default=30)

# Payments. The local test gateway by default (clearly marked test mode); setting
# STRIPE_SECRET_KEY switches to Stripe. The API version is pinned to the one the
# pinned stripe-python was generated for.
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", default="")
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", default="")
# Connect events (account.updated) come to the same URL from a second endpoint.
STRIPE_CONNECT_WEBHOOK_SECRET = env("STRIPE_CONNECT_WEBHOOK_SECRET", default="")
STRIPE_API_VERSION = env("STRIPE_API_VERSION", default="2026-10-28.endive")
STRIPE_API_BASE = env("STRIPE_API_BASE", default="")
PAYMENT_GATEWAY = env("PAYMENT_GATEWAY", default="stripe" if STRIPE_SECRET_KEY else "test")
# A staging site: production settings may then take play money (the test gateway or a
# Stripe test key), and every page says "Test mode: no real money" (orders.payments.checks).
BAZAAR_STAGING = env.bool("BAZAAR_STAGING", default=False)
PLATFORM_FEE_PERCENT = env("PLATFORM_FEE_PERCENT", default="5")
# Links in emails sent from background work, where there is no request to ask. By
# default where `make run` serves (HOST and PORT); a wildcard bind is reached locally.
_served_host = env("HOST", default="127.0.0.1")
if _served_host in ("0.0.0.0", "::", ""):  # noqa: S104 - a bind address, compared
    _served_host = "127.0.0.1"
elif ":" in _served_host:
    _served_host = f"[{_served_host}]"
SITE_URL = env("SITE_URL", default=f"http://{_served_host}:{env('PORT', default='8000')}")
CHECKOUT_MINUTES = 30
SHIP_WITHIN_DAYS = 5
ESCROW_RELEASE_DAYS = 10

# Servers refuse to start while `check --deploy` reports an error (bazaar.deploy).
DEPLOY_CHECKS_AT_START = False

# Plain lines here, JSON lines with request ids in production (bazaar.logs). Celery's
# worker keeps this configuration instead of installing its own.
LOG_FORMAT = env("LOG_FORMAT", default="plain")
LOGGING = logging_config(LOG_FORMAT, env("LOG_LEVEL", default="INFO"))
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Errors to Sentry when SENTRY_DSN is set (no personal data is sent).
SENTRY_DSN = env("SENTRY_DSN", default="")
if SENTRY_DSN:
    sentry_init(
        SENTRY_DSN,
        environment=env("SENTRY_ENVIRONMENT", default="production"),
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
    )

CELERY_BEAT_SCHEDULE = {
    "stewards-end-terms": {"task": "stewards.tasks.end_steward_terms", "schedule": 3600.0},
    "orders-remind-disputes": {"task": "orders.tasks.remind_disputes", "schedule": 900.0},
    "release-expired-reservations": {
        "task": "stalls.tasks.release_expired_reservations",
        "schedule": 60.0,
    },
    "expire-offers": {"task": "offers.tasks.expire_offers", "schedule": 60.0},
    "offers-sync-pending-ladders": {
        "task": "offers.tasks.sync_pending_ladders",
        "schedule": 60.0,
    },
    "offers-warn-expiring": {"task": "offers.tasks.warn_expiring_offers", "schedule": 300.0},
    "orders-expire-checkouts": {"task": "orders.tasks.expire_checkouts", "schedule": 60.0},
    "orders-release-escrow": {"task": "orders.tasks.release_escrow", "schedule": 3600.0},
    "orders-send-money": {"task": "orders.tasks.send_money", "schedule": 300.0},
    # Closes auctions whose end passed; a sweep not started within a second is dropped
    # (the next one does its work), so a busy worker never builds a backlog of them.
    # (`expire_seconds` is django-celery-beat's name for the task's `expires`.)
    "auctions-sweep": {
        "task": "auctions.tasks.sweep_auctions",
        "schedule": 1.0,
        "options": {"expire_seconds": 1},
    },
    # Watchers of auctions ending within ten minutes (each told once per auction).
    "watchlist-auctions-ending": {"task": "watchlist.tasks.tell_auctions_ending", "schedule": 60.0},
    # Analytics (issue 17): buffered events written in bulk, the live heat-map frame,
    # the roll-ups and retention. The frequent ones expire like the auction sweep.
    "analytics-flush": {
        "task": "analytics.tasks.flush_events",
        "schedule": 2.0,
        "options": {"expire_seconds": 2},
    },
    "market-heatmap": {
        "task": "market.tasks.push_heatmap",
        "schedule": HEATMAP_SECONDS,
        "options": {"expire_seconds": 2},
    },
    "analytics-rollup-sections": {
        "task": "analytics.tasks.rollup_section_activity",
        "schedule": 30.0,
    },
    "analytics-rollup-daily": {"task": "analytics.tasks.rollup_daily", "schedule": 300.0},
    "analytics-prune": {"task": "analytics.tasks.prune_events", "schedule": 3600.0},
    "accounts-expire-sign-in-records": {
        "task": "accounts.tasks.expire_sign_in_records",
        "schedule": 86400.0,
    },
    "stalls-expire-chat": {"task": "stalls.tasks.expire_chat", "schedule": 86400.0},
}

# Live shows (the shows app): LiveKit when LIVEKIT_URL is set, otherwise Janus when
# Debian's `janus` is installed (`make run` starts it), otherwise no video.
LIVEKIT_URL = env("LIVEKIT_URL", default="")
LIVEKIT_API_URL = env("LIVEKIT_API_URL", default="")  # the room service, if not LIVEKIT_URL
LIVEKIT_API_KEY = env("LIVEKIT_API_KEY", default="")
LIVEKIT_API_SECRET = env("LIVEKIT_API_SECRET", default="")
JANUS_BINARY = env("JANUS_BINARY", default="janus")
JANUS_HTTP_PORT = env.int("JANUS_HTTP_PORT", default=8088)
JANUS_HTTP_INTERFACE = env("JANUS_HTTP_INTERFACE", default="")
JANUS_API_URL = env("JANUS_API_URL", default=f"http://127.0.0.1:{JANUS_HTTP_PORT}/janus")
JANUS_PUBLIC_URL = env("JANUS_PUBLIC_URL", default=f"http://{_served_host}:{JANUS_HTTP_PORT}/janus")
JANUS_TOKEN_SECRET = env("JANUS_TOKEN_SECRET", default="")
JANUS_CONFIG_DIR = env("JANUS_CONFIG_DIR", default=str(VAR_DIR / "janus"))
JANUS_ICE_ENFORCE_LIST = env("JANUS_ICE_ENFORCE_LIST", default="")
# TLS on Janus's API (deploy/compose.yaml, deploy/internal_tls.py): its certificate and
# key, and the CA the web processes verify it against.
JANUS_TLS_CERT = env("JANUS_TLS_CERT", default="")
JANUS_TLS_KEY = env("JANUS_TLS_KEY", default="")
JANUS_API_CA = env("JANUS_API_CA", default="")
SHOWS_MEDIA = env(
    "SHOWS_MEDIA",
    default="livekit" if LIVEKIT_URL else ("janus" if shutil.which(JANUS_BINARY) else ""),
)
# The seller's page beats every SHOW_HEARTBEAT_SECONDS; a show unheard for
# SHOW_TIMEOUT_SECONDS ended with the seller's tab or connection.
SHOW_HEARTBEAT_SECONDS = 10
SHOW_TIMEOUT_SECONDS = 30
CELERY_BEAT_SCHEDULE["shows-end-lost"] = {"task": "shows.tasks.shows_end_lost", "schedule": 5.0}
CELERY_BEAT_SCHEDULE["giveaways-close-due"] = {
    "task": "giveaways.tasks.close_due_giveaways",
    "schedule": 60.0,
}
