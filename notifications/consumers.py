"""`/ws/notices/`: one signed-in person's bell, on every page they have open.

Not the market socket: that one carries every market-wide broadcast to whoever
listens, and only the market grid needs them; the bell is on every page, so it gets
a socket that carries nothing but its owner's frames.
"""

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from bazaar.consumers import DirectDispatchMixin, in_db_pool

from .frames import notice_group, unread_frame
from .selectors import unread_count

CLOSE_AUTH_REQUIRED = 4401


class NoticeConsumer(DirectDispatchMixin, AsyncJsonWebsocketConsumer):
    """Read-only. On connect it sends the count as of now, so a notice that came
    between rendering the page and opening the socket is not missed."""

    async def connect(self):
        user = self.scope["user"]
        if not user.is_authenticated:
            await self.close(code=CLOSE_AUTH_REQUIRED)
            return
        self.group = notice_group(user.public_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        count = await in_db_pool(unread_count)(user=user)
        await self.send_json(unread_frame(unread=count))

    async def disconnect(self, code):
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        await self.send_json(
            {"type": "error", "code": "read_only", "message": "This socket only broadcasts."}
        )

    async def notice_frame(self, event):
        await self.send_json(event["frame"])
