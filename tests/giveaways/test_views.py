"""The giveaway's panels and pages: entering in place, the seller's tools, the page
with the draw's summary, the winner's claim, the rules."""

from django.urls import reverse

from bazaar.idempotency import new_key
from giveaways.models import Giveaway
from giveaways.services import giveaway_draw, giveaway_enter
from governance.models import Role
from governance.services import role_grant
from orders.models import Order


def test_a_viewer_enters_from_the_overlay(client, giveaway, make_user):
    client.force_login(make_user("shopper"))
    response = client.post(
        reverse("giveaways:enter", args=[giveaway.public_id]), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert "in the draw. Stay in the stall" in response.content.decode()
    assert giveaway.entries.count() == 1


def test_a_refused_entry_says_why_in_place(client, make_giveaway, make_user):
    giveaway = make_giveaway(audience=Giveaway.Audience.FOLLOWERS)
    client.force_login(make_user("shopper"))
    response = client.post(
        reverse("giveaways:enter", args=[giveaway.public_id]), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 409
    page = response.content.decode()
    assert 'role="alert"' in page and "follow the stall, then enter" in page


def test_a_guest_is_asked_to_log_in(client, giveaway):
    page = client.get(reverse("giveaways:overlay", args=[giveaway.stall.public_id])).content
    assert b"Log in to enter" in page
    response = client.post(reverse("giveaways:enter", args=[giveaway.public_id]))
    assert response.status_code == 403


def test_the_seller_opens_draws_and_sees_the_winner(client, stall, prize, room, make_user):
    client.force_login(stall.seller.user)
    tools = reverse("giveaways:tools", args=[stall.public_id])
    response = client.post(
        tools,
        {"item": prize.public_id, "audience": "everyone", "idempotency_key": new_key()},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200 and "is open" in response.content.decode()
    giveaway = Giveaway.objects.get()
    lucky = room.arrive(make_user("lucky"))
    giveaway_enter(user=lucky, giveaway=giveaway)
    response = client.post(reverse("giveaways:draw", args=[giveaway.public_id]))
    assert response.status_code == 200
    assert "@lucky won" in response.content.decode()


def test_a_draw_with_nobody_eligible_is_refused_in_place(client, giveaway):
    client.force_login(giveaway.seller)
    response = client.post(reverse("giveaways:draw", args=[giveaway.public_id]))
    assert response.status_code == 409
    assert "Nobody has entered yet" in response.content.decode()


def test_strangers_cannot_use_the_tools(client, giveaway, make_user):
    client.force_login(make_user("stranger"))
    assert (
        client.get(reverse("giveaways:tools", args=[giveaway.stall.public_id])).status_code == 403
    )
    assert client.post(reverse("giveaways:draw", args=[giveaway.public_id])).status_code == 403
    assert client.post(reverse("giveaways:cancel", args=[giveaway.public_id])).status_code == 403


def test_the_page_explains_the_draw_and_the_winner_claims(client, giveaway, viewer_in):
    winner = viewer_in("winner")
    giveaway_draw(actor=giveaway.seller, giveaway=giveaway)
    page = client.get(reverse("giveaways:detail", args=[giveaway.public_id])).content.decode()
    assert "Won by @winner" in page and "number 1 was picked" in page
    assert "Claim your prize" not in page
    client.force_login(winner)
    url = reverse("giveaways:detail", args=[giveaway.public_id])
    assert "Claim your prize" in client.get(url).content.decode()
    response = client.post(url, {"name": "", "line1": "", "city": "", "postal_code": ""})
    assert response.status_code == 400 and "There is a problem" in response.content.decode()
    response = client.post(
        url,
        {
            "name": "Win Ner",
            "line1": "1 Prize Lane",
            "city": "Springfield",
            "postal_code": "12345",
            "country": "US",
        },
    )
    order = Order.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("orders:detail", args=[order.public_id])
    assert order.total_cents == 0 and order.buyer == winner


def test_the_rules_page(client):
    page = client.get(reverse("giveaways:rules")).content.decode()
    assert "No purchase needed" in page and "in the stall when the draw is made" in page


def test_the_stall_page_shows_the_giveaway_and_the_sellers_tools(client, giveaway):
    url = reverse("stalls:detail", args=[giveaway.stall.public_id])
    page = client.get(url).content.decode()
    assert 'data-show-slot="giveaway"' in page and "Brass bell" in page
    client.force_login(giveaway.seller)
    page = client.get(url).content.decode()
    assert "Draw the winner" in page


def test_a_steward_reads_the_draw_in_the_admin(client, giveaway, viewer_in, make_user):
    viewer_in("winner")
    giveaway_draw(actor=giveaway.seller, giveaway=giveaway)
    steward = make_user("steward")
    role_grant(user=steward, role=Role.STEWARD)
    client.force_login(steward)
    assert client.get(reverse("admin:giveaways_giveaway_changelist")).status_code == 200
    page = client.get(reverse("admin:giveaways_giveaway_change", args=[giveaway.pk]))
    assert page.status_code == 200 and "secrets.randbelow" in page.content.decode()
    client.force_login(giveaway.seller)
    assert client.get(reverse("admin:giveaways_giveaway_changelist")).status_code == 302
