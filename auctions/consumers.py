"""`/ws/auctions/<ulid>/`: an auction's live state (docs/protocol.md). Read-only:
bids go over HTTP with an idempotency key; this socket carries what committed."""

import json
import time

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from bazaar.consumers import DirectDispatchMixin
from bazaar.fanout import group_fanout

from .frames import auction_group, auction_state
from .selectors import auction_for_state

CLOSE_UNKNOWN_AUCTION = 4404


@database_sync_to_async
def _state(public_id: str) -> dict | None:
    auction = auction_for_state(public_id=public_id)
    return auction_state(auction) if auction else None


class AuctionConsumer(DirectDispatchMixin, AsyncWebsocketConsumer):
    async def connect(self):
        public_id = self.scope["url_route"]["kwargs"]["public_id"]
        user = self.scope["user"]
        self.fanout = group_fanout(self.channel_layer, auction_group(public_id))
        await self.accept()
        # Subscribe before reading the state: nothing committed in between is missed
        # (an update older than the welcome is recognised by its lower `version`).
        await self.fanout.join(self)
        state = await _state(public_id)
        if state is None:
            await self.fanout.leave(self)
            self.fanout = None
            await self._error("unknown_auction", "There is no auction at this address.")
            await self.close(code=CLOSE_UNKNOWN_AUCTION)
            return
        await self._send_json(
            {
                "type": "welcome",
                "state": state,
                "you": user.public_id if user.is_authenticated else None,
                "server_time": time.time(),
            }
        )

    async def disconnect(self, code):
        if getattr(self, "fanout", None):
            await self.fanout.leave(self)

    async def receive(self, text_data=None, bytes_data=None):
        try:
            kind = json.loads(text_data)["type"]
        except (ValueError, TypeError, KeyError):
            await self._error("bad_frame", "Frames are JSON objects with a type.")
            return
        if kind != "ping":
            await self._error("read_only", "Bids are sent by HTTP POST; this socket only listens.")
            return
        await self._send_json({"type": "pong", "server_time": time.time()})

    async def _send_json(self, frame: dict) -> None:
        await self.send(text_data=json.dumps(frame))

    async def _error(self, code: str, message: str) -> None:
        await self._send_json({"type": "error", "code": code, "message": message})

    # Broadcasts: one subscription per process and auction (bazaar.fanout) hands each
    # frame, encoded once for the whole group, to every local socket; frames waiting
    # together go as one `batch` frame.

    async def auction_update(self, event):
        await self.send(text_data=event["frame"])

    frames_batch = auction_update
