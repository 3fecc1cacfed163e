import os

from django.conf import settings
from django.core.management.base import BaseCommand

from market.seeding import DEMO_LOGINS, DEMO_PASSWORD


class Command(BaseCommand):
    help = "Print where the market is served and the demo logins (used by `make run`)."

    def handle(self, *args, **options):
        host, port = os.environ.get("HOST", "127.0.0.1"), os.environ.get("PORT", "8000")
        database = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
        layer = "Redis" if settings.REDIS_URL else "in-memory (one server process)"
        self.stdout.write(self.style.SUCCESS(f"\n  Mesh Bazaar: http://{host}:{port}/market/0/0/"))
        broker = settings.CELERY_BROKER_URL.split(":")[0]
        self.stdout.write(f"  database {database}, channel layer {layer}, broker {broker}")
        self.stdout.write(f"  demo logins, password {DEMO_PASSWORD!r}:")
        for handle, who in DEMO_LOGINS.items():
            self.stdout.write(f"    {handle:<14} {who}")
        self.stdout.write(f"  admin: http://{host}:{port}/admin/ (demo_steward or demo_ops)\n")
