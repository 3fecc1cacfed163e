from django.core.management.base import BaseCommand

from orders.escrow.services import orders_release_due
from orders.payments.services import money_moves_send_due


class Command(BaseCommand):
    help = (
        "Release orders shipped more than ESCROW_RELEASE_DAYS ago without a dispute, and "
        "send refunds and payouts still waiting. Safe to run while the hourly job runs."
    )

    def handle(self, *args, **options):
        released = orders_release_due()
        sent = money_moves_send_due()
        self.stdout.write(
            self.style.SUCCESS(f"Released {released} order(s); sent {sent} refund(s)/payout(s).")
        )
