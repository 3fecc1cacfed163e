"""Every WebSocket route of the market; each app adds its consumers here."""

from django.urls import path

import bazaar.ids  # noqa: F401  registers the <ulid:…> path converter
from auctions.consumers import AuctionConsumer
from market.consumers import MarketConsumer
from notifications.consumers import NoticeConsumer
from offers.consumers import OfferRoomConsumer

websocket_urlpatterns = [
    path("ws/market/", MarketConsumer.as_asgi()),
    path("ws/stalls/<ulid:public_id>/", OfferRoomConsumer.as_asgi()),  # the stall room, with offers
    path("ws/auctions/<ulid:public_id>/", AuctionConsumer.as_asgi()),
    path("ws/notices/", NoticeConsumer.as_asgi()),
]
