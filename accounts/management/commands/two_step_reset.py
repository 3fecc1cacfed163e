import logging

from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from accounts.second_factor_services import second_factor_reset

log = logging.getLogger("accounts")


class Command(BaseCommand):
    help = (
        "Reset a person's two-step verification (a lost phone and no recovery codes): "
        "their app and recovery codes stop working, and their next visit to the admin "
        "sets up a new app. Check who is asking before you run it."
    )

    def add_arguments(self, parser):
        parser.add_argument("handle", help="Their handle, without the @.")

    def handle(self, *args, handle, **options):
        user = User.objects.filter(handle__iexact=handle.lstrip("@")).first()
        if user is None:
            raise CommandError(f"No account has the handle @{handle.lstrip('@')}.")
        removed = second_factor_reset(user=user)
        log.info("two-step verification reset for %s (%d devices)", user.public_id, removed)
        if not removed:
            self.stdout.write(f"@{user.handle} had no two-step verification set up.")
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"@{user.handle}'s two-step verification is reset: they set it up again "
                "at their next visit to the admin."
            )
        )
