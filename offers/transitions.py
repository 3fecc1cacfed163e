"""An offer's status changes: the table of allowed moves and the one function that
makes them, each written to the audit trail (`OfferEvent`). Split from `services`,
whose actions call it."""

from bazaar import metrics
from bazaar.cache import changed_on_commit
from bazaar.errors import Conflict
from bazaar.prepared import PreparedInsert, PreparedUpdate

from .models import Offer, OfferEvent

Status = Offer.Status

# The allowed moves. Everything not listed (countered, declined, expired, withdrawn,
# purchased) is terminal.
TRANSITIONS: dict[str, set[str]] = {
    Status.PENDING: {
        Status.COUNTERED,
        Status.ACCEPTED,
        Status.DECLINED,
        Status.EXPIRED,
        Status.WITHDRAWN,
    },
    Status.ACCEPTED: {Status.PURCHASED, Status.EXPIRED, Status.WITHDRAWN},
}


# An action's inserts and its offer's update, compiled once (`bazaar.prepared`; nothing
# listens to an offer's saving, so an update is what `save(update_fields=…)` did).
NEW_OFFER = PreparedInsert(Offer)
# The audit row is read back by nobody: its INSERT waits for no answer (in the
# action's pipeline it goes with the next statement read, or the COMMIT).
_NEW_EVENT = PreparedInsert(OfferEvent, read_back=False)
_OFFER_SAVE = PreparedUpdate(
    lambda columns, pk, *values: (
        Offer.objects.filter(pk=pk),
        {"ladder_pending": True, **dict(zip(columns, values, strict=True))},
    )
)


def accepted_scope(buyer_id: int) -> str:
    """What an offer of the buyer's becoming accepted, or ceasing to be, marks changed
    (the stall page's cart buttons keep the buyer's accepted offers until then)."""
    return f"offers-accepted:{buyer_id}"


def transition(
    offer: Offer, to: str, *, actor=None, note: str = "", key: str = "", fields=()
) -> OfferEvent:
    """Move `offer` to status `to` if the table allows it, and record who did it;
    `fields` the caller changed on `offer` are saved in the same update."""
    if to not in TRANSITIONS.get(offer.status, set()):
        raise Conflict(
            f"This offer is {offer.get_status_display().lower()}; it cannot become {to} now."
        )
    event = _NEW_EVENT.create(
        offer=offer,
        from_status=offer.status,
        to_status=to,
        actor=actor,
        note=note,
        idempotency_key=key,
    )
    if actor is not None:
        metrics.counted_on_commit(metrics.offer_actions, 1, to=to)
    if Status.ACCEPTED in (offer.status, to):
        changed_on_commit(accepted_scope(offer.buyer_id))
    offer.status = to
    offer.updated_at = event.occurred_at
    offer.ladder_pending = True  # see `ladder.publish`, which every transition calls
    columns = ("status", "updated_at", *(Offer._meta.get_field(name).attname for name in fields))
    _OFFER_SAVE.send(offer.pk, *(getattr(offer, column) for column in columns), shape=(columns,))
    return event


def record_creation(offer: Offer, *, actor, key: str) -> None:
    _NEW_EVENT.create(
        offer=offer, to_status=offer.status, actor=actor, note="made", idempotency_key=key
    )
    metrics.counted_on_commit(metrics.offer_actions, 1, to=offer.status)
