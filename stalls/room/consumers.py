"""`/ws/stalls/<ulid>/`: the stall room. Thin: it parses frames and calls services.

Text frames are JSON (`docs/protocol.md`); binary frames are the standard Yjs
sync protocol, of which a client may only send step 1 (the document is written
by the server alone).
"""

import hashlib
import json
import time

from channels.generic.websocket import AsyncWebsocketConsumer
from pycrdt import YMessageType, YSyncMessageType, read_message, write_message

from bazaar.broadcast import user_group
from bazaar.consumers import ChannelOnDemandMixin, DirectDispatchMixin, in_db_pool
from bazaar.errors import DomainError
from bazaar.fanout import group_fanout
from bazaar.wire import SharedFrame, send_shared
from governance.selectors import chat_restriction

from ..models import Stall
from . import chat, visitors
from .cursors import cursor_hub
from .document import document_state, document_state_kept, stall_group
from .pulse import room_pulse_here
from .selectors import room_stall, room_stall_kept

CLOSE_UNKNOWN_STALL = 4404
CLOSE_BANNED = 4403
CURSOR_MIN_INTERVAL = 1 / 30
# A person's group stays subscribed in this process this long after their last
# socket here closed: the next stall they open, or the page reloaded, joins without
# waiting on a Redis SUBSCRIBE (Market Day's signed-in joins waited seconds for them).
USER_GROUP_LINGER = 120.0


@in_db_pool
def _load(public_id: str, user):
    stall = room_stall(public_id=public_id)
    if stall is None:
        return None, None
    restriction = chat_restriction(user=user, stall=stall) if user.is_authenticated else None
    return stall, restriction


def _arrive(stall: Stall, conn: str, visitor: visitors.Visitor, ttl: float):
    """One trip to the database thread for a join: a signed-in visitor's entry (a
    guest's waits for the pulse's next tick), then the document's state."""
    if visitor.signed_in:
        visitors.room_join(stall=stall, conn=conn, visitor=visitor, ttl=ttl)
    return document_state(stall_id=stall.pk)


