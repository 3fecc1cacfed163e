"""Offers over the stall socket: everyone's ladder in the document, private frames to
the buyer and the seller only."""

import threading

import pytest
from asgiref.sync import sync_to_async

from bazaar.ids import new_ulid
from offers import ladder
from offers.models import Offer
from offers.services import offer_accept, offer_counter, offer_make
from tests.conftest import cyclic_garbage, frames_of
from tests.stalls.test_room_consumer import Client

KEY = "haggle-key-0123456789"

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


def offers(client) -> list[dict]:
    return client.doc["offers"].to_py()


async def kinds_received(client, quiet: float = 0.3) -> set[str]:
    """Every frame type this client has received and not yet read, once nothing more
    arrives for `quiet` seconds."""
    while not await client.socket.receive_nothing(timeout=quiet):
        client.pending.extend(await client.read())
    return {kind for kind, _ in client.pending}


async def test_offers_reach_every_ladder_and_private_frames_only_the_parties(
    stall, make_item, make_user
):
    item = await sync_to_async(make_item)(stall, title="Brass lamp", price_cents=2500)
    buyer = await sync_to_async(make_user)("brassbuyer")
    stranger = await sync_to_async(make_user)("stranger")
    seller = stall.seller.user
    guest = await Client(stall.public_id).join()
    other = await Client(stall.public_id, stranger).join()
    buyer_socket = await Client(stall.public_id, buyer).join()
    seller_socket = await Client(stall.public_id, seller).join()

    offer = await sync_to_async(offer_make)(
        buyer=buyer,
        item=item,
        amount_cents=2000,
        message="Would you take twenty?",
        idempotency_key=new_ulid(),
    )

    for client in (guest, other, buyer_socket, seller_socket):
        await client.until(lambda c=client: len(offers(c)) == 1)
        (entry,) = offers(client)
        assert entry["id"] == offer.public_id and entry["item"] == item.public_id
        assert (entry["amount_cents"], entry["status"], entry["buyer"]) == (
            2000,
            "pending",
            "b***r",
        )
        assert "message" not in entry and "brassbuyer" not in str(entry)

    told_seller = await seller_socket.next("offer")
    assert (told_seller["event"], told_seller["by"], told_seller["role"]) == (
        "new",
        "buyer",
        "seller",
    )
    assert told_seller["offer"]["message"] == "Would you take twenty?"
    assert told_seller["offer"]["buyer_handle"] == "brassbuyer"
    assert told_seller["offer"]["item_title"] == "Brass lamp"
    told_buyer = await buyer_socket.next("offer")
    assert (told_buyer["event"], told_buyer["role"]) == ("new", "buyer")

    counter = await sync_to_async(offer_counter)(
        actor=seller, offer=offer, amount_cents=2300, message="23?", idempotency_key=new_ulid()
    )
    told_buyer = await buyer_socket.next("offer")
    assert (told_buyer["event"], told_buyer["by"]) == ("countered", "seller")
    assert told_buyer["offer"]["id"] == counter.public_id
    assert told_buyer["offer"]["message"] == "23?"
    await guest.until(lambda: [e["status"] for e in offers(guest)] == ["countered", "pending"])

    await sync_to_async(offer_accept)(actor=buyer, offer=counter, idempotency_key=new_ulid())
    told_seller = await seller_socket.next("offer")
    while told_seller["event"] != "accepted":
        told_seller = await seller_socket.next("offer")
    assert told_seller["by"] == "buyer" and told_seller["offer"]["amount"] == "$23.00"
    await guest.until(lambda: offers(guest)[-1]["status"] == "accepted")

    assert "offer" not in await kinds_received(guest)
    assert "offer" not in await kinds_received(other)
    for client in (guest, other, buyer_socket, seller_socket):
        await client.leave()


