"""`/ws/market/`: market-wide broadcasts (stall changes, live badges, the heat-map)."""

from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.core.cache import cache

from bazaar.broadcast import MARKET_GROUP
from bazaar.consumers import DirectDispatchMixin
from bazaar.fanout import group_fanout
from bazaar.wire import SharedFrame, send_shared

# The last heat-map frame sent (market.services.heatmap_publish), for sockets that open.
HEATMAP_CACHE_KEY = "market:heatmap"


class MarketConsumer(DirectDispatchMixin, AsyncJsonWebsocketConsumer):
    """Read-only: anyone may listen; anything a client sends is refused. Every open
    grid page is a socket here, so the process subscribes once (bazaar.fanout)."""

    async def connect(self):
        self.fanout = group_fanout(self.channel_layer, MARKET_GROUP)
        await self.accept()
        # Subscribed before reading: a newer frame than this one can only follow it.
        await self.fanout.join(self)
        last = await cache.aget(HEATMAP_CACHE_KEY)
        if last is not None:
            await self.send(text_data=last)

    async def disconnect(self, code):
        if getattr(self, "fanout", None):
            await self.fanout.leave(self)

    async def receive_json(self, content, **kwargs):
        await self.send_json(
            {"type": "error", "code": "read_only", "message": "This socket only broadcasts."}
        )

    async def market_event(self, event):
        await self.send_json(event["payload"])

    async def heat_map(self, event):
        """The heat-map, encoded once for every socket (several as one `batch`)."""
        await send_shared(self, SharedFrame.of(event))

    frames_batch = heat_map