class StallRoomConsumer(ChannelOnDemandMixin, DirectDispatchMixin, AsyncWebsocketConsumer):
    # A text frame's `type` -> the method that handles it. Apps above stalls add theirs
    # in a subclass (offers.consumers), routed in bazaar.routing.
    frame_handlers = {"chat": "_chat", "cursor": "_cursor", "ping": "_ping"}

    async def connect(self):
        public_id = self.scope["url_route"]["kwargs"]["public_id"]
        user = self.scope["user"]
        kept = None if user.is_authenticated else room_stall_kept(public_id=public_id)
        self.stall, restriction = (kept, None) if kept else await _load(public_id, user)
        self.joined = False
        await self.accept()
        if self.stall is None:
            await self._error("unknown_stall", "There is no stall at this address.")
            await self.close(code=CLOSE_UNKNOWN_STALL)
            return
        if restriction is not None and restriction.kind == "ban":
            await self._error("banned", restriction.message)
            await self.close(code=CLOSE_BANNED)
            return
        self.user = user
        self.visitor = visitors.Visitor(
            user_id=user.public_id if user.is_authenticated else "",
            handle=user.handle if user.is_authenticated else "",
            is_seller=user.is_authenticated and self.stall.seller.user_id == user.pk,
        )
        self.cursor_id = hashlib.sha256(self.channel_name.encode()).hexdigest()[:10]
        self.last_cursor = 0.0
        self.group = stall_group(self.stall.public_id)
        # Subscribe before reading any state: nothing committed in between is missed.
        fanout = group_fanout(self.channel_layer, self.group)
        await fanout.join(self)
        if user.is_authenticated:  # what is sent to this person alone
            self.user_fanout = group_fanout(
                self.channel_layer, user_group(user.public_id), linger=USER_GROUP_LINGER
            )
            await self.user_fanout.join(self)
        headcount, heartbeat, ttl = room_pulse_here().enter(
            self.group, self.stall, fanout, self.channel_name, self.visitor
        )
        state = (
            None if user.is_authenticated else document_state_kept(stall_id=self.stall.pk)
        ) or await in_db_pool(_arrive)(self.stall, self.channel_name, self.visitor, ttl)
        self.joined = True
        self.told = (state.epoch, state.seq)  # the document's position as this socket knows it
        await self._send_json(
            {
                "type": "welcome",
                "stall": self.stall.public_id,
                "you": self._you(restriction),
                "epoch": state.epoch,
                "seq": state.seq,
                "server_time": time.time(),
                "heartbeat_seconds": heartbeat,
            }
        )
        if headcount is not None:
            await self.send_frame(headcount)

    def _you(self, restriction) -> dict | None:
        if not self.user.is_authenticated:
            return None
        session_key = self.scope["session"].session_key or self.channel_name
        hue = int(hashlib.sha256(session_key.encode()).hexdigest()[:4], 16) % 360
        return {
            "id": self.user.public_id,
            "handle": self.user.handle,
            "seller": self.visitor.is_seller,
            "color": f"hsl({hue}, 70%, 45%)",
            "cursor": self.cursor_id,
            "restriction": restriction.message if restriction else None,
        }

    async def disconnect(self, code):
        """Nothing here waits for Redis or the database: the pulse's next tick removes
        the entry, with every other socket that closed meanwhile; if the process is
        stopping (every socket at once), the entries expire."""
        if not getattr(self, "joined", False):
            return
        room_pulse_here().leave(self.group, self.channel_name)
        cursor_hub(self.channel_layer, self.group).gone(self.cursor_id)
        await group_fanout(self.channel_layer, self.group).leave(self)
        if self.user.is_authenticated:
            await self.user_fanout.leave(self)

    async def receive(self, text_data=None, bytes_data=None):
        if not self.joined:
            return
        if bytes_data is not None:
            await self._receive_sync(bytes_data)
            return
        try:
            frame = json.loads(text_data)
            kind = frame["type"]
        except (ValueError, TypeError, KeyError):
            await self._error("bad_frame", "Frames are JSON objects with a type.")
            return
        handler = self.frame_handlers.get(kind) if isinstance(kind, str) else None
        if handler is None:
            await self._error("unknown_type", f"Unknown frame type {kind!r}.")
            return
        await getattr(self, handler)(frame)

    async def _receive_sync(self, data: bytes) -> None:
        """Yjs sync step 1 from a client: answer with step 2, what it is missing."""
        if len(data) < 2 or data[0] != YMessageType.SYNC:
            await self._error("bad_sync", "Binary frames carry the Yjs sync protocol.")
            return
        if data[1] != YSyncMessageType.SYNC_STEP1:
            await self._error("read_only_document", "The stall document is written by the server.")
            return
        try:
            state_vector = read_message(data[2:])
        except (RuntimeError, IndexError):
            await self._error("bad_sync", "That sync message could not be read.")
            return
        state = document_state_kept(
            stall_id=self.stall.pk, state_vector=state_vector or None
        ) or await in_db_pool(document_state)(
            stall_id=self.stall.pk, state_vector=state_vector or None
        )
        await self.send(
            bytes_data=bytes([YMessageType.SYNC, YSyncMessageType.SYNC_STEP2])
            + write_message(state.update)
        )
        await self._send_json({"type": "synced", "epoch": state.epoch, "seq": state.seq})
        self.told = (state.epoch, state.seq)

    async def _chat(self, frame: dict) -> None:
        client_id = str(frame.get("client_id", ""))[:64]
        text = frame.get("text")
        if not isinstance(text, str):
            await self._error("invalid", "A chat frame needs text.", client_id=client_id)
            return
        try:
            message = await in_db_pool(chat.chat_post)(user=self.user, stall=self.stall, text=text)
        except DomainError as error:
            await self._error(error.code, error.message, client_id=client_id)
            return
        entry = await in_db_pool(chat.chat_entry)(message)
        await self._send_json({"type": "chat_ack", "client_id": client_id, "message": entry})

    async def _cursor(self, frame: dict) -> None:
        """Pointer moves: signed-in, at most 30 a second, never stored."""
        if not self.user.is_authenticated:
            return
        now = time.monotonic()
        if now - self.last_cursor < CURSOR_MIN_INTERVAL:
            return
        x, y = frame.get("x"), frame.get("y")
        if not all(isinstance(v, int | float) and 0 <= v <= 1 for v in (x, y)):
            await self._error("bad_cursor", "Cursor x and y are numbers from 0 to 1.")
            return
        self.last_cursor = now
        you = self._you(None)
        cursor_hub(self.channel_layer, self.group).moved(
            self.cursor_id,
            {
                "id": self.cursor_id,
                "handle": you["handle"],
                "color": you["color"],
                "x": round(x, 4),
                "y": round(y, 4),
            },
        )

    async def _ping(self, frame: dict) -> None:
        """A heartbeat: noted for the pulse's next tick, which keeps the entry alive and
        answers with the room's `pong` (no database, no per-ping Redis call)."""
        room_pulse_here().beat(self.group, self, self.channel_name, self.visitor)

    async def send_frame(self, frame: str) -> None:
        """A frame already encoded (once, for many sockets)."""
        await self.send(text_data=frame)

    async def _send_json(self, frame: dict) -> None:
        await self.send(text_data=json.dumps(frame))

    async def _error(self, code: str, message: str, **extra) -> None:
        await self._send_json({"type": "error", "code": code, "message": message, **extra})

    # Broadcasts: to the whole room through the process's fan-out of the room, to one
    # user through the process's fan-out of their group

    async def forward_frame(self, event):
        """A frame encoded once for every socket it goes to: document updates, cursor
        batches, stock counts and show-tool nudges (room.overlay) to the room, several of
        them as one `batch` frame (bazaar.fanout); an offer's private frame
        (offers.ladder) to its buyer and seller."""
        await send_shared(self, SharedFrame.of(event))

    doc_update = cursor_batch = stock_changed = offer_private = show_frame = forward_frame
    frames_batch = room_presence = forward_frame

    async def doc_epoch(self, event):
        await self._send_json({"type": "doc_epoch", "epoch": event["epoch"]})

    async def chat_private(self, event):
        await self._send_json({"type": event["event"], "message": event["message"]})

    async def chat_sanction(self, event):
        """A steward muted, banned or lifted a sanction: a ban here ends the visit at once."""
        if event["stall"] not in ("", self.stall.public_id):
            return
        if event["kind"] == "ban":
            await self._error("banned", event["message"])
            await self.close(code=CLOSE_BANNED)
        elif event["kind"] == "lifted":
            restriction = await in_db_pool(chat_restriction)(user=self.user, stall=self.stall)
            if restriction is None:
                await self._send_json({"type": "unrestricted"})
            else:
                await self._send_json({"type": "restricted", "message": restriction.message})
        else:
            await self._send_json({"type": "restricted", "message": event["message"]})
