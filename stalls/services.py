"""Writes for sellers, stalls, items, photos and the stock reservation ledger.

Every service takes the acting user and checks it here, so views stay thin and
the authorization rule lives in one place. Stock moves only through the
reservation functions at the bottom, under a row lock on the item.
"""

import json
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models.deletion import ProtectedError
from django.utils import timezone

from bazaar.broadcast import MARKET_GROUP, broadcast_on_commit
from bazaar.errors import Conflict, Invalid, NotAllowed, NotFound
from bazaar.prepared import Prepared, PreparedInsert
from governance.selectors import user_is_steward
from governance.services import roles_changed

from . import signals
from .cards import stall_item_cards_forget
from .markdown import render_markdown
from .models import (
    SLOTS_PER_SECTION,
    Category,
    Condition,
    Item,
    Photo,
    Reservation,
    SellerProfile,
    Stall,
    StockEvent,
)
from .room.document import stall_group
from .selectors import (
    free_slots,
    item_available_quantity,
    item_stock,
    section_at,
    section_cards_cache_key,
)


def sections_changed(*sections) -> None:
    """After commit: drop the cached cards of sections whose stalls changed and
    tell open market pages to refresh them."""
    unique = {section.pk: section for section in sections}.values()
    keys = [section_cards_cache_key(section.pk) for section in unique]
    transaction.on_commit(lambda: cache.delete_many(keys))
    for section in unique:
        broadcast_on_commit(
            MARKET_GROUP,
            {
                "type": "market.event",
                "payload": {"type": "section_changed", "x": section.x, "y": section.y},
            },
        )


def _stock_changed(item: Item, stock: tuple[int, int] | None = None) -> None:
    """After commit: tell the stall's open pages how many units are left and held
    (`stock`, as `item_stock` gives it, when the caller already knows), and drop the
    stall page's cached cards."""
    available, on_hold = stock or item_stock(item=item)
    stall_item_cards_forget(stall_id=item.stall_id)
    frame = {"type": "stock", "item": item.public_id, "available": available, "on_hold": on_hold}
    broadcast_on_commit(
        stall_group(item.stall.public_id), {"type": "stock.changed", "frame": json.dumps(frame)}
    )


def require_stall_editor(*, actor, stall: Stall) -> None:
    """The stall's seller or a steward; anyone else may look but not touch (403)."""
    if stall.seller.user_id == actor.pk:
        return
    if actor.is_authenticated and user_is_steward(user=actor):
        return
    raise NotAllowed("Only this stall's seller or a steward can change it.")


# Sellers


@transaction.atomic
def seller_register(*, user, legal_name: str, country: str) -> SellerProfile:
    """A buyer becomes a seller; payouts wait until KYC is approved."""
    if SellerProfile.objects.filter(user=user).exists():
        raise Conflict("You are already a seller.")
    if not user.email_verified:
        raise NotAllowed("Verify your email address before you open a stall.")
    legal_name = legal_name.strip()
    if not legal_name:
        raise Invalid("Enter your legal name.")
    seller = SellerProfile.objects.create(user=user, legal_name=legal_name, country=country.upper())
    roles_changed(user_id=user.pk)
    return seller


@transaction.atomic
def seller_kyc_decide(*, seller: SellerProfile, approved: bool) -> SellerProfile:
    seller = SellerProfile.objects.select_for_update().get(pk=seller.pk)
    seller.kyc_status = SellerProfile.Kyc.APPROVED if approved else SellerProfile.Kyc.REJECTED
    seller.kyc_decided_at = timezone.now()
    seller.save(update_fields=["kyc_status", "kyc_decided_at"])
    return seller


# Stalls


def _place(*, section_x: int, section_y: int, slot: int, stall: Stall | None = None):
    section = section_at(x=section_x, y=section_y)
    if section is None:
        raise Invalid(f"There is no section {section_x}/{section_y} in the market.")
    if not 0 <= slot < SLOTS_PER_SECTION:
        raise Invalid(f"Choose a slot from 1 to {SLOTS_PER_SECTION}.")
    if slot not in free_slots(section_id=section.pk, keep_stall=stall):
        raise Conflict(f"Slot {slot + 1} of section {section_x}/{section_y} is taken.")
    return section


def _save_placed(stall: Stall) -> None:
    """Save a stall whose slot may have been taken by a racing seller meanwhile."""
    try:
        with transaction.atomic():
            stall.save()
    except IntegrityError as exc:
        raise Conflict("That slot was just taken; choose another.") from exc