async def test_a_late_joiner_gets_the_ladder_in_the_sync(stall, make_item, make_user):
    item = await sync_to_async(make_item)(stall)
    buyer = await sync_to_async(make_user)("latebuyer")
    await sync_to_async(offer_make)(
        buyer=buyer, item=item, amount_cents=1500, message="", idempotency_key=new_ulid()
    )
    guest = await Client(stall.public_id).join()
    assert [(e["amount"], e["status"]) for e in offers(guest)] == [("$15.00", "pending")]
    await guest.leave()


# Actions as intents on the stall socket (issue 15): the POSTs' services, acknowledged after commit


async def test_a_haggle_over_the_socket_is_acknowledged_and_reaches_the_other_party(
    stall, make_item, make_user
):
    item = await sync_to_async(make_item)(stall, title="Brass lamp", price_cents=2500)
    buyer = await sync_to_async(make_user)("brassbuyer")
    buyer_socket = await Client(stall.public_id, buyer).join()
    seller_socket = await Client(stall.public_id, stall.seller.user).join()

    await buyer_socket.send(
        type="offer", action="make", id=item.public_id, amount="20", message="Twenty?", key=KEY
    )
    ack = await buyer_socket.next("offer_ack")
    assert (ack["key"], ack["ok"], ack["offer"]["amount"]) == (KEY, True, "$20.00")
    assert ack["notice"] == "Offer of $20.00 sent to the seller."  # what the POST's panel says
    made = ack["offer"]["id"]
    # Committed before the acknowledgement: the row is there, and the seller is told.
    assert await sync_to_async(Offer.objects.filter(public_id=made, status="pending").exists)()
    told = await seller_socket.next("offer")
    assert (told["event"], told["offer"]["id"]) == ("new", made)
    assert told["offer"]["message"] == "Twenty?"

    await seller_socket.send(type="offer", action="counter", id=made, amount=2300, key=KEY + "c")
    countered = (await seller_socket.next("offer_ack"))["offer"]
    assert (countered["answers"], countered["amount"]) == (made, "$23.00")
    assert (await buyer_socket.next("offer"))["event"] == "new"
    assert (await buyer_socket.next("offer"))["event"] == "countered"

    await buyer_socket.send(type="offer", action="accept", id=countered["id"], key=KEY + "a")
    accepted = await buyer_socket.next("offer_ack")
    assert accepted["ok"] and accepted["offer"]["status"] == "accepted"
    assert accepted["notice"] == "Accepted at $23.00: one is held for you for 24 hours."
    await seller_socket.until(lambda: offers(seller_socket)[-1]["status"] == "accepted")
    for client in (buyer_socket, seller_socket):
        await client.leave()


async def test_a_key_sent_again_gets_the_first_answer_over_either_path(stall, make_item, make_user):
    """Two sockets of one buyer send the same intent at once, then the POST repeats it:
    one offer, and every answer is it."""
    from django.test import AsyncClient

    item = await sync_to_async(make_item)(stall, price_cents=2500)
    buyer = await sync_to_async(make_user)("twicebuyer")
    tabs = [await Client(stall.public_id, buyer).join() for _ in range(2)]
    intent = {"type": "offer", "action": "make", "id": item.public_id, "amount": "20", "key": KEY}
    for tab in tabs:
        await tab.send(**intent)
    answers = [await tab.next("offer_ack") for tab in tabs]
    http = AsyncClient()
    await sync_to_async(http.force_login)(buyer)
    posted = await http.post(
        f"/items/{item.public_id}/offers/new/",
        {"amount": "21", "idempotency_key": KEY},
        headers={"accept": "application/json"},
    )
    ids = {answer["offer"]["id"] for answer in answers} | {posted.json()["offer"]["id"]}
    assert len(ids) == 1 and all(answer["ok"] for answer in answers)
    assert await sync_to_async(Offer.objects.filter(item=item).count)() == 1
    for tab in tabs:
        await tab.leave()


