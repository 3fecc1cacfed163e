import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from market.seeding import DEMO_LOGINS, DEMO_PASSWORD, demo_auctions_keep, seed_market


class Command(BaseCommand):
    help = "Lay out a demo market: N x N sections from 0/0, stalls with items and photos."

    def add_arguments(self, parser):
        parser.add_argument("--sections", type=int, default=10, help="N for an N x N block")
        parser.add_argument("--stalls", type=int, default=7, help="stalls per section (0-9)")
        parser.add_argument(
            "--items-per-stall", type=int, default=3, help="items on each new stall (1-40)"
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="if sections exist, only start the demo auctions that are missing",
        )
        parser.add_argument(
            "--throwaway",
            action="store_true",
            help="seed under production settings: a throwaway copy, such as a security scan's",
        )

    def handle(self, *args, sections, stalls, items_per_stall, if_empty, throwaway, **options):
        if not (settings.DEMO_DATA_ALLOWED or throwaway):
            raise CommandError(
                "Refused: these are production settings, and the demo market's accounts "
                f"(a steward's among them) share the published password {DEMO_PASSWORD!r}. "
                "Pass --throwaway only for a database that is thrown away after use."
            )
        if not 1 <= sections <= 200:
            raise CommandError("--sections must be between 1 and 200.")
        if not 0 <= stalls <= 9:
            raise CommandError("--stalls must be between 0 and 9: a section has nine slots.")
        if not 1 <= items_per_stall <= 40:
            raise CommandError("--items-per-stall must be between 1 and 40.")
        from market.models import Section

        if if_empty and Section.objects.exists():
            started = demo_auctions_keep()
            self.stdout.write(
                f"The market already has sections; not seeding. "
                f"Started {len(started)} demo auction{'s' if len(started) != 1 else ''}."
            )
            return
        started = time.monotonic()
        report = seed_market(sections=sections, stalls=stalls, items_per_stall=items_per_stall)
        self.stdout.write(
            self.style.SUCCESS(
                f"Market has {report.sections_total} sections; made {report.sections_created} "
                f"sections and {report.stalls_created} stalls, started "
                f"{report.auctions_started} demo auctions, "
                f"in {time.monotonic() - started:.1f}s."
            )
        )
        self.stdout.write(f"Demo logins (password {DEMO_PASSWORD!r}):")
        for handle, who in DEMO_LOGINS.items():
            self.stdout.write(f"  {handle:<14} {who}")
