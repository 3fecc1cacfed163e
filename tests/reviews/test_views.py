"""Review pages: the form on the order page after release (in place with htmx), the
rating on the stall page, the item page and the dashboard, the reviews list with the
seller's answers, the admin's hide action, and who may do what."""

import re

import pytest
from django.urls import reverse

from orders.models import Order
from reviews.models import Review
from reviews.selectors import PAGE_SIZE
from reviews.services import review_create
from tests.reviews.conftest import paid_order, released_order

pytestmark = pytest.mark.django_db


def key_of(html: str) -> str:
    return re.search(r'name="idempotency_key" value="([^"]+)"', html).group(1)


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_order_page_offers_the_form_only_after_release(client, buyer, lamp):
    order = paid_order(buyer, lamp)
    client.force_login(buyer)
    url = reverse("orders:detail", args=[order.public_id])
    assert "Rate this seller" not in client.get(url).content.decode()
    released = released_order(
        buyer, lamp.stall.items.create(title="Clock", price_cents=900, currency="USD", inventory=1)
    )
    html = client.get(reverse("orders:detail", args=[released.public_id])).content.decode()
    assert "Rate this seller" in html
    assert f'hx-post="/orders/{released.public_id}/review/"' in html
    assert "<legend>Your rating</legend>" in html and "Excellent" in html


def test_rating_with_htmx_swaps_the_review_in_place(client, released, buyer):
    client.force_login(buyer)
    html = client.get(reverse("orders:detail", args=[released.public_id])).content.decode()
    response = client.post(
        reverse("reviews:create", args=[released.public_id]),
        {"stars": "4", "text": "Well packed.", "idempotency_key": key_of(html)},
        HTTP_HX_REQUEST="true",
    )
    body = response.content.decode()
    assert response.status_code == 200 and "<html" not in body
    assert "Your review" in body and "Well packed." in body and "4 out of 5 stars" in body
    assert 'role="status"' in body and "Rate this seller" not in body
    assert Review.objects.get().stars == 4


def test_a_refused_review_is_said_beside_its_field(client, released, buyer, key):
    client.force_login(buyer)
    url = reverse("reviews:create", args=[released.public_id])
    missing = client.post(url, {"text": "", "idempotency_key": key()}, HTTP_HX_REQUEST="true")
    body = missing.content.decode()
    assert missing.status_code == 400 and "<html" not in body
    assert "Choose how many stars." in body and "Write a few words for your review." in body
    assert 'aria-describedby="stars-error"' in body
    typed = client.post(
        url, {"stars": "5", "text": "   ", "idempotency_key": key()}, HTTP_HX_REQUEST="true"
    )
    assert (
        typed.status_code == 400 and "Write a few words for your review." in typed.content.decode()
    )
    assert not Review.objects.exists()