@pytest.mark.parametrize(
    ("signed_in", "intent", "code", "says"),
    [
        (False, {"action": "make", "amount": "20"}, "auth_required", "Sign in"),
        (True, {"action": "haggle", "amount": "20"}, "bad_action", "`action` is one of"),
        (True, {"action": "make", "amount": "20", "key": "short"}, "idempotency_key", "key"),
        (True, {"action": "make", "amount": "lots"}, "bad_amount", ""),
        (True, {"action": "make", "amount": "99"}, "bad_amount", "at most the price"),
        (True, {"action": "make", "amount": ["20"]}, "bad_amount", "in cents or as text"),
        (True, {"action": "make", "amount": "20", "message": 7}, "bad_frame", "text"),
        (True, {"action": "make", "amount": "20", "id": 7}, "bad_frame", "public id"),
        (True, {"action": "accept", "id": "01J0000000000000000000000Z"}, "not_found", "No offer"),
    ],
)
async def test_a_refused_intent_is_answered_with_the_reason(
    stall, make_item, make_user, signed_in, intent, code, says
):
    item = await sync_to_async(make_item)(stall, price_cents=2500)
    user = await sync_to_async(make_user)("refusedbuyer") if signed_in else None
    socket = await Client(stall.public_id, user).join()
    await socket.send(type="offer", **{"id": item.public_id, "key": KEY, **intent})
    ack = await socket.next("offer_ack")
    assert (ack["ok"], ack["code"]) == (False, code) and says in ack["message"]
    assert not await sync_to_async(Offer.objects.filter(item=item).exists)()
    await socket.leave()


async def test_a_refused_intent_leaves_no_reference_cycle(stall, make_item, make_user):
    """A refusal raised across the hop to the database thread kept its traceback, whose
    frames held the future that held it: a cycle per refused intent (most of a
    crowded haggle's intents are turned away), freed only by the collector's full
    passes, which pause the server (docs/decisions.md)."""
    item = await sync_to_async(make_item)(stall, price_cents=2500)
    buyer = await sync_to_async(make_user)("cyclebuyer")
    socket = await Client(stall.public_id, buyer).join()
    await socket.send(type="offer", action="make", id=item.public_id, key=new_ulid(), amount="20")
    assert (await socket.next("offer_ack"))["ok"]
    with cyclic_garbage() as left:
        await socket.send(
            type="offer", action="make", id=item.public_id, key=new_ulid(), amount="21"
        )
        assert (await socket.next("offer_ack"))["code"] == "offer_open"
    assert frames_of(left, "offers/") == []
    await socket.leave()


async def test_the_other_partys_frame_waits_for_no_document_write(
    stall, make_item, make_user, monkeypatch
):
    """The private frames go as soon as the action commits: the seller hears of the
    offer while the ladder's write (by the action's own thread, which answers after
    it) is still held. Before, the thread wrote the document first, then sent them."""
    item = await sync_to_async(make_item)(stall, price_cents=2500)
    buyer = await sync_to_async(make_user)("hastybuyer")
    release = threading.Event()

    def held_write(writes):
        release.wait(5)
        ladder.ladder_write(writes)

    monkeypatch.setattr(ladder, "_writer", ladder.LadderWriter(held_write))
    buyer_socket = await Client(stall.public_id, buyer).join()
    seller_socket = await Client(stall.public_id, stall.seller.user).join()
    await buyer_socket.send(type="offer", action="make", id=item.public_id, amount="20", key=KEY)
    told = await seller_socket.next("offer")
    assert told["event"] == "new" and offers(seller_socket) == []
    release.set()
    ack = await buyer_socket.next("offer_ack")
    assert ack["ok"] and ack["offer"]["id"] == told["offer"]["id"]
    await seller_socket.until(
        lambda: [e["id"] for e in offers(seller_socket)] == [ack["offer"]["id"]]
    )
    for client in (buyer_socket, seller_socket):
        await client.leave()
