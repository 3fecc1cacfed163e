"""`/ws/market/`: market-wide broadcasts (stall changes now; live badges, heat-map later)."""

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from bazaar.broadcast import MARKET_GROUP
from bazaar.consumers import DirectDispatchMixin


class MarketConsumer(DirectDispatchMixin, AsyncJsonWebsocketConsumer):
    """Read-only: anyone may listen; anything a client sends is refused."""

    async def connect(self):
        await self.channel_layer.group_add(MARKET_GROUP, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        await self.channel_layer.group_discard(MARKET_GROUP, self.channel_name)

    async def receive_json(self, content, **kwargs):
        await self.send_json(
            {"type": "error", "code": "read_only", "message": "This socket only broadcasts."}
        )

    async def market_event(self, event):
        await self.send_json(event["payload"])