@transaction.atomic
def stall_create(
    *, user, name: str, description: str, section_x: int, section_y: int, slot: int
) -> Stall:
    seller = SellerProfile.objects.filter(user=user).first()
    if seller is None:
        raise NotAllowed("Become a seller before opening a stall.")
    if Stall.objects.filter(seller=seller).exists():
        raise Conflict("You already have a stall; a seller runs one stall.")
    section = _place(section_x=section_x, section_y=section_y, slot=slot)
    stall = Stall(
        seller=seller,
        section=section,
        slot=slot,
        name=name.strip(),
        description=description,
        description_html=render_markdown(description),
    )
    stall.full_clean(exclude=["seller", "section"])
    _save_placed(stall)
    sections_changed(section)
    return stall


@transaction.atomic
def stall_update(
    *,
    actor,
    stall: Stall,
    name: str,
    description: str,
    section_x: int,
    section_y: int,
    slot: int,
) -> Stall:
    require_stall_editor(actor=actor, stall=stall)
    old_section = stall.section
    section = _place(section_x=section_x, section_y=section_y, slot=slot, stall=stall)
    stall.name = name.strip()
    stall.description = description
    stall.description_html = render_markdown(description)
    stall.section = section
    stall.slot = slot
    stall.updated_at = timezone.now()
    stall.full_clean(exclude=["seller", "section"])
    _save_placed(stall)
    sections_changed(old_section, section)
    return stall


# Items


def _validate_item(
    *, title: str, price_cents: int, currency: str, inventory: int, catalog: dict
) -> dict:
    """Refuse what the item cannot be; return its catalog fields (category,
    condition, brand, size) cleaned."""
    if not title.strip():
        raise Invalid("Give the item a title.")
    if price_cents <= 0:
        raise Invalid("The price must be more than zero.")
    if inventory < 0:
        raise Invalid("Inventory cannot be negative.")
    if currency.upper() != settings.MARKET_CURRENCY:
        raise Invalid(f"This market trades in {settings.MARKET_CURRENCY} only.")
    if catalog["category"] not in Category.values:
        raise Invalid("Choose a category from the list.")
    if catalog["condition"] not in ("", *Condition.values):  # "": not stated
        raise Invalid("Choose the item's condition from the list.")
    cleaned = {**catalog, "brand": catalog["brand"].strip(), "size": catalog["size"].strip()}
    for name in ("brand", "size"):
        limit = Item._meta.get_field(name).max_length
        if len(cleaned[name]) > limit:
            raise Invalid(f"The {name} is at most {limit} characters.")
    return cleaned


def _room_for_another_item(stall: Stall) -> None:
    """A stall holds at most ITEMS_PER_STALL items on sale: each may carry photos, so
    the cap bounds what one seller stores. Counted under the stall's lock, so two
    items added at once cannot both take the last place."""
    list(Stall.objects.select_for_update().filter(pk=stall.pk).values_list("pk"))
    limit = settings.ITEMS_PER_STALL
    if Item.objects.filter(stall=stall, archived_at__isnull=True).count() >= limit:
        raise Conflict(
            f"A stall can have {limit} items on sale at once. "
            "Delete or sell some before adding another.",
            code="stall_full",
        )


@transaction.atomic
def item_create(
    *,
    actor,
    stall: Stall,
    title: str,
    description: str,
    price_cents: int,
    currency: str,
    inventory: int,
    category: str = Category.OTHER,
    condition: str = "",
    brand: str = "",
    size: str = "",
) -> Item:
    require_stall_editor(actor=actor, stall=stall)
    catalog = _validate_item(
        title=title,
        price_cents=price_cents,
        currency=currency,
        inventory=inventory,
        catalog={"category": category, "condition": condition, "brand": brand, "size": size},
    )
    _room_for_another_item(stall)
    item = Item.objects.create(
        stall=stall,
        title=title.strip(),
        description=description,
        price_cents=price_cents,
        currency=currency.upper(),
        inventory=inventory,
        **catalog,
    )
    StockEvent.objects.create(
        item=item, kind=StockEvent.Kind.INVENTORY_SET, actor=actor, quantity=inventory
    )
    sections_changed(stall.section)
    stall_item_cards_forget(stall_id=stall.pk)
    signals.item_listed.send(sender=Item, item=item)
    return item


