from django.core.management.base import BaseCommand, CommandError

from bazaar.errors import DomainError
from stewards.elections import election_approve


class Command(BaseCommand):
    help = "Approve a closed steward election (by its public id): its winner becomes a steward."

    def add_arguments(self, parser):
        parser.add_argument("election", help="The election's public id (its address).")

    def handle(self, *args, election, **options):
        try:
            term = election_approve(actor=None, election_public_id=election)
        except DomainError as error:
            raise CommandError(error.message) from error
        self.stdout.write(
            self.style.SUCCESS(f"@{term.user.handle} is a steward until {term.ends_at:%d %b %Y}.")
        )
