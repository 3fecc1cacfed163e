"""Offer pages and actions over HTTP: HTMX panels, JSON, plain forms, and who may do what."""

import html

import pytest
from django.urls import reverse

from bazaar.ids import new_ulid
from offers import selectors
from offers.models import AutoPrices, Offer
from offers.services import offer_accept, offer_counter
from tests.offers.conftest import offered

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return html.unescape(response.content.decode())


HTMX = {"HTTP_HX_REQUEST": "true"}
JSON = {"HTTP_ACCEPT": "application/json"}


@pytest.fixture
def as_buyer(client, buyer):
    client.force_login(buyer)
    return client


@pytest.fixture
def as_seller(client, seller):
    client.force_login(seller)
    return client


def make(as_client, item, amount="20", key=None, headers=HTMX, **extra):
    return as_client.post(
        reverse("offers:create", args=[item.public_id]),
        {
            "amount": amount,
            "message": extra.pop("message", ""),
            "idempotency_key": key or new_ulid(),
        },
        **headers,
        **extra,
    )


def answer(as_client, offer, action, headers=HTMX, **data):
    data.setdefault("idempotency_key", new_ulid())
    return as_client.post(reverse(f"offers:{action}", args=[offer.public_id]), data, **headers)


# The drawer's panel


def test_a_guest_sees_the_ladder_and_is_asked_to_log_in(client, buyer, item):
    offered(buyer, item, message="secret note")
    page = client.get(reverse("offers:item_panel", args=[item.public_id])).content.decode()
    assert "b***r" in page and "$20.00" in page and "pending" in page
    assert "Log in to make an offer" in page
    assert "secret note" not in page and "brassbuyer" not in page


def test_a_buyer_gets_the_offer_form_with_a_key(as_buyer, item):
    page = as_buyer.get(reverse("offers:item_panel", args=[item.public_id])).content.decode()
    assert "data-offer-form" in page and 'name="idempotency_key"' in page
    assert "at most $25.00" in page and "5 of 5 offers left" in page


def test_the_seller_sees_open_threads_with_messages_and_answers(as_seller, buyer, item):
    offered(buyer, item, message="Would you take twenty?")
    page = as_seller.get(reverse("offers:item_panel", args=[item.public_id])).content.decode()
    assert "@brassbuyer" in page and "Would you take twenty?" in page
    assert "Accept $20.00" in page and "data-offer-decline" in page and "Counter with" in page
    assert "data-offer-form" not in page


def test_another_buyer_sees_only_the_public_ladder(client, make_user, buyer, item):
    offered(buyer, item, message="secret note")
    client.force_login(make_user("otherbuyer"))
    page = client.get(reverse("offers:item_panel", args=[item.public_id])).content.decode()
    assert "secret note" not in page and "brassbuyer" not in page
    assert "data-offer-form" in page


def test_the_drawer_loads_the_panel(client, stall, item):
    url = reverse("stalls:item_drawer", args=[stall.public_id, item.public_id])
    page = client.get(url).content.decode()
    assert f'data-offers-panel="{item.public_id}"' in page
    assert reverse("offers:item_panel", args=[item.public_id]) in page


# Making offers


def test_an_offer_by_htmx_answers_with_the_panel(as_buyer, item):
    response = make(as_buyer, item, "$20.50", message="Cash ready")
    assert response.status_code == 200
    page = text(response)
    assert "Offer of $20.50 sent to the seller." in page
    assert "Cash ready" in page and "Withdraw my offer" in page
    offer = Offer.objects.get()
    assert (offer.amount_cents, offer.message) == (2050, "Cash ready")


def test_a_comma_before_two_digits_is_a_decimal_point(as_buyer, item):
    assert make(as_buyer, item, "20,50").status_code == 200
    assert Offer.objects.get().amount_cents == 2050


@pytest.mark.parametrize(
    "amount,status,message",
    [
        ("1,000", 400, "Use a dot for decimals"),
        ("abc", 400, "Enter an amount such as 25 or 25.50."),
        ("0", 400, "An offer must be more than zero."),
        ("25.01", 400, "Offer at most the price, $25.00."),
    ],
)
def test_bad_amounts_are_refused_in_the_panel(as_buyer, item, amount, status, message):
    response = make(as_buyer, item, amount)
    assert response.status_code == status
    page = text(response)
    assert message in page and "data-offer-error" in page
    assert f'value="{amount}"' in page  # what was typed stays in the form
    assert not Offer.objects.exists()


