"""`/ws/auctions/<ulid>/`: an auction's live state, and bids sent as intents
(docs/protocol.md). A bid frame is answered with `bid_ack` once its outcome has
committed, by the same service as the HTTP form; every watcher then gets the state."""

import json
import time

from channels.generic.websocket import AsyncWebsocketConsumer
from django.utils import timezone

from bazaar.consumers import ChannelOnDemandMixin, DirectDispatchMixin, in_db_pool
from bazaar.errors import DomainError, Invalid
from bazaar.fanout import group_fanout
from bazaar.idempotency import valid_key
from bazaar.money import AmountError, parse_amount
from bazaar.wire import KEEP_WARM_KEY, SharedFrame, send_shared

from .frames import auction_group, auction_state, bid_entry, pseudonym
from .selectors import auction_for_state
from .services.bidding import bid_place_async

CLOSE_UNKNOWN_AUCTION = 4404
# The page's `ping`, answered by a `pong` with the server's clock: its clock check,
# which barely moves in minutes. An auction socket has no presence to keep, and the
# server keeps its connection's traffic flowing while the page is quiet (the
# protocol's `keep_warm`), so the page pings only this often, whatever the auction's
# size: an idle crowd's pings were most of its server CPU (sessions crowd3, crowd4).
HEARTBEAT_SECONDS = 300


@in_db_pool
def _state(public_id: str):
    """The auction, its state and the state's JSON (encoded once while the fan-out
    keeps it, for every welcome it goes into), or Nones."""
    auction = auction_for_state(public_id=public_id)
    if auction is None:
        return None, None, None
    state = auction_state(auction)
    return auction, state, json.dumps(state)


def _cents(value, currency: str, field: str) -> int | None:
    """An amount as integer minor units, or as text the way the form takes it."""
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            return parse_amount(value, currency)
        except AmountError as error:
            raise Invalid(str(error), code="amount") from error
    raise Invalid(f"`{field}` is an amount in cents or as text.", code="amount")


async def _bid(user, auction, frame: dict, arrived_at) -> dict:
    """Place the frame's bid; the acknowledgement, accepted or refused, as a frame."""
    key = frame.get("key")
    try:
        if not isinstance(key, str) or not valid_key(key):
            raise Invalid("A bid needs an idempotency key (16-64 letters, digits, - or _).")
        outcome = await bid_place_async(
            bidder=user,
            auction=auction,
            amount_cents=_cents(frame["bid"], auction.currency, "bid") or 0,
            max_cents=_cents(frame.get("max"), auction.currency, "max"),
            idempotency_key=key,
            arrived_at=arrived_at,
        )
    except DomainError as refusal:
        return {
            "type": "bid_ack",
            "key": key,
            "ok": False,
            "code": refusal.code,
            "message": refusal.message,
        }
    return {
        "type": "bid_ack",
        "key": key,
        "ok": True,
        "version": outcome.version,
        "leading": outcome.bid.leading,
        "message": outcome.message,
        "bid": bid_entry(outcome.bid, outcome.auction),
        "state": auction_state(outcome.auction),
    }


class AuctionConsumer(ChannelOnDemandMixin, DirectDispatchMixin, AsyncWebsocketConsumer):
    """Everything an auction socket receives comes through its fan-out, so it never
    subscribes a channel of its own: a per-socket SUBSCRIBE, one at a time under the
    pub/sub layer's lock, was half of a watcher's join on uvicorn (docs/decisions.md,
    issue 22, session crowd2). The state a join reads is kept by the fan-out for the
    next joins while no newer one was handed out (`GroupFanout.keep`): its read in a
    database thread was the largest part of a watcher's join (session joins)."""

    async def connect(self):
        public_id = self.scope["url_route"]["kwargs"]["public_id"]
        user = self.scope["user"]
        self.fanout = group_fanout(self.channel_layer, auction_group(public_id))
        await self.accept()
        # Subscribe before reading the state: nothing committed in between is missed
        # (an update older than the welcome is recognised by its lower `version`).
        await self.fanout.join(self)
        self.auction, state, state_json = self.fanout.kept() or await _state(public_id)
        if state is None:
            await self.fanout.leave(self)
            self.fanout = None
            await self._error("unknown_auction", "There is no auction at this address.")
            await self.close(code=CLOSE_UNKNOWN_AUCTION)
            return
        self.fanout.keep(self, (self.auction, state, state_json), state["version"])
        keep_warm = self.scope.get(KEEP_WARM_KEY)
        if keep_warm is not None:
            keep_warm(HEARTBEAT_SECONDS)
        signed_in = user.is_authenticated
        rest = {
            "you": user.public_id if signed_in else None,
            "you_as": pseudonym(self.auction, user.pk) if signed_in else None,
            "server_time": time.time(),
            "heartbeat_seconds": HEARTBEAT_SECONDS,
        }
        await self.send(
            text_data='{"type": "welcome", "state": ' + state_json + ", " + json.dumps(rest)[1:]
        )

    async def disconnect(self, code):
        if getattr(self, "fanout", None):
            await self.fanout.leave(self)

    async def receive(self, text_data=None, bytes_data=None):
        arrived_at = timezone.now()  # before anything waits: this decides if a bid counted
        try:
            frame = json.loads(text_data)
            kind = frame.get("type") or ("bid" if "bid" in frame else None)
        except (ValueError, TypeError, AttributeError):
            kind = None
        if kind == "ping":
            await self._send_json(
                {"type": "pong", "server_time": time.time(), "heartbeat_seconds": HEARTBEAT_SECONDS}
            )
        elif kind == "bid" and "bid" in frame:
            await self._send_json(await _bid(self.scope["user"], self.auction, frame, arrived_at))
        elif kind is None:
            await self._error("bad_frame", "Frames are JSON objects with a type or a bid.")
        else:
            await self._error("unknown_type", "This socket takes bids and pings.")

    async def _send_json(self, frame: dict) -> None:
        await self.send(text_data=json.dumps(frame))

    async def _error(self, code: str, message: str) -> None:
        await self._send_json({"type": "error", "code": code, "message": message})

    # Broadcasts: one subscription per process and auction (bazaar.fanout) hands each
    # frame, encoded once for the whole group, to every local socket; frames waiting
    # together go as one `batch` frame.

    async def auction_update(self, event):
        await send_shared(self, SharedFrame.of(event))

    frames_batch = auction_update
