import time

from django.core.management.base import BaseCommand, CommandError

from market.seeding import DEMO_LOGINS, DEMO_PASSWORD, seed_market


class Command(BaseCommand):
    help = "Lay out a demo market: N x N sections from 0/0, stalls with items and photos."

    def add_arguments(self, parser):
        parser.add_argument("--sections", type=int, default=10, help="N for an N x N block")
        parser.add_argument("--stalls", type=int, default=7, help="stalls per section (0-9)")
        parser.add_argument("--if-empty", action="store_true", help="do nothing if sections exist")

    def handle(self, *args, sections, stalls, if_empty, **options):
        if not 1 <= sections <= 200:
            raise CommandError("--sections must be between 1 and 200.")
        if not 0 <= stalls <= 9:
            raise CommandError("--stalls must be between 0 and 9: a section has nine slots.")
        from market.models import Section

        if if_empty and Section.objects.exists():
            self.stdout.write("The market already has sections; not seeding.")
            return
        started = time.monotonic()
        report = seed_market(sections=sections, stalls=stalls)
        self.stdout.write(
            self.style.SUCCESS(
                f"Market has {report.sections_total} sections; made {report.sections_created} "
                f"sections and {report.stalls_created} stalls in {time.monotonic() - started:.1f}s."
            )
        )
        self.stdout.write(f"Demo logins (password {DEMO_PASSWORD!r}):")
        for handle, who in DEMO_LOGINS.items():
            self.stdout.write(f"  {handle:<14} {who}")
