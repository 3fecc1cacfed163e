"""Offers on the stall socket: a haggle's actions as intents on `/ws/stalls/<ulid>/`.

The offer page already holds the stall's socket, where the other party's answer
arrives (`offer` frames, offers.ladder). Sending the action there too spares each
one an HTTP request: its parsing, the middleware, the session and the user read
again (issue 15). The action is the same service call as the POST, with the same
idempotency key, so a key sent again (over either path) gets the first answer; the
acknowledgement goes only after the action's transaction has committed. The HTTP
form stays for pages without scripts and for the API.
"""

from bazaar.consumers import in_db_pool
from bazaar.errors import DomainError, Invalid, NotAllowed
from bazaar.idempotency import valid_key
from stalls.room.consumers import StallRoomConsumer

from . import services
from .ladder import offer_private_entry
from .selectors import action_notice

ANSWERS = {
    "accept": services.offer_accept,
    "decline": services.offer_decline,
    "withdraw": services.offer_withdraw,
}
ACTIONS = ("make", "counter", *ANSWERS)


def _typed(frame: dict) -> dict:
    """The amount (cents, or the text a person typed) and the message of a frame."""
    amount = frame.get("amount", "")
    if isinstance(amount, bool) or not isinstance(amount, int | str):
        raise Invalid("`amount` is an amount in cents or as text.", code="bad_amount")
    message = frame.get("message", "")
    if not isinstance(message, str):
        raise Invalid("`message` is text.", code="bad_frame")
    return {"amount_cents": amount, "message": message}


def _offer_run(user, frame: dict):
    """The frame's action, run as the POST runs it."""
    action, key, target = frame.get("action"), frame.get("key"), frame.get("id")
    if action not in ACTIONS:
        raise Invalid(f"`action` is one of {', '.join(ACTIONS)}.", code="bad_action")
    if not isinstance(key, str) or not valid_key(key):
        raise Invalid(
            "An offer action needs an idempotency key (16-64 letters, digits, - or _).",
            code="idempotency_key",
        )
    if not isinstance(target, str):
        raise Invalid("`id` is the item's (make) or the offer's public id.", code="bad_frame")
    if action == "make":
        return services.offer_make(buyer=user, item=target, idempotency_key=key, **_typed(frame))
    if action == "counter":
        return services.offer_counter(
            actor=user, offer=target, idempotency_key=key, **_typed(frame)
        )
    return ANSWERS[action](actor=user, offer=target, idempotency_key=key)


def _refused(refusal: DomainError) -> dict:
    """A refusal's acknowledgement: what the POST's JSON answer says."""
    return {"ok": False, "code": refusal.code, "message": refusal.message}


def offer_act(user, frame: dict) -> dict:
    """The acknowledgement of the frame's action (database thread), once committed:
    `ok`, the offer as its buyer and seller see it and what the POST's panel would say,
    or the refusal's `code` and `message`.

    A refusal is returned, not raised: raised across the hop to the thread, its
    traceback held the awaiting frames and the future that held it, a reference cycle
    per refused intent (docs/decisions.md, issue 15, session offers3)."""
    try:
        offer = _offer_run(user, frame)
    except DomainError as refusal:
        return _refused(refusal)
    return {"ok": True, "offer": offer_private_entry(offer), "notice": action_notice(offer, user)}


# Made once: building asgiref's wrapper per intent (its checks of the function) was
# 2.5% of a socket action's server time (issue 15, session offers7).
_offer_act_in_pool = in_db_pool(offer_act)


class OfferRoomConsumer(StallRoomConsumer):
    """The stall room, where a signed-in visitor may also make and answer offers."""

    frame_handlers = {**StallRoomConsumer.frame_handlers, "offer": "_offer"}

    async def _offer(self, frame: dict) -> None:
        """`offer` -> `offer_ack` with the same `key` (`offer_act`)."""
        if self.user.is_authenticated:
            ack = await _offer_act_in_pool(self.user, frame)
        else:
            ack = _refused(NotAllowed("Sign in to make an offer.", code="auth_required"))
        await self._send_json({"type": "offer_ack", "key": frame.get("key"), **ack})
