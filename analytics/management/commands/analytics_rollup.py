"""Bring the roll-ups up to date, or rebuild them from a given time (a backfill)."""

from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError

from analytics.recording import events_flush
from analytics.rollups import rollups_run


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise CommandError(
            f"--since takes a date or time like 2026-11-01 or 2026-11-01T12:00: {error}"
        ) from error
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Command(BaseCommand):
    help = "Roll up analytics events; --since re-reads everything recorded from then on."

    def add_arguments(self, parser):
        parser.add_argument("--since", type=_moment, help="ISO date or time (UTC unless it says)")

    def handle(self, *args, since=None, **options):
        flushed = events_flush()
        written = rollups_run(since=since)
        rows = ", ".join(f"{name}: {count} rows" for name, count in written.items())
        self.stdout.write(f"Flushed {flushed} buffered events; {rows}.")