def test_a_second_review_of_the_order_is_refused_in_place(client, released, buyer, key):
    review_create(buyer=buyer, order=released, stars=5, text="Great", idempotency_key=key())
    client.force_login(buyer)
    response = client.post(
        reverse("reviews:create", args=[released.public_id]),
        {"stars": "1", "text": "Changed my mind", "idempotency_key": key()},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 409
    assert "You have already rated this order." in response.content.decode()
    assert Review.objects.get().stars == 5


def test_rating_too_early_is_refused_with_the_reason(client, buyer, lamp, key):
    order = paid_order(buyer, lamp)
    client.force_login(buyer)
    url = reverse("reviews:create", args=[order.public_id])
    data = {"stars": "5", "text": "Fast", "idempotency_key": key()}
    response = client.post(url, data, HTTP_HX_REQUEST="true")
    assert response.status_code == 409
    assert "once the order is released from escrow" in response.content.decode()
    plain = client.post(url, {**data, "idempotency_key": key()}, follow=True)
    assert "once the order is released from escrow" in plain.content.decode()


def test_without_javascript_a_review_redirects_to_the_order_with_thanks(
    client, released, buyer, key
):
    client.force_login(buyer)
    response = client.post(
        reverse("reviews:create", args=[released.public_id]),
        {"stars": "5", "text": "Superb", "idempotency_key": key()},
        follow=True,
    )
    html = response.content.decode()
    assert response.redirect_chain[-1][0] == reverse("orders:detail", args=[released.public_id])
    assert "your review is on the stall" in html and "Superb" in html


def test_the_stall_page_item_page_and_list_show_the_rating_and_reviews(
    client, released, buyer, stall, lamp, key
):
    review_create(
        buyer=buyer, order=released, stars=4, text="Nice <b>lamp</b>", idempotency_key=key()
    )
    stall_html = client.get(reverse("stalls:detail", args=[stall.public_id])).content.decode()
    assert "Rated 4.0 out of 5" in stall_html and "(1 review)" in stall_html
    assert "Nice &lt;b&gt;lamp&lt;/b&gt;" in stall_html and "@buyer" in stall_html
    assert f'href="/stalls/{stall.public_id}/reviews/"' in stall_html
    item_html = client.get(reverse("discovery:item", args=[lamp.public_id])).content.decode()
    card = item_html.split('class="panel seller-card"')[1].split("</section>")[0]
    assert "Rated 4.0 out of 5" in card and "(1 review)" in card
    listing = client.get(reverse("reviews:stall", args=[stall.public_id])).content.decode()
    assert "Reviews of seller&#x27;s stall" in listing and "Nice &lt;b&gt;lamp" in listing
    assert "Answer this review" not in listing


def test_a_stall_page_seen_without_reviews_shows_the_first_on_the_next_view(
    client, released, buyer, stall, key, on_commit
):
    """The page reads no reviews while the kept rating counts none; the review's
    commit drops that rating, so the next view reads and shows it."""
    url = reverse("stalls:detail", args=[stall.public_id])
    assert "No reviews yet" in client.get(url).content.decode()
    on_commit(
        review_create, buyer=buyer, order=released, stars=5, text="Found it", idempotency_key=key()
    )
    html = client.get(url).content.decode()
    assert "(1 review)" in html and "Found it" in html


def test_a_stall_without_reviews_says_so(client, stall):
    html = client.get(reverse("stalls:detail", args=[stall.public_id])).content.decode()
    assert "No reviews yet" in html


def test_the_list_pages_through_many_reviews(client, stall, make_buyer, make_item, key):
    for number in range(PAGE_SIZE + 1):
        shopper = make_buyer(f"rater{number}")
        order = released_order(shopper, make_item(stall, title=f"T{number}"))
        review_create(
            buyer=shopper, order=order, stars=5, text=f"Number {number}", idempotency_key=key()
        )
    url = reverse("reviews:stall", args=[stall.public_id])
    first = text_of(client.get(url).content.decode())
    assert "Number 20" in first and "Number 0 " not in first and "Page 1 of 2" in first
    second = text_of(client.get(url, {"page": 2}).content.decode())
    assert "Number 0 " in second and "Number 20" not in second


def test_the_seller_answers_from_the_list_in_place(client, released, buyer, stall, key):
    review = review_create(buyer=buyer, order=released, stars=2, text="Slow", idempotency_key=key())
    client.force_login(stall.seller.user)
    listing = client.get(reverse("reviews:stall", args=[stall.public_id])).content.decode()
    assert "Answer this review" in listing
    url = reverse("reviews:reply", args=[review.public_id])
    empty = client.post(url, {"reply": "", "idempotency_key": key()}, HTTP_HX_REQUEST="true")
    assert (
        empty.status_code == 400 and "Write a few words for your answer." in empty.content.decode()
    )
    response = client.post(
        url,
        {"reply": "Sorry, the post office.", "idempotency_key": key_of(listing)},
        HTTP_HX_REQUEST="true",
    )
    body = response.content.decode()
    assert response.status_code == 200 and body.lstrip().startswith('<li class="review"')
    assert "The seller answered" in body and "Sorry, the post office." in body
    again = client.post(url, {"reply": "More", "idempotency_key": key()}, HTTP_HX_REQUEST="true")
    assert again.status_code == 409 and "already answered" in again.content.decode()
    stall_html = client.get(reverse("stalls:detail", args=[stall.public_id])).content.decode()
    assert "Sorry, the post office." in stall_html


def test_the_dashboard_counts_reviews_waiting_for_an_answer(client, released, buyer, stall, key):
    review_create(buyer=buyer, order=released, stars=5, text="Good", idempotency_key=key())
    client.force_login(stall.seller.user)
    html = text_of(client.get(reverse("stalls:dashboard")).content.decode())
    assert "1 review waiting for your answer" in html


def test_a_steward_hides_a_review_from_the_admin(client, released, buyer, stall, steward, key):
    review = review_create(
        buyer=buyer, order=released, stars=1, text="Rude words", idempotency_key=key()
    )
    client.force_login(steward)
    changelist = reverse("admin:reviews_review_changelist")
    assert client.get(changelist).status_code == 200
    response = client.post(
        changelist, {"action": "hide_reviews", "_selected_action": [review.pk]}, follow=True
    )
    assert "1 review(s) hidden" in response.content.decode()
    review.refresh_from_db()
    assert review.hidden_at is not None and review.hidden_by == steward
    html = client.get(reverse("stalls:detail", args=[stall.public_id])).content.decode()
    assert "Rude words" not in html and "No reviews yet" in html
    client.force_login(buyer)
    order_html = client.get(reverse("orders:detail", args=[released.public_id])).content.decode()
    assert "A steward hid this review" in order_html


def test_the_admin_is_closed_to_buyers_and_sellers(client, stall, buyer):
    for person in (buyer, stall.seller.user):
        client.force_login(person)
        response = client.get(reverse("admin:reviews_review_changelist"))
        assert response.status_code == 302


# The authorization matrix: every review endpoint, for each kind of person.
# Orders are private (a stranger gets 404); stalls and their reviews are public, so a
# stranger's answer is refused with 403.

WHO = ["anonymous", "other_buyer", "buyer", "seller", "steward"]
EXPECTED = {
    "create": {"anonymous": 302, "other_buyer": 404, "buyer": 200, "seller": 403, "steward": 404},
    "reply": {"anonymous": 302, "other_buyer": 403, "buyer": 403, "seller": 200, "steward": 403},
    "list": {"anonymous": 200, "other_buyer": 200, "buyer": 200, "seller": 200, "steward": 200},
}


@pytest.fixture
def people(released, buyer, stall, make_buyer, steward):
    return {
        "buyer": buyer,
        "seller": stall.seller.user,
        "other_buyer": make_buyer("other"),
        "steward": steward,
        "order": released,
    }


@pytest.mark.parametrize("who", WHO)
@pytest.mark.parametrize("endpoint", list(EXPECTED))
def test_authorization_matrix_for_reviews(client, people, stall, key, who, endpoint):
    order = people["order"]
    review = None
    if endpoint != "create":
        review = review_create(
            buyer=people["buyer"], order=order, stars=3, text="Fine", idempotency_key=key()
        )
    if who != "anonymous":
        client.force_login(people[who])
    requests = {
        "create": lambda: client.post(
            reverse("reviews:create", args=[order.public_id]),
            {"stars": "5", "text": "Mine", "idempotency_key": key()},
            HTTP_HX_REQUEST="true",
        ),
        "reply": lambda: client.post(
            reverse("reviews:reply", args=[review.public_id]),
            {"reply": "Thanks", "idempotency_key": key()},
            HTTP_HX_REQUEST="true",
        ),
        "list": lambda: client.get(reverse("reviews:stall", args=[stall.public_id])),
    }
    response = requests[endpoint]()
    expected = EXPECTED[endpoint][who]
    if who == "anonymous" and endpoint != "list":
        # htmx meets the login redirect: the whole page goes to the login.
        assert response.status_code == 200 and "/accounts/login/" in response["HX-Redirect"]
    else:
        assert response.status_code == expected, response.content
    body = response.content.decode()
    if expected == 403:
        assert "Only the" in body
    if expected == 404:
        assert "No order of yours has that address." in body
    if endpoint == "create":
        assert Review.objects.filter(stars=5).exists() == (who == "buyer")
    if endpoint == "reply":
        review.refresh_from_db()
        assert (review.reply == "Thanks") == (who == "seller")


def test_an_unknown_review_or_stall_is_a_clear_404(client, stall, key):
    client.force_login(stall.seller.user)
    response = client.post(
        reverse("reviews:reply", args=["01ARZ3NDEKTSV4RRFFQ69G5FAV"]),
        {"reply": "x", "idempotency_key": key()},
    )
    assert (
        response.status_code == 404 and "No review has that address." in response.content.decode()
    )
    missing = client.get(reverse("reviews:stall", args=["01ARZ3NDEKTSV4RRFFQ69G5FAV"]))
    assert missing.status_code == 404 and "No stall has that address." in missing.content.decode()


def test_order_status_is_untouched_by_reviewing(client, released, buyer, key):
    client.force_login(buyer)
    client.post(
        reverse("reviews:create", args=[released.public_id]),
        {"stars": "5", "text": "ok", "idempotency_key": key()},
    )
    released.refresh_from_db()
    assert released.status == Order.Status.RELEASED
