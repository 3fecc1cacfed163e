from django.core.management.base import BaseCommand, CommandError

from stalls.models import SellerProfile
from stalls.services import seller_kyc_decide


class Command(BaseCommand):
    help = "Approve (or --reject) a seller's KYC, by handle."

    def add_arguments(self, parser):
        parser.add_argument("handle")
        parser.add_argument("--reject", action="store_true")

    def handle(self, *args, handle, reject, **options):
        seller = SellerProfile.objects.filter(user__handle__iexact=handle).first()
        if seller is None:
            raise CommandError(f"No seller has the handle {handle!r}.")
        seller = seller_kyc_decide(seller=seller, approved=not reject)
        self.stdout.write(self.style.SUCCESS(f"{handle}: KYC {seller.get_kyc_status_display()}."))
