"""Disputes end to end, through the pages: the buyer opens one, the seller answers, a
steward refunds part through the test gateway; the timeline, the paused countdown, the
stewards' record, the queue and the reminders."""

import re
import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp

from accounts.selectors import SECOND_STEP_PASSED_AT, SECOND_STEP_USED_AT
from bazaar.errors import Conflict, NotFound
from governance.models import StewardAction
from notifications.models import Kind, Notice
from orders.escrow.disputes import disputes_remind, order_dispute_answer
from orders.escrow.services import order_dispute_open, order_ship, orders_release_due
from orders.models import MoneyMove, Order
from orders.payments.test_gateway import TestGateway
from tests.orders.conftest import connect_payouts, pay, start_checkout
from tests.second_step import second_step_device

pytestmark = pytest.mark.django_db


@pytest.fixture
def shipped(buyer, lamp, on_commit):
    payment = start_checkout(buyer, lamp)
    on_commit(pay, payment)
    order = payment.orders.get()
    seller = order.stall.seller.user
    connect_payouts(seller)
    on_commit(order_ship, actor=seller, order=order, carrier="Post", tracking_number="T1")
    Order.objects.filter(pk=order.pk).update(shipped_at=timezone.now() - timedelta(days=3))
    order.refresh_from_db()
    return order


def _key():
    from bazaar.ids import new_ulid

    return new_ulid()


def test_dispute_to_partial_refund_through_the_pages(
    client, shipped, buyer, steward, django_capture_on_commit_callbacks
):
    order, seller = shipped, shipped.stall.seller.user
    page = reverse("orders:detail", args=[order.public_id])

    client.force_login(buyer)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("orders:dispute", args=[order.public_id]),
            {"reason": "The shade is cracked.", "idempotency_key": _key()},
        )
    body = client.get(page).content.decode()
    # Shipped 3 days ago with 10 days of escrow: about 7 days were left when it stopped.
    assert re.search(
        r"Escrow countdown paused</strong>[^<]*with (6\xa0days, 23\xa0hours|7\xa0days) left", body
    )
    assert "The seller answers by" in body
    Order.objects.filter(pk=order.pk).update(shipped_at=timezone.now() - timedelta(days=30))
    assert orders_release_due() == 0  # the clock does not run while disputed

    client.force_login(seller)
    body = client.get(page).content.decode()
    assert "Send my answer" in body
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("orders:dispute_answer", args=[order.public_id]),
            {"answer": "It left here whole; the carrier dropped it.", "idempotency_key": _key()},
        )
    assert Notice.objects.filter(recipient=buyer, kind=Kind.DISPUTE).exists()

    client.force_login(steward)
    queue = client.get(reverse("stewards:queue") + "?kind=dispute").content.decode()
    assert "The shade is cracked." in queue and "the carrier dropped it" in queue
    admin_url = reverse("admin:orders_order_changelist")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            admin_url,
            {
                "action": "settle_refund_part",
                "_selected_action": [order.pk],
                "apply": "1",
                "refund": "10.00",
                "reason": "Both sides in part: the carrier's insurance covers the rest.",
            },
            follow=True,
        )
    assert "Settled 1 dispute(s)." in response.content.decode()

    order.refresh_from_db()
    assert order.status == Order.Status.PARTLY_REFUNDED and order.refunded_cents == 1000
    refund = MoneyMove.objects.get(order=order, kind="refund")
    assert refund.status == "done"
    assert TestGateway().get(refund.gateway_id, "refund")["amount"] == 1000
    record = StewardAction.objects.get(action="dispute_decide")
    assert record.actor == steward and record.detail["refund_cents"] == 1000

    client.force_login(buyer)
    timeline = client.get(page).content.decode()
    for step in (
        "Disputed",
        "The seller answered: It left here whole",
        "The steward: Both sides in part",
        "Partly refunded",
    ):
        assert step in timeline, step
    assert "Escrow countdown paused" not in timeline


def test_the_seller_answers_once_and_only_the_seller(shipped, buyer, on_commit):
    order = shipped
    on_commit(order_dispute_open, actor=buyer, order=order, reason="Broken")
    with pytest.raises(NotFound):
        order_dispute_answer(actor=buyer, order=order, answer="Me too")
    order_dispute_answer(actor=order.stall.seller.user, order=order, answer="Not so")
    with pytest.raises(Conflict, match="answered already"):
        order_dispute_answer(actor=order.stall.seller.user, order=order, answer="Again")