@transaction.atomic
def item_update(
    *,
    actor,
    item: Item,
    title: str,
    description: str,
    price_cents: int,
    currency: str,
    inventory: int,
    category: str | None = None,
    condition: str | None = None,
    brand: str | None = None,
    size: str | None = None,
) -> Item:
    """Replace the item's fields; a catalog field left at None keeps its value."""
    require_stall_editor(actor=actor, stall=item.stall)
    given = {"category": category, "condition": condition, "brand": brand, "size": size}
    catalog = _validate_item(
        title=title,
        price_cents=price_cents,
        currency=currency,
        inventory=inventory,
        catalog={
            name: getattr(item, name) if value is None else value for name, value in given.items()
        },
    )
    item = item_lock(item_id=item.pk)
    _, reserved = item_stock(item=item)
    if inventory < reserved:
        raise Conflict(
            f"{reserved} unit(s) are reserved by buyers; inventory cannot go below that."
        )
    if inventory != item.inventory:
        StockEvent.objects.create(
            item=item, kind=StockEvent.Kind.INVENTORY_SET, actor=actor, quantity=inventory
        )
    item.title = title.strip()
    item.description = description
    signals.item_price_changing.send(sender=Item, item=item, price_cents=price_cents)
    item.price_cents = price_cents
    item.currency = currency.upper()
    item.inventory = inventory
    for name, value in catalog.items():
        setattr(item, name, value)
    item.updated_at = timezone.now()
    item.save()
    sections_changed(item.stall.section)
    _stock_changed(item)
    return item


@transaction.atomic
def item_delete(*, actor, item: Item) -> str:
    """Delete an item nobody has referred to; archive one with history.

    Anything that must outlive the item (reservations now; offers, orders and
    auctions later) points at it with PROTECT, so deletion refusing is the test.
    Returns "deleted" or "archived".
    """
    require_stall_editor(actor=actor, stall=item.stall)
    sections_changed(item.stall.section)
    stall_item_cards_forget(stall_id=item.stall_id)
    try:
        with transaction.atomic():
            item.delete()
        return "deleted"
    except ProtectedError:
        pass
    item = item_lock(item_id=item.pk)
    if item_available_quantity(item=item) < item.inventory:
        raise Conflict("Buyers hold reservations on this item; it can be archived once they end.")
    item.archived_at = timezone.now()
    item.save(update_fields=["archived_at"])
    StockEvent.objects.create(item=item, kind=StockEvent.Kind.ARCHIVED, actor=actor)
    return "archived"


# Photos


@transaction.atomic
def photo_add(*, actor, stall: Stall, item: Item | None, processed) -> Photo:
    """Attach an image that `stalls.images` has already checked and re-encoded."""
    require_stall_editor(actor=actor, stall=stall)
    if item is not None and item.stall_id != stall.pk:
        raise NotAllowed("That item belongs to another stall.")
    existing = Photo.objects.filter(stall=stall, item=item).count()
    limit = settings.PHOTOS_PER_ITEM if item else settings.PHOTOS_PER_STALL
    if existing >= limit:
        raise Conflict(f"At most {limit} photos; delete one first.")
    photo = Photo(
        stall=stall,
        item=item,
        position=existing,
        width=processed.width,
        height=processed.height,
    )
    photo.image.save(processed.name, processed.image, save=False)
    photo.thumbnail.save(processed.name, processed.thumbnail, save=False)
    photo.save()
    sections_changed(stall.section)
    stall_item_cards_forget(stall_id=stall.pk)
    return photo


@transaction.atomic
def photo_delete(*, actor, photo: Photo) -> None:
    require_stall_editor(actor=actor, stall=photo.stall)
    files = [photo.image, photo.thumbnail]
    photo.delete()
    transaction.on_commit(lambda: [f.storage.delete(f.name) for f in files if f.name])
    sections_changed(photo.stall.section)
    stall_item_cards_forget(stall_id=photo.stall_id)


# The stock reservation ledger


# Compiled once per shape (`bazaar.prepared`): every stock change's first query.
_ITEM_LOCKED = Prepared(
    lambda by, related, value: (
        Item.objects.select_for_update(of=("self",))
        .select_related("stall__seller__user", *related)
        .filter(**{by: value})[:1]
    )
)


