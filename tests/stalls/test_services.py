from datetime import timedelta

import pytest
from django.utils import timezone

from bazaar.errors import Conflict, Invalid, NotAllowed
from governance.models import Role
from governance.services import role_grant
from stalls.models import Item, Reservation, StockEvent
from stalls.selectors import item_available_quantity
from stalls.services import (
    item_delete,
    item_update,
    reservation_consume,
    reservation_release,
    reservation_take,
    reservations_release_expired,
    seller_register,
    stall_create,
    stall_update,
)

HOUR = timedelta(hours=1)


def take(item, holder, quantity=1, ttl=HOUR):
    return reservation_take(
        item=item, holder=holder, reason=Reservation.Reason.CHECKOUT, quantity=quantity, ttl=ttl
    )


def update(item, actor, **changes):
    fields = {
        "title": item.title,
        "description": item.description,
        "price_cents": item.price_cents,
        "currency": item.currency,
        "inventory": item.inventory,
    }
    return item_update(actor=actor, item=item, **{**fields, **changes})


@pytest.mark.django_db
def test_available_is_inventory_minus_active_reservations(stall, make_item, make_user):
    item = make_item(stall, inventory=3)
    buyer = make_user("buyer")
    take(item, buyer, quantity=2)
    assert item_available_quantity(item=item) == 1


@pytest.mark.django_db
def test_reserving_more_than_available_is_refused_and_changes_nothing(stall, make_item, make_user):
    item = make_item(stall, inventory=1)
    take(item, make_user("first"))
    with pytest.raises(Conflict, match="sold out"):
        take(item, make_user("second"))
    assert Reservation.objects.count() == 1
    assert StockEvent.objects.filter(kind="reserved").count() == 1


@pytest.mark.django_db
def test_expired_reservations_stop_counting_and_the_sweep_records_their_release(
    stall, make_item, make_user
):
    item = make_item(stall, inventory=1)
    reservation = take(item, make_user("slow"), ttl=timedelta(seconds=-1))
    assert item_available_quantity(item=item) == 1
    assert reservations_release_expired() == 1
    assert reservations_release_expired() == 0
    reservation.refresh_from_db()
    assert reservation.released_at is not None
    assert StockEvent.objects.filter(kind="released", note="expired").count() == 1


@pytest.mark.django_db
def test_release_is_idempotent_and_frees_the_unit(stall, make_item, make_user):
    item = make_item(stall, inventory=1)
    reservation = take(item, make_user("changed_mind"))
    assert reservation_release(reservation=reservation) is True
    assert reservation_release(reservation=reservation) is False
    assert item_available_quantity(item=item) == 1


@pytest.mark.django_db
def test_consuming_a_reservation_takes_the_unit_out_of_inventory(stall, make_item, make_user):
    item = make_item(stall, inventory=2)
    reservation = take(item, make_user("payer"))
    reservation_consume(reservation=reservation)
    item.refresh_from_db()
    assert item.inventory == 1
    assert item_available_quantity(item=item) == 1
    with pytest.raises(Conflict):
        reservation_consume(reservation=reservation)


@pytest.mark.django_db
def test_inventory_cannot_drop_below_what_buyers_hold(stall, make_item, make_user):
    item = make_item(stall, inventory=3)
    take(item, make_user("holder"), quantity=2)
    with pytest.raises(Conflict, match="2 unit"):
        update(item, stall.seller.user, inventory=1)
    update(item, stall.seller.user, inventory=2)
    item.refresh_from_db()
    assert item.inventory == 2


@pytest.mark.django_db
def test_item_without_history_is_deleted_and_with_history_archived(stall, make_item, make_user):
    fresh = make_item(stall, title="Never sold")
    assert item_delete(actor=stall.seller.user, item=fresh) == "deleted"
    assert not Item.objects.filter(pk=fresh.pk).exists()

    traded = make_item(stall, title="Once held")
    reservation_release(reservation=take(traded, make_user("browser")))
    assert item_delete(actor=stall.seller.user, item=traded) == "archived"
    traded.refresh_from_db()
    assert traded.archived_at is not None


@pytest.mark.django_db
def test_item_held_by_a_buyer_cannot_be_archived_away(stall, make_item, make_user):
    item = make_item(stall)
    take(item, make_user("holding"))
    with pytest.raises(Conflict, match="reservations"):
        item_delete(actor=stall.seller.user, item=item)
    item.refresh_from_db()
    assert item.archived_at is None


@pytest.mark.django_db
def test_archived_items_cannot_be_reserved(stall, make_item, make_user):
    item = make_item(stall)
    reservation_release(reservation=take(item, make_user("early")))
    item_delete(actor=stall.seller.user, item=item)
    with pytest.raises(Conflict, match="no longer for sale"):
        take(item, make_user("late"))


@pytest.mark.django_db
def test_only_the_seller_or_a_steward_may_change_a_stall(stall, make_item, make_user):
    item = make_item(stall)
    stranger = make_user("stranger")
    with pytest.raises(NotAllowed):
        update(item, stranger, title="Mine now")
    steward = make_user("steward")
    role_grant(user=steward, role=Role.STEWARD)
    update(item, steward, title="Retitled by a steward")
    item.refresh_from_db()
    assert item.title == "Retitled by a steward"


