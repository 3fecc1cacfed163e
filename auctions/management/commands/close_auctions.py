"""`manage.py close_auctions`: run the auction sweep now (what beat runs every second),
once or, with --every, in a loop until interrupted."""

import time

from django.core.management.base import BaseCommand

from auctions.services.closing import auctions_sweep


class Command(BaseCommand):
    help = "Open, close and charge the auctions that are due (the beat's sweep, on demand)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--every", type=float, default=0, help="repeat every this many seconds until Ctrl-C"
        )

    def handle(self, *args, every: float, **options):
        while True:
            done = auctions_sweep()
            self.stdout.write(", ".join(f"{name}: {count}" for name, count in done.items()))
            if not every:
                return
            time.sleep(every)
