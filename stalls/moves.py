"""A steward moves a stall to a free slot, or swaps it with the stall in the slot.

One call, one transaction. The stalls involved are locked in id order (two stewards
swapping the same pair cannot deadlock), then checked against what the steward saw
on the map: the stall still where they dragged it from, the target still holding
what they dropped it on. A steward who lost a race gets a Conflict saying what
happened, and nothing changes. A move into a free slot that another steward fills
meanwhile loses on the (section, slot) unique constraint, with the same kind of
message. A swap parks the first stall (slot NULL) for the length of one statement,
inside the locked transaction: no reader ever sees it unplaced.

Audited (who, why, from where to where), told to open market pages of both sections
after commit, and to the sellers by notice.
"""

from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.urls import reverse

from bazaar.errors import Conflict, Invalid, NotFound
from governance.models import StewardAction
from governance.services import reason_clean, require_steward, steward_action_record
from notifications.models import Kind
from notifications.services import notify

from .models import SLOTS_PER_SECTION, Stall
from .selectors import section_at, section_by_pk
from .services import sections_changed


@dataclass(frozen=True)
class Place:
    """A slot of a section, by the section's coordinates (slot 0-8, row-major)."""

    x: int
    y: int
    slot: int

    def __str__(self) -> str:
        return f"section {self.x}/{self.y}, slot {self.slot + 1}"


@dataclass(frozen=True)
class MoveResult:
    stall: Stall
    swapped_with: Stall | None
    origin: Place
    target: Place


def _place_of(stall: Stall) -> Place:
    """Where a locked stall is now (its section read after the lock)."""
    section = section_by_pk(pk=stall.section_id)
    return Place(section.x, section.y, stall.slot)


def _park_and_swap(stall: Stall, other: Stall, *, section, slot: int) -> None:
    """`stall` takes `other`'s place and `other` takes `stall`'s. Both rows are
    locked by the caller; the unique index allows no two stalls in one slot even for
    a moment, so `stall` waits unplaced while `other` moves."""
    origin_section_id, origin_slot = stall.section_id, stall.slot
    Stall.objects.filter(pk=stall.pk).update(slot=None)
    Stall.objects.filter(pk=other.pk).update(section_id=origin_section_id, slot=origin_slot)
    Stall.objects.filter(pk=stall.pk).update(section_id=section.pk, slot=slot)


@transaction.atomic
def stall_move(
    *,
    actor,
    stall_public_id: str,
    origin: Place,
    target: Place,
    expected_occupant: str,
    reason: str,
) -> MoveResult:
    """Move the stall the steward saw at `origin` to `target`. `expected_occupant` is
    the public id of the stall the steward saw at the target ("" for a free slot):
    a swap happens only when that stall is still there."""
    require_steward(actor, "can move stalls")
    reason = reason_clean(reason, asked="Say why you are moving the stall")
    if not 0 <= target.slot < SLOTS_PER_SECTION:
        raise Invalid(f"Choose a slot from 1 to {SLOTS_PER_SECTION}.")
    section = section_at(x=target.x, y=target.y)
    if section is None:
        raise Invalid(f"There is no section {target.x}/{target.y} in the market.")
    stall = Stall.objects.filter(public_id=stall_public_id).only("pk").first()
    if stall is None:
        raise NotFound("That stall no longer exists.")
    if (origin.x, origin.y, origin.slot) == (target.x, target.y, target.slot):
        raise Invalid("The stall is already in that slot.")

    ids = {stall.pk}
    occupant_id = None
    if expected_occupant:
        occupant_id = (
            Stall.objects.filter(public_id=expected_occupant).values_list("pk", flat=True).first()
        )
        if occupant_id is None:
            raise Conflict("The stall in that slot has gone meanwhile; the map is refreshed.")
        ids.add(occupant_id)
    # Nothing joined into the locking query: after waiting for a lock PostgreSQL
    # re-reads the locked row only, so a joined section would be the old one and
    # the moved row would drop out of the result.
    locked = {
        row.pk: row for row in Stall.objects.select_for_update().filter(pk__in=ids).order_by("pk")
    }
    stall = locked.get(stall.pk)
    if stall is None:
        raise NotFound("That stall no longer exists.")
    if _place_of(stall) != origin:
        raise Conflict(
            f"“{stall.name}” was moved meanwhile (it is now in {_place_of(stall)}); "
            "the map is refreshed."
        )
    occupant = locked.get(occupant_id) if occupant_id else None
    if occupant_id is not None and (occupant is None or _place_of(occupant) != target):
        raise Conflict("The stall in that slot was moved meanwhile; the map is refreshed.")
    if occupant is None and Stall.objects.filter(section=section, slot=target.slot).exists():
        raise Conflict(f"A stall just took {target}; the map is refreshed.")

    origin_section = section_by_pk(pk=stall.section_id)
    try:
        with transaction.atomic():
            if occupant is None:
                Stall.objects.filter(pk=stall.pk).update(section_id=section.pk, slot=target.slot)
            else:
                _park_and_swap(stall, occupant, section=section, slot=target.slot)
    except IntegrityError as error:
        raise Conflict(f"A stall just took {target}; the map is refreshed.") from error
    stall.refresh_from_db(fields=["section", "slot"])

    steward_action_record(
        actor=actor,
        action=StewardAction.Action.STALL_SWAP if occupant else StewardAction.Action.STALL_MOVE,
        target_kind="stall",
        target_ref=stall.public_id,
        target_label=stall.name,
        reason=reason,
        detail={
            "from": [origin.x, origin.y, origin.slot],
            "to": [target.x, target.y, target.slot],
            "swapped_with": occupant.public_id if occupant else "",
            "swapped_with_name": occupant.name if occupant else "",
        },
    )
    sections_changed(origin_section, section)
    _tell_seller(stall, origin, target, reason)
    if occupant is not None:
        _tell_seller(occupant, target, origin, reason)
    return MoveResult(stall=stall, swapped_with=occupant, origin=origin, target=target)


def _tell_seller(stall: Stall, origin: Place, target: Place, reason: str) -> None:
    notify(
        stall.seller.user,
        Kind.STALL_MOVED,
        title=f"A steward moved “{stall.name}” to {target}",
        url=reverse("market:section", args=[target.x, target.y]),
        body=f"It was in {origin}. The steward's reason: {reason}",
    )