def test_reminders_before_each_deadline_once_and_overdue_first(
    shipped, buyer, steward, on_commit, make_stall, make_item
):
    order = shipped
    on_commit(order_dispute_open, actor=buyer, order=order, reason="Broken")
    assert on_commit(disputes_remind) == 0
    Order.objects.filter(pk=order.pk).update(disputed_at=timezone.now() - timedelta(hours=61))
    assert on_commit(disputes_remind) == 1
    assert on_commit(disputes_remind) == 1  # asked again: the dedupe key makes it a no-op
    seller_notices = Notice.objects.filter(recipient=order.stall.seller.user, kind=Kind.DISPUTE)
    assert seller_notices.count() == 1
    assert "Answer the dispute" in seller_notices.get().title
    # The seller never answered: the steward's 48 hours ran from the 72 hours' end.
    Order.objects.filter(pk=order.pk).update(disputed_at=timezone.now() - timedelta(hours=121))
    on_commit(disputes_remind)
    told = Notice.objects.get(recipient=steward, kind=Kind.DISPUTE)
    assert "is overdue" in told.title

    from stewards.queue import queue_entries

    _, entries = queue_entries(kind="dispute")
    assert entries[0].overdue and entries[0].ref == order.public_id


@pytest.mark.parametrize(
    "who, status",
    [("anonymous", 302), ("buyer", 404), ("stranger", 404), ("steward", 404), ("seller", 302)],
)
def test_authorization_matrix_for_the_dispute_answer(
    client, shipped, buyer, steward, make_user, on_commit, who, status
):
    """Only the order's seller answers; to anyone else the order does not exist."""
    on_commit(order_dispute_open, actor=buyer, order=shipped, reason="Broken")
    people = {
        "buyer": buyer,
        "stranger": make_user("stranger"),
        "steward": steward,
        "seller": shipped.stall.seller.user,
    }
    if who != "anonymous":
        client.force_login(people[who])
    response = client.post(
        reverse("orders:dispute_answer", args=[shipped.public_id]),
        {"answer": "Not so", "idempotency_key": _key()},
    )
    assert response.status_code == status
    shipped.refresh_from_db()
    assert (shipped.dispute_answer == "Not so") == (who == "seller")


def test_an_admin_settlement_asks_why_and_refuses_without_a_reason_in_place(
    client, shipped, buyer, steward, on_commit
):
    """Full refund and release ask for the reason on a page of their own (as a partial
    refund does); without one the page says so beside the field and nothing moves."""
    on_commit(order_dispute_open, actor=buyer, order=shipped, reason="Never arrived.")
    client.force_login(steward)
    change = client.get(reverse("admin:orders_order_change", args=[shipped.pk])).content.decode()
    assert reverse("orders:detail", args=[shipped.public_id]) in change  # the evidence
    changelist = reverse("admin:orders_order_changelist")
    form = {"action": "settle_refund_full", "_selected_action": [shipped.pk]}
    asked = client.post(changelist, form).content.decode()
    assert "Refund the buyer in full" in asked and "Never arrived." in asked
    refused = client.post(changelist, {**form, "apply": "1", "reason": "  "})
    assert refused.status_code == 400
    body = refused.content.decode()
    assert "Say why you decided so: buyer and seller read it." in body
    assert (
        'aria-invalid="true"' in body
        and 'aria-describedby="id_reason_helptext id_reason_error"' in body
    )
    shipped.refresh_from_db()
    assert (
        shipped.status == Order.Status.DISPUTED
        and not StewardAction.objects.filter(action="dispute_decide").exists()
    )

    reason = "The tracking shows it was never handed over."
    on_commit(client.post, changelist, {**form, "apply": "1", "reason": reason})
    shipped.refresh_from_db()
    assert shipped.status == Order.Status.REFUNDED
    assert StewardAction.objects.get(action="dispute_decide").reason == reason
    client.force_login(buyer)
    timeline = client.get(reverse("orders:detail", args=[shipped.public_id])).content.decode()
    assert f"The steward: {reason}" in timeline