def test_a_double_click_makes_one_offer(as_buyer, item):
    key = new_ulid()
    first = make(as_buyer, item, "20", key=key, headers=JSON).json()
    second = make(as_buyer, item, "20", key=key, headers=JSON).json()
    assert first == second
    assert Offer.objects.count() == 1


def test_json_answers_carry_the_entry_or_the_error(as_buyer, item):
    response = make(as_buyer, item, "20", headers=JSON)
    assert response.status_code == 200
    entry = response.json()["offer"]
    assert entry["amount_cents"] == 2000 and entry["status"] == "pending"
    assert entry["buyer_handle"] == "brassbuyer"
    response = make(as_buyer, item, "21", headers=JSON)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "offer_open"


def test_an_action_without_a_key_is_refused(as_buyer, item):
    response = as_buyer.post(
        reverse("offers:create", args=[item.public_id]), {"amount": "20"}, **JSON
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "idempotency_key"
    assert not Offer.objects.exists()


def test_a_seller_offering_on_their_own_item_is_told_why(as_seller, item):
    response = make(as_seller, item, "20")
    assert response.status_code == 403
    assert "You cannot make offers on your own items." in text(response)


def test_without_javascript_an_offer_redirects_back_to_the_item(as_buyer, item, stall):
    response = make(as_buyer, item, "20", headers={}, follow=True)
    assert response.redirect_chain[-1][0] == (
        f"{reverse('stalls:detail', args=[stall.public_id])}#item-{item.public_id}"
    )
    assert "Offer of $20.00 sent to the seller." in text(response)
    response = make(as_buyer, item, "20", headers={}, follow=True)
    assert "already have an open offer" in text(response)


def test_a_guest_is_sent_to_log_in(client, item):
    response = make(client, item, "20", headers={})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    # htmx: the whole page goes to the login, to come back to the stall.
    stall_page = reverse("stalls:detail", args=[item.stall.public_id])
    response = make(
        client,
        item,
        "20",
        headers={**HTMX, "HTTP_HX_CURRENT_URL": f"http://testserver{stall_page}"},
    )
    assert response["HX-Redirect"] == f"/accounts/login/?next={stall_page}"
    assert not Offer.objects.exists()


# Answering


def test_the_seller_counters_and_the_buyer_accepts(client, seller, buyer, item):
    offer = offered(buyer, item)
    client.force_login(seller)
    response = answer(client, offer, "counter", amount="23", message="Meet at 23?")
    assert response.status_code == 200
    page = text(response)
    assert "Counter of $23.00 sent." in page and "Waiting for @brassbuyer" in page
    reply = Offer.objects.get(answers=offer)
    client.force_login(buyer)
    page = client.get(reverse("offers:item_panel", args=[item.public_id])).content.decode()
    assert "Meet at 23?" in page and "Accept $23.00" in page
    response = answer(client, reply, "accept")
    assert "Accepted at $23.00: one is held for you for 24 hours." in text(response)
    reply.refresh_from_db()
    assert reply.status == "accepted"


def test_the_seller_declines(client, seller, buyer, item):
    offer = offered(buyer, item)
    client.force_login(seller)
    assert "Declined $20.00." in answer(client, offer, "decline").content.decode()
    offer.refresh_from_db()
    assert offer.status == "declined"


def test_a_bad_counter_is_explained(client, seller, buyer, item):
    offer = offered(buyer, item)
    client.force_login(seller)
    response = answer(client, offer, "counter", amount="19")
    assert response.status_code == 400
    assert "Counter above the buyer's $20.00, or accept it." in text(response)


def test_answering_out_of_turn_is_a_conflict(as_buyer, buyer, item):
    offer = offered(buyer, item)
    response = answer(as_buyer, offer, "accept", headers=JSON)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "not_your_turn"


@pytest.mark.parametrize("action", ["accept", "decline", "withdraw", "counter"])
def test_strangers_get_404_for_every_action(client, make_user, buyer, item, action):
    offer = offered(buyer, item)
    client.force_login(make_user("nosy"))
    assert answer(client, offer, action, amount="21").status_code == 404
    offer.refresh_from_db()
    assert offer.status == "pending"


def test_the_buyer_withdraws_and_may_offer_again(as_buyer, buyer, item):
    offer = offered(buyer, item)
    assert "Offer withdrawn." in answer(as_buyer, offer, "withdraw").content.decode()
    page = as_buyer.get(reverse("offers:item_panel", args=[item.public_id])).content.decode()
    assert "4 of 5 offers left" in page


def test_sold_out_items_show_why_there_is_no_form(client, seller, buyer, make_user, item):
    offer_accept(actor=seller, offer=offered(buyer, item), idempotency_key=new_ulid())
    client.force_login(make_user("late"))
    page = client.get(reverse("offers:item_panel", args=[item.public_id])).content.decode()
    assert "Sold out: no offers now." in page and "data-offer-form" not in page


# The seller's dashboard


def test_the_dashboard_comes_with_the_offers_block(as_seller, buyer, item):
    offered(buyer, item, message="Twenty?")
    page = as_seller.get(reverse("stalls:dashboard")).content.decode()
    assert 'id="seller-offers"' in page and "Twenty?" in page and 'hx-trigger="load"' not in page


def test_the_dashboard_block_lists_open_threads(as_seller, buyer, item, make_item, stall):
    offered(buyer, item, message="Twenty?")
    make_item(stall, title="Quiet vase")
    page = as_seller.get(reverse("offers:dashboard")).content.decode()
    assert "Brass lamp" in page and "1 open offer" in page and "Twenty?" in page
    assert "Quiet vase" in page and "0 open offers" in page
    assert 'name="panel" value="dashboard"' in page


def test_answering_from_the_dashboard_rerenders_it(client, seller, buyer, item):
    offer = offered(buyer, item)
    client.force_login(seller)
    response = answer(client, offer, "accept", panel="dashboard")
    page = text(response)
    assert "Accepted at $20.00: one is held for the buyer for 24 hours." in page
    assert "Auto-accept at or above" in page


def test_auto_prices_are_set_from_the_dashboard(as_seller, item):
    url = reverse("offers:auto_prices", args=[item.public_id])
    response = as_seller.post(url, {"accept": "$22", "decline": "15"}, **HTMX)
    assert response.status_code == 200
    assert "Auto prices for “Brass lamp” saved." in text(response)
    rule = AutoPrices.objects.get(item=item)
    assert (rule.accept_cents, rule.decline_cents) == (2200, 1500)
    response = as_seller.post(url, {"accept": "", "decline": ""}, **HTMX)
    rule.refresh_from_db()
    assert (rule.accept_cents, rule.decline_cents) == (None, None)


def test_bad_auto_prices_are_explained_and_kept_in_the_form(as_seller, item):
    url = reverse("offers:auto_prices", args=[item.public_id])
    response = as_seller.post(url, {"accept": "15", "decline": "20"}, **HTMX)
    assert response.status_code == 400
    page = text(response)
    assert "The auto-decline price must be below the auto-accept price." in page
    assert 'value="15"' in page and 'value="20"' in page
    response = as_seller.post(url, {"accept": "1,5"}, **HTMX)
    assert "Use a dot for decimals" in text(response)


def test_auto_prices_without_javascript(as_seller, item):
    url = reverse("offers:auto_prices", args=[item.public_id])
    response = as_seller.post(url, {"accept": "30"}, follow=True)
    assert "must be below the list price" in text(response)


def test_a_stranger_cannot_set_auto_prices(client, make_user, item):
    client.force_login(make_user("nosy"))
    url = reverse("offers:auto_prices", args=[item.public_id])
    assert client.post(url, {"accept": "20"}, **HTMX).status_code == 403
    assert not AutoPrices.objects.exists()


# My offers


def test_my_offers_lists_my_threads_only(client, buyer, seller, make_user, item):
    offer = offered(buyer, item, message="mine")
    offer_counter(
        actor=seller, offer=offer, amount_cents=2300, message="", idempotency_key=new_ulid()
    )
    other = make_user("other")
    offered(other, item, cents=1000, message="theirs")
    client.force_login(buyer)
    page = client.get(reverse("offers:mine")).content.decode()
    assert "Brass lamp" in page and "mine" in page and "$23.00" in page
    assert "theirs" not in page
    assert 'name="panel" value="mine"' in page


def test_answering_from_my_offers_returns_there(client, buyer, item):
    offer = offered(buyer, item)
    client.force_login(buyer)
    response = answer(client, offer, "withdraw", headers={}, panel="mine")
    assert response.status_code == 302 and response["Location"] == reverse("offers:mine")


# What an action costs: its queries are pinned (issue 15: about five of its own)


def test_each_json_action_is_a_fixed_handful_of_queries(
    client, buyer, seller, item, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    """Session and user, the one locked read, the checks, the writes (SQLite counts the
    savepoint and its release); the ladder's document write comes after commit."""
    from django.test import Client

    from stalls.room.document import document_for_stall

    document_for_stall(stall_id=item.stall_id)  # made with the stall's first chat line
    as_buyer, as_seller = Client(), Client()
    as_buyer.force_login(buyer)
    as_seller.force_login(seller)

    def act(as_client, url, budget, **data):
        with (
            django_capture_on_commit_callbacks() as after_commit,
            django_assert_max_num_queries(budget),
        ):
            response = as_client.post(url, {"idempotency_key": new_ulid(), **data}, **JSON)
        assert response.status_code == 200, response.content
        write_ladder = after_commit[0]
        # The document row locked, this one stored, the offers' marks cleared (and the
        # savepoint pair); the writer does it at once here, nothing else being written.
        with django_assert_max_num_queries(5):
            write_ladder()
        return response.json()["offer"]["id"]

    made = act(as_buyer, reverse("offers:create", args=[item.public_id]), 8, amount="20")
    countered = act(as_seller, reverse("offers:counter", args=[made]), 9, amount="24")
    act(as_buyer, reverse("offers:accept", args=[countered]), 10)
    statuses = [e["status"] for e in selectors.item_ladder(item=item)]
    assert statuses == ["accepted", "countered"]


def test_a_strangers_answer_is_404_and_changes_nothing(client, make_user, buyer, item):
    offer = offered(buyer, item)
    client.force_login(make_user("stranger"))
    response = answer(client, offer, "accept", headers=JSON)
    assert response.status_code == 404
    offer.refresh_from_db()
    assert offer.status == "pending"
    assert answer(client, offer, "accept").status_code == 404  # HTMX: the 404 page


def test_each_socket_intent_is_the_actions_queries_without_the_requests(
    buyer, seller, item, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    """An intent on the stall socket runs the POST's service with the socket's user: no
    session and no user read, only the action's own queries (and the savepoint pair);
    the ladder's write after commit as for the POST."""
    from offers.consumers import offer_act
    from stalls.room.document import document_for_stall

    document_for_stall(stall_id=item.stall_id)  # made with the stall's first chat line

    def act(user, budget, **frame):
        with (
            django_capture_on_commit_callbacks() as after_commit,
            django_assert_max_num_queries(budget),
        ):
            done = offer_act(user, {"key": new_ulid(), **frame})
        with django_assert_max_num_queries(5):
            after_commit[0]()
        return done["offer"]["id"]

    made = act(buyer, 6, action="make", id=item.public_id, amount="20")
    countered = act(seller, 7, action="counter", id=made, amount="24")
    act(buyer, 8, action="accept", id=countered)
    assert [e["status"] for e in selectors.item_ladder(item=item)] == ["accepted", "countered"]


def test_a_decline_and_a_withdrawal_are_a_locked_read_and_their_two_writes(
    buyer, seller, item, django_assert_num_queries, django_capture_on_commit_callbacks
):
    """Over the socket: the locked read, the audit row and the offer's update (and
    the savepoint pair of the test's transaction), as a make is its four: the item locked,
    one statement for its stock and the buyer's counts, the offer and its audit row."""
    from offers.consumers import offer_act
    from stalls.room.document import document_for_stall

    document_for_stall(stall_id=item.stall_id)

    def act(user, queries, **frame):
        with django_capture_on_commit_callbacks() as after_commit:
            with django_assert_num_queries(queries):
                done = offer_act(user, {"key": new_ulid(), **frame})
            assert done["ok"], done
        for callback in after_commit:
            callback()
        return done["offer"]

    made = act(buyer, 6, action="make", id=item.public_id, amount="20")
    assert act(seller, 5, action="decline", id=made["id"])["status"] == "declined"
    made = act(buyer, 6, action="make", id=item.public_id, amount="21")
    assert act(buyer, 5, action="withdraw", id=made["id"])["status"] == "withdrawn"
