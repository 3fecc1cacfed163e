"""What orders put in people's notifications: in the app only, since orders' own
emails already carry each of these changes (nobody gets two emails)."""

import pytest
from django.core import mail

from notifications.models import Notice
from orders.escrow.services import order_confirm_received
from tests.orders.conftest import pay, start_checkout
from tests.orders.test_escrow import seller_of, ship

pytestmark = pytest.mark.django_db


def notices(user) -> list[tuple[str, str]]:
    return list(Notice.objects.filter(recipient=user).order_by("pk").values_list("kind", "title"))


def test_paid_shipped_received_each_tell_the_other_side_once(buyer, lamp, on_commit):
    payment = start_checkout(buyer, lamp)
    on_commit(pay, payment)
    order = payment.orders.get()
    seller = seller_of(order)
    assert notices(seller) == [("order_paid", "@buyer paid $25.00: an order to ship")]
    assert Notice.objects.get(recipient=seller).url == f"/orders/{order.public_id}/"
    assert notices(buyer) == []
    mails = len(mail.outbox)

    ship(order, on_commit)
    ship(order, on_commit)  # a retried request notifies no one again
    assert notices(buyer) == [("order_shipped", "seller's stall shipped your order")]
    assert Notice.objects.get(recipient=buyer).body == "UPS, tracking number 1Z999."

    on_commit(order_confirm_received, actor=buyer, order=order, idempotency_key="c" * 20)
    assert notices(seller)[-1] == ("order_delivered", "@buyer received their order")
    # Only orders' own emails went out: shipped to the buyer, received and released
    # to the seller; none from the notices.
    assert len(mail.outbox) - mails == 3
    assert not Notice.objects.exclude(emailed_at=None).exists()
