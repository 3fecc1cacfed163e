"""The embedded market a developer runs with `make run`."""

from django.core.management.utils import get_random_secret_key

from .base import *  # noqa: F403
from .base import CELERY_BEAT_SCHEDULE, VAR_DIR, env


def _local_secret_key() -> str:
    """A key made once per checkout and kept in var/, so sessions survive restarts."""
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(get_random_secret_key())
    return path.read_text().strip()


SECRET_KEY = env("DJANGO_SECRET_KEY", default="") or _local_secret_key()
DEBUG = env.bool("DJANGO_DEBUG", default=True)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])

# The demo market: beat keeps a few flash auctions running near 0/0 (market.seeding).
# Only here, in the embedded market `make run` serves; BAZAAR_DEMO_MARKET=0 turns it off.
DEMO_MARKET = env.bool("BAZAAR_DEMO_MARKET", default=True)
if DEMO_MARKET:
    CELERY_BEAT_SCHEDULE = {
        **CELERY_BEAT_SCHEDULE,
        "market-demo-auctions": {"task": "market.tasks.keep_demo_auctions", "schedule": 30.0},
    }
