from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from governance.models import Role
from governance.services import role_grant, role_revoke


class Command(BaseCommand):
    help = "Give a user (by handle) the steward or ops role, or --revoke it."

    def add_arguments(self, parser):
        parser.add_argument("handle")
        parser.add_argument("role", choices=Role.values)
        parser.add_argument("--revoke", action="store_true")

    def handle(self, *args, handle, role, revoke, **options):
        user = User.objects.filter(handle__iexact=handle).first()
        if user is None:
            raise CommandError(f"No user has the handle {handle!r}.")
        if revoke:
            role_revoke(user=user, role=Role(role))
            self.stdout.write(self.style.SUCCESS(f"{user.handle} is no longer {role}."))
        else:
            role_grant(user=user, role=Role(role))
            self.stdout.write(self.style.SUCCESS(f"{user.handle} is now {role}."))
