"""Fill the analytics stream with a realistic month over the market's sections,
stalls and items (for `bench/analytics.py` and for trying the dashboards)."""

from collections import defaultdict

from django.core.management.base import BaseCommand, CommandError

from analytics.seeding import Catalogue, events_seed
from market.models import Section
from stalls.models import Item, Stall


class Command(BaseCommand):
    help = "Write N generated analytics events over the last --days days."

    def add_arguments(self, parser):
        parser.add_argument("--events", type=int, default=100_000)
        parser.add_argument("--days", type=int, default=30)

    def handle(self, *args, events: int, days: int, **options):
        if events < 1 or days < 1:
            raise CommandError("--events and --days must be at least 1.")
        items = defaultdict(list)
        for stall_id, item_id in Item.objects.values_list("stall_id", "pk"):
            items[stall_id].append(item_id)
        stalls = [
            (pk, section, items[pk])
            for pk, section in Stall.objects.values_list("pk", "section_id")
        ]
        if not stalls:
            raise CommandError("The market has no stalls yet: run `manage.py seed_market` first.")
        catalogue = Catalogue(
            sections=list(Section.objects.values_list("pk", flat=True)), stalls=stalls
        )
        written = events_seed(events=events, catalogue=catalogue, days=days)
        self.stdout.write(
            f"Wrote {written} events over {days} days; now run `manage.py analytics_rollup`."
        )
