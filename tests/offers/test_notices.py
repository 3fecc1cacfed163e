"""What offers put in people's notifications: the party who must answer next."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from bazaar.ids import new_ulid
from notifications.models import Notice
from offers.models import Offer
from offers.services import (
    auto_prices_set,
    offer_accept,
    offer_counter,
    offer_decline,
    offers_warn_expiring,
)
from offers.tasks import warn_expiring_offers
from tests.offers.conftest import offered

pytestmark = pytest.mark.django_db


def notices(user) -> list[tuple[str, str]]:
    return list(Notice.objects.filter(recipient=user).order_by("pk").values_list("kind", "title"))


def test_each_move_tells_the_other_party(buyer, seller, item, on_commit):
    offer = on_commit(offered, buyer, item, 2000, message="Would you take twenty?")
    assert notices(seller) == [("offer_received", "@brassbuyer offers $20.00 for “Brass lamp”")]
    assert Notice.objects.get(recipient=seller).body == "Would you take twenty?"
    assert Notice.objects.get(recipient=seller).url == "/dashboard/stall/#seller-offers"
    assert notices(buyer) == []

    counter = on_commit(
        offer_counter,
        actor=seller,
        offer=offer,
        amount_cents=2300,
        message="",
        idempotency_key=new_ulid(),
    )
    assert notices(buyer) == [
        ("offer_countered", "The seller countered with $23.00 for “Brass lamp”")
    ]
    again = on_commit(
        offer_counter,
        actor=buyer,
        offer=counter,
        amount_cents=2100,
        message="",
        idempotency_key=new_ulid(),
    )
    assert notices(seller)[-1] == (
        "offer_countered",
        "@brassbuyer countered with $21.00 for “Brass lamp”",
    )
    on_commit(offer_accept, actor=seller, offer=again, idempotency_key=new_ulid())
    assert notices(buyer)[-1] == (
        "offer_accepted",
        "Your offer of $21.00 for “Brass lamp” was accepted",
    )
    assert Notice.objects.filter(recipient=buyer).last().url == "/offers/"
    assert len(notices(buyer)) == 2 and len(notices(seller)) == 2
    assert len(mail.outbox) == 4  # offers are emailed by default


def test_the_seller_hears_what_their_auto_price_accepted_and_a_decline_tells_nobody(
    buyer, seller, stall, make_item, make_user, on_commit
):
    item = make_item(stall, title="Brass lamp", price_cents=2500, inventory=2)
    auto_prices_set(actor=seller, item=item, accept_cents=2200, decline_cents=1000)
    on_commit(offered, buyer, item, 2200)
    assert notices(seller) == [
        ("offer_accepted", "Your auto price accepted $22.00 for “Brass lamp”")
    ]
    assert notices(buyer) == []

    other = make_user("other")
    on_commit(offered, other, item, 500)  # auto-declined
    assert len(notices(seller)) == 1 and notices(other) == []


def test_a_decline_tells_nobody(buyer, seller, item, on_commit):
    offer = on_commit(offered, buyer, item, 2000)
    on_commit(offer_decline, actor=seller, offer=offer, idempotency_key=new_ulid())
    assert notices(buyer) == []


def test_whoever_must_act_is_warned_once_within_the_hour(buyer, seller, item, on_commit):
    now = timezone.now()
    pending = on_commit(offered, buyer, item, 2000)
    Notice.objects.all().delete()
    assert on_commit(offers_warn_expiring, now=now) == 0  # 48 hours left

    later = pending.expires_at - timedelta(minutes=50)
    assert on_commit(offers_warn_expiring, now=later) == 1
    assert on_commit(offers_warn_expiring, now=later + timedelta(minutes=5)) == 0
    assert notices(seller) == [
        ("offer_expiring", "The offer of $20.00 for “Brass lamp” expires within the hour")
    ]

    accepted = on_commit(offer_accept, actor=seller, offer=pending, idempotency_key=new_ulid())
    Notice.objects.filter(recipient=buyer).delete()
    soon = Offer.objects.get(pk=accepted.pk).expires_at - timedelta(minutes=30)
    assert on_commit(offers_warn_expiring, now=soon) == 1
    assert notices(buyer) == [
        ("offer_expiring", "Buy “Brass lamp” at your accepted $20.00 within the hour")
    ]


def test_the_beat_task_runs_the_sweep(buyer, item, on_commit):
    offer = on_commit(offered, buyer, item, 2000)
    Offer.objects.filter(pk=offer.pk).update(expires_at=timezone.now() + timedelta(minutes=20))
    assert on_commit(warn_expiring_offers) == 1