def item_lock(*, item_id: int | None = None, public_id: str = "", related=()) -> Item:
    """The lock every stock change takes first, so actions on one item queue in one order.

    Call it inside a transaction, before locking anything that hangs off the item. The
    item comes with its stall and seller, which callers' permission rules read, and
    with the one-to-one rows named in `related` (read, not locked), so a caller's
    first read is this one query. By `item_id` or by `public_id` (NotFound then).
    """
    by, value = ("pk", item_id) if item_id is not None else ("public_id", public_id)
    item = _ITEM_LOCKED.first(value, shape=(by, tuple(related)))
    if item is not None:
        return item
    if item_id is not None:
        raise Item.DoesNotExist(f"No item {item_id}.")
    raise NotFound("No item has that address.")


def reservation_take(
    *,
    item: Item,
    holder,
    reason: Reservation.Reason,
    quantity: int = 1,
    ttl: timedelta,
    reference: str = "",
    item_locked: bool = False,
) -> Reservation:
    """Hold `quantity` units for `holder`; refuses when fewer are available.

    The item row is locked first, so two buyers racing for the last unit are
    serialized and exactly one gets it. With `item_locked` the caller already holds
    `item_lock` on `item` in its transaction (an offer action): no second lock and no
    savepoint, since a refusal comes before anything is written.
    """
    if item_locked:
        return _reserve(item, holder, reason, quantity, ttl, reference)
    with transaction.atomic():
        return _reserve(item_lock(item_id=item.pk), holder, reason, quantity, ttl, reference)


# A reservation's two inserts, compiled once (`bazaar.prepared`): an accepted offer's
# and a checkout's hot path.
_NEW_RESERVATION = PreparedInsert(Reservation)
_NEW_STOCK_EVENT = PreparedInsert(StockEvent, read_back=False)  # nobody reads its id back


def _reserve(
    item: Item, holder, reason, quantity: int, ttl: timedelta, reference: str
) -> Reservation:
    """`reservation_take` on an item locked by the caller."""
    if quantity < 1:
        raise Invalid("Reserve at least one unit.")
    if item.archived_at is not None:
        raise Conflict("This item is no longer for sale.")
    available, on_hold = item_stock(item=item)
    if available < quantity:
        raise Conflict("Sorry, that item just sold out.", code="out_of_stock")
    reservation = _NEW_RESERVATION.create(
        item=item,
        holder=holder,
        reason=reason,
        quantity=quantity,
        reference=reference,
        expires_at=timezone.now() + ttl,
    )
    _NEW_STOCK_EVENT.create(
        item=item,
        kind=StockEvent.Kind.RESERVED,
        actor=holder,
        reservation=reservation,
        quantity=quantity,
        note=reason,
    )
    _stock_changed(item, (available - quantity, on_hold + quantity))
    return reservation


@transaction.atomic
def reservation_release(*, reservation: Reservation, note: str = "") -> bool:
    """Give the units back. Safe to call twice: returns False if already ended."""
    item = item_lock(item_id=reservation.item_id)
    reservation = Reservation.objects.select_for_update().get(pk=reservation.pk)
    if reservation.released_at or reservation.consumed_at:
        return False
    reservation.released_at = timezone.now()
    reservation.save(update_fields=["released_at"])
    StockEvent.objects.create(
        item=item,
        kind=StockEvent.Kind.RELEASED,
        reservation=reservation,
        quantity=reservation.quantity,
        note=note,
    )
    _stock_changed(item)
    return True


@transaction.atomic
def reservation_consume(*, reservation: Reservation) -> Item:
    """A sale completed: the reserved units leave the inventory for good."""
    item = item_lock(item_id=reservation.item_id)
    reservation = Reservation.objects.select_for_update().get(pk=reservation.pk)
    if reservation.released_at or reservation.consumed_at:
        raise Conflict("This reservation has already ended.")
    reservation.consumed_at = timezone.now()
    reservation.save(update_fields=["consumed_at"])
    item.inventory -= reservation.quantity
    item.save(update_fields=["inventory"])
    StockEvent.objects.create(
        item=item,
        kind=StockEvent.Kind.CONSUMED,
        reservation=reservation,
        quantity=reservation.quantity,
    )
    sections_changed(item.stall.section)
    _stock_changed(item)
    return item


def reservations_release_expired(*, now=None) -> int:
    """Record the release of reservations whose time ran out (they already stopped
    counting at expiry; this writes the audit row). Returns how many."""
    now = now or timezone.now()
    due = Reservation.objects.filter(
        released_at__isnull=True, consumed_at__isnull=True, expires_at__lte=now
    ).values_list("pk", flat=True)[:500]
    released = 0
    for reservation in Reservation.objects.filter(pk__in=list(due)):
        released += reservation_release(reservation=reservation, note="expired")
    return released
