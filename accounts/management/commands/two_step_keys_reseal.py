from django.core.management.base import BaseCommand

from accounts.second_factor_services import authenticator_secrets_reseal


class Command(BaseCommand):
    help = (
        "Seal every authenticator app's secret under the current DJANGO_SECRET_KEY. Run "
        "it after a rotation, before the old key leaves DJANGO_SECRET_KEY_FALLBACKS: "
        "secrets still sealed under a key no longer set stop working."
    )

    def handle(self, *args, **options):
        resealed = authenticator_secrets_reseal()
        self.stdout.write(
            self.style.SUCCESS(f"{resealed} authenticator secret(s) sealed under the current key.")
        )
