import math
import os

from django.conf import settings
from django.core.management.base import BaseCommand
from django.urls import reverse
from django.utils import timezone

from bazaar.jobs import embedded
from market.seeding import DEMO_LOGINS, DEMO_PASSWORD, demo_auctions_running


class Command(BaseCommand):
    help = "Print where the market is served and the demo logins (used by `make run`)."

    def handle(self, *args, **options):
        host, port = os.environ.get("HOST", "127.0.0.1"), os.environ.get("PORT", "8000")
        site = f"http://{host}:{port}"
        database = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
        layer = "Redis" if settings.REDIS_URL else "in-memory (one server process)"
        self.stdout.write(self.style.SUCCESS(f"\n  Mesh Bazaar: {site}/market/0/0/"))
        jobs = "in the web process (no broker)" if embedded() else "Celery workers"
        self.stdout.write(f"  database {database}, channel layer {layer}, background work {jobs}")
        self.stdout.write(f"  demo logins, password {DEMO_PASSWORD!r}:")
        for handle, who in DEMO_LOGINS.items():
            self.stdout.write(f"    {handle:<14} {who}")
        self._auctions(site)
        self.stdout.write(f"  admin: {site}/admin/ (demo_steward or demo_ops)\n")

    def _auctions(self, site: str) -> None:
        """Where the flash auctions are: nothing else tells a newcomer."""
        running = demo_auctions_running()
        if not running:
            return
        self.stdout.write(
            "  flash auctions running now (bid as demo_buyer; more start as these end):"
        )
        now = timezone.now()
        for auction in running:
            minutes = math.ceil((auction.ends_at - now).total_seconds() / 60)
            url = site + reverse("auctions:detail", args=[auction.public_id])
            self.stdout.write(f"    {url}  {auction.item.title}, ends in {minutes} min")
