"""Offers over the stall socket: everyone's ladder in the document, private frames to
the buyer and the seller only."""

import pytest
from asgiref.sync import sync_to_async

from bazaar.ids import new_ulid
from offers.services import offer_accept, offer_counter, offer_make
from tests.stalls.test_room_consumer import Client

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
