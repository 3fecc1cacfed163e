"""A person takes their data away (GDPR article 20, OWASP ASVS V8.3.2): one JSON file
with their account, orders, offers, bids, chat, reviews and saved things, as buyer and
as seller, and nothing that is someone else's personal data."""

import json

import pytest
from django.urls import reverse

from reviews.services import review_create
from stalls.room.chat import chat_post
from tests.offers.conftest import offered
from tests.reviews.conftest import released_order
from watchlist.services import item_watch_set, stall_follow_set

pytestmark = pytest.mark.django_db

EXPORT = reverse("privacy:export")


def _export(client, user) -> dict:
    client.force_login(user)
    response = client.get(EXPORT)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"].startswith(
        f'attachment; filename="mesh-bazaar-{user.handle}-'
    )
    assert response["Cache-Control"] == "private, no-store"
    return json.loads(response.content)


def test_a_buyer_and_a_seller_each_take_away_what_is_theirs(
    client, buyer, lamp, stall, make_item, make_user, key
):
    order = released_order(buyer, lamp)
    review_create(buyer=buyer, order=order, stars=4, text="Shines", idempotency_key=key())
    vase = make_item(stall, title="Blue vase", price_cents=4000)
    offered(buyer, vase, 3000, message="Would you take 30?")
    chat_post(user=buyer, stall=stall, text="Is the vase chipped?")
    item_watch_set(user=buyer, item=vase, watching=True)
    stall_follow_set(user=buyer, stall=stall, following=True)
    stranger = make_user("stranger")
    chat_post(user=stranger, stall=stall, text="Someone else's words")

    mine = _export(client, buyer)
    assert mine["account"]["handle"] == "buyer" and mine["account"]["email"] == buyer.email
    assert mine["account"]["signed_in"]
    assert mine["orders"]["shipping_address"]["line1"] == "1 Market Street"
    [bought] = mine["orders"]["bought"]
    assert bought["order"] == order.public_id and bought["total_cents"] == order.total_cents
    assert "1 Market Street" in bought["ship_to"]
    assert bought["lines"] == [{"title": "Brass lamp", "unit_price_cents": 2500, "quantity": 1}]
    assert mine["orders"]["sold"] == []
    [offer] = mine["offers"]["as_buyer"]
    assert (offer["item"], offer["amount_cents"], offer["message"]) == (
        "Blue vase",
        3000,
        "Would you take 30?",
    )
    assert [m["text"] for m in mine["selling_and_chat"]["chat_messages"]] == [
        "Is the vase chipped?"
    ]
    assert mine["selling_and_chat"]["stall"] is None
    assert [r["text"] for r in mine["reviews"]["written"]] == ["Shines"]
    assert [w["title"] for w in mine["watchlist"]["saved_items"]] == ["Blue vase"]
    assert [f["name"] for f in mine["watchlist"]["followed_stalls"]] == [stall.name]
    assert mine["auctions"] == {"bids": [], "retractions": [], "won": []}

    seller = stall.seller.user
    theirs = _export(client, seller)
    [sold] = theirs["orders"]["sold"]
    assert sold["order"] == order.public_id and "ship_to" not in sold  # the buyer's address
    assert theirs["orders"]["bought"] == []
    assert [o["amount_cents"] for o in theirs["offers"]["on_my_items"]] == [3000]
    assert theirs["selling_and_chat"]["stall"]["name"] == stall.name
    assert {i["title"] for i in theirs["selling_and_chat"]["items"]} == {"Brass lamp", "Blue vase"}
    assert theirs["selling_and_chat"]["seller_profile"]["legal_name"]
    assert [r["text"] for r in theirs["reviews"]["of_my_stall"]] == ["Shines"]
    everything = json.dumps(theirs)
    assert buyer.email not in everything and "Someone else's words" not in everything
    assert "1 Market Street" not in everything


def test_the_export_needs_an_account_and_is_limited(client, buyer):
    assert client.get(EXPORT).status_code == 302  # to the log-in
    client.force_login(buyer)
    for _ in range(5):
        assert client.get(EXPORT).status_code == 200
    refused = client.get(EXPORT)
    assert refused.status_code == 429
    assert "at most 5 downloads an hour" in refused.content.decode()


def test_the_account_page_offers_the_download(client, buyer):
    client.force_login(buyer)
    page = client.get(reverse("account:hub")).content.decode()
    assert f'href="{EXPORT}" download' in page