@pytest.mark.django_db
def test_one_stall_per_seller_and_one_stall_per_slot(make_stall, make_user):
    first = make_stall("first", slot=0)
    with pytest.raises(Conflict, match="one stall"):
        stall_create(
            user=first.seller.user,
            name="Second",
            description="",
            section_x=1,
            section_y=1,
            slot=0,
        )
    late = make_user("late")
    seller_register(user=late, legal_name="Late Comer", country="US")
    with pytest.raises(Conflict, match="taken"):
        stall_create(user=late, name="Clash", description="", section_x=0, section_y=0, slot=0)


@pytest.mark.django_db
def test_stall_must_be_placed_in_an_existing_section_and_slot(make_user, market):
    user = make_user("placer")
    seller_register(user=user, legal_name="Placer", country="US")
    with pytest.raises(Invalid, match="no section 9/9"):
        stall_create(user=user, name="Far", description="", section_x=9, section_y=9, slot=0)
    with pytest.raises(Invalid, match="slot"):
        stall_create(user=user, name="Odd", description="", section_x=0, section_y=0, slot=9)


@pytest.mark.django_db
def test_moving_a_stall_keeps_its_own_slot_free_for_itself(stall):
    moved = stall_update(
        actor=stall.seller.user,
        stall=stall,
        name=stall.name,
        description="",
        section_x=0,
        section_y=0,
        slot=stall.slot,
    )
    assert moved.slot == stall.slot
    moved = stall_update(
        actor=stall.seller.user,
        stall=stall,
        name=stall.name,
        description="",
        section_x=2,
        section_y=1,
        slot=5,
    )
    assert (moved.section.x, moved.section.y, moved.slot) == (2, 1, 5)


@pytest.mark.django_db
def test_description_markdown_is_rendered_and_sanitized(stall):
    updated = stall_update(
        actor=stall.seller.user,
        stall=stall,
        name=stall.name,
        description=(
            "**Bold** <script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror=y>"
        ),
        section_x=0,
        section_y=0,
        slot=stall.slot,
    )
    assert "<strong>Bold</strong>" in updated.description_html
    assert "<script" not in updated.description_html
    assert "javascript:" not in updated.description_html
    assert "onerror" not in updated.description_html


@pytest.mark.django_db
def test_becoming_a_seller_twice_is_refused(make_user):
    user = make_user("twice")
    seller = seller_register(user=user, legal_name="Twice", country="us")
    assert (seller.kyc_status, seller.country) == ("pending", "US")
    with pytest.raises(Conflict):
        seller_register(user=user, legal_name="Twice", country="US")


@pytest.mark.django_db
def test_every_stock_change_leaves_an_audit_row(stall, make_item, make_user):
    item = make_item(stall, inventory=2)
    reservation = take(item, make_user("audited"))
    reservation_consume(reservation=reservation)
    update(item, stall.seller.user, inventory=5)
    kinds = list(item.stock_events.order_by("pk").values_list("kind", flat=True))
    assert kinds == ["inventory_set", "reserved", "consumed", "inventory_set"]


@pytest.mark.django_db
def test_reservation_expiry_uses_the_server_clock(stall, make_item, make_user):
    item = make_item(stall)
    reservation = take(item, make_user("timed"), ttl=timedelta(minutes=10))
    assert timezone.now() < reservation.expires_at <= timezone.now() + timedelta(minutes=10)


@pytest.mark.django_db
def test_an_unverified_email_cannot_open_a_stall_yet(make_user):
    user = make_user("unverified", verified=False)
    with pytest.raises(NotAllowed, match="Verify your email"):
        seller_register(user=user, legal_name="Not Yet", country="US")


@pytest.mark.django_db
def test_items_are_priced_in_the_market_currency(stall):
    from stalls.services import item_create

    with pytest.raises(Invalid, match="USD only"):
        item_create(
            actor=stall.seller.user,
            stall=stall,
            title="Euro thing",
            description="",
            price_cents=100,
            currency="EUR",
            inventory=1,
        )


@pytest.mark.django_db
def test_catalog_fields_are_checked_and_kept_through_updates(stall):
    from stalls.services import item_create

    seller = stall.seller.user
    item = item_create(
        actor=seller,
        stall=stall,
        title="Rangefinder",
        description="",
        price_cents=30000,
        currency="USD",
        inventory=1,
        category="cameras",
        condition="good",
        brand="  Leica ",
        size="",
    )
    assert (item.category, item.condition, item.brand) == ("cameras", "good", "Leica")
    update(item, seller, price_cents=28000)  # catalog fields not given: kept
    item.refresh_from_db()
    assert (item.category, item.condition, item.brand, item.price_cents) == (
        "cameras",
        "good",
        "Leica",
        28000,
    )
    for bad, message in [
        ({"category": "spaceships"}, "Choose a category"),
        ({"condition": "mint"}, "Choose the item's condition"),
        ({"size": "x" * 31}, "The size is at most 30 characters."),
    ]:
        with pytest.raises(Invalid, match=message):
            update(item, seller, **bad)
    item.refresh_from_db()
    assert (item.category, item.condition, item.size) == ("cameras", "good", "")