def test_a_bulk_settlement_needs_its_reason_which_goes_on_the_timeline(
    client, shipped, buyer, steward, on_commit
):
    on_commit(order_dispute_open, actor=buyer, order=shipped, reason="Wrong colour.")
    client.force_login(steward)
    act = reverse("stewards:queue_act")
    pick = {"action": "dispute_release", "pick": [f"dispute:{shipped.public_id}"]}
    refused = client.post(act, {**pick, "note": ""})
    assert refused.status_code == 400
    assert "Write the note first" in refused.content.decode()
    shipped.refresh_from_db()
    assert shipped.status == Order.Status.DISPUTED

    on_commit(client.post, act, {**pick, "note": "The listing said teal; this is teal."})
    shipped.refresh_from_db()
    assert shipped.status == Order.Status.RELEASED
    record = StewardAction.objects.get(action="dispute_decide")
    assert (record.actor, record.reason) == (steward, "The listing said teal; this is teal.")
    client.force_login(shipped.stall.seller.user)
    timeline = client.get(reverse("orders:detail", args=[shipped.public_id])).content.decode()
    assert "The steward: The listing said teal; this is teal." in timeline


def _code_typed_eleven_minutes_ago(client) -> None:
    """The steward's session passed the second step 11 minutes ago (and used it since)."""
    session = client.session
    session[SECOND_STEP_PASSED_AT] = time.time() - 11 * 60
    session[SECOND_STEP_USED_AT] = time.time()
    session.save()


def _app_code(user, *, steps_ahead: int = 0) -> str:
    device = second_step_device(user)
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, steps_ahead):06d}"


@pytest.mark.parametrize("debug", [False, True])
def test_an_admin_settlement_asks_for_a_fresh_code_when_the_last_is_old(
    client, shipped, buyer, steward, on_commit, settings, debug
):
    """ASVS V4.3.3: money moves after a code typed in the last 10 minutes, whatever the
    session did since; the field says why, a wrong code moves nothing."""
    settings.DEBUG = debug
    on_commit(order_dispute_open, actor=buyer, order=shipped, reason="Never arrived.")
    client.force_login(steward)
    _code_typed_eleven_minutes_ago(client)
    changelist = reverse("admin:orders_order_changelist")
    form = {"action": "settle_refund_full", "_selected_action": [shipped.pk], "apply": "1"}
    reason = {"reason": "Never handed over."}

    asked = client.post(changelist, {**form, **reason})
    assert asked.status_code == 400
    body = asked.content.decode()
    assert "Money moves only after a fresh code" in body and 'name="code"' in body
    wrong = client.post(changelist, {**form, **reason, "code": "000000"})
    assert "That code is not right." in wrong.content.decode()
    shipped.refresh_from_db()
    assert shipped.status == Order.Status.DISPUTED

    second_step_device(steward).throttle_reset()  # a wrong code makes the next wait 1 s
    on_commit(client.post, changelist, {**form, **reason, "code": _app_code(steward)})
    shipped.refresh_from_db()
    assert shipped.status == Order.Status.REFUNDED
    assert 'name="code"' not in client.post(changelist, form).content.decode()  # fresh now


def test_a_bulk_settlement_asks_for_a_fresh_code_and_other_actions_do_not(
    client, shipped, buyer, steward, on_commit
):
    on_commit(order_dispute_open, actor=buyer, order=shipped, reason="Wrong colour.")
    client.force_login(steward)
    _code_typed_eleven_minutes_ago(client)
    queue = client.get(reverse("stewards:queue")).content.decode()
    assert 'name="code"' in queue and "settling disputes moves money" in queue
    act = reverse("stewards:queue_act")
    pick = {"action": "dispute_release", "pick": [f"dispute:{shipped.public_id}"], "note": "Teal."}

    refused = client.post(act, pick)
    assert refused.status_code == 400
    assert "Money moves only after a fresh code" in refused.content.decode()
    shipped.refresh_from_db()
    assert shipped.status == Order.Status.DISPUTED
    # Another kind of action is not held up by the old code.
    other = client.post(act, {"action": "chat_release", "pick": ["chat:nothing"]})
    assert "fresh code" not in other.content.decode()

    on_commit(client.post, act, {**pick, "code": _app_code(steward)})
    shipped.refresh_from_db()
    assert shipped.status == Order.Status.RELEASED
