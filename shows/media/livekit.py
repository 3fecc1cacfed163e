"""LiveKit: tokens signed with livekit-api, rooms through its room service, and the
webhooks verified with its WebhookReceiver (JWT plus body hash)."""

import asyncio
from datetime import timedelta

from django.conf import settings
from livekit import api

from .base import Grant, MediaUnavailable

SELLER_TTL = timedelta(hours=12)
# A viewer's token is only needed to connect; LiveKit refreshes it on the connection.
VIEWER_TTL = timedelta(minutes=10)
PUBLISH_SOURCES = ["camera", "microphone"]
# An empty room lives this long before LiveKit closes it (the seller reconnecting).
EMPTY_TIMEOUT_SECONDS = 60


class LiveKitBackend:
    name = "livekit"

    def _grant(self, *, role: str, room: str, identity: str, ttl: timedelta, grants) -> Grant:
        token = (
            api.AccessToken(settings.LIVEKIT_API_KEY, settings.LIVEKIT_API_SECRET)
            .with_identity(identity)
            .with_ttl(ttl)
            .with_grants(grants)
            .to_jwt()
        )
        return Grant(
            backend=self.name,
            role=role,
            url=settings.LIVEKIT_URL,
            room=room,
            identity=identity,
            token=token,
            ttl_seconds=int(ttl.total_seconds()),
        )

    def publisher_grant(self, *, room: str, identity: str, name: str) -> Grant:
        grants = api.VideoGrants(
            room_join=True,
            room=room,
            can_publish=True,
            can_publish_sources=PUBLISH_SOURCES,
            can_subscribe=False,
            can_publish_data=False,
        )
        return self._grant(
            role="publisher", room=room, identity=identity, ttl=SELLER_TTL, grants=grants
        )

    def viewer_grant(self, *, room: str, identity: str) -> Grant:
        grants = api.VideoGrants(
            room_join=True,
            room=room,
            can_publish=False,
            can_subscribe=True,
            can_publish_data=False,
            hidden=True,
        )
        return self._grant(
            role="viewer", room=room, identity=identity, ttl=VIEWER_TTL, grants=grants
        )

    def subscribe_ahead(self, *, grant: Grant) -> Grant:
        """Nothing to do ahead: livekit-client joins and subscribes over one connection."""
        return grant

    def room_ensure(self, *, room: str) -> None:
        request = api.CreateRoomRequest(name=room, empty_timeout=EMPTY_TIMEOUT_SECONDS)
        self._call(lambda lk: lk.room.create_room(request))

    def room_end(self, *, room: str) -> None:
        self._call(lambda lk: lk.room.delete_room(api.DeleteRoomRequest(room=room)))

    def _call(self, call) -> None:
        async def run():
            async with api.LiveKitAPI(
                settings.LIVEKIT_API_URL or settings.LIVEKIT_URL,
                settings.LIVEKIT_API_KEY,
                settings.LIVEKIT_API_SECRET,
            ) as lk:
                await call(lk)

        try:
            asyncio.run(run())
        except Exception as error:  # twirp, aiohttp and timeouts alike
            raise MediaUnavailable(f"LiveKit refused or was unreachable: {error}") from error


def webhook_receive(*, body: str, authorization: str) -> api.WebhookEvent:
    """The verified event, or ValueError for a forged or tampered request."""
    verifier = api.TokenVerifier(settings.LIVEKIT_API_KEY, settings.LIVEKIT_API_SECRET)
    try:
        return api.WebhookReceiver(verifier).receive(body, authorization)
    except Exception as error:  # jwt errors, hash mismatch, bad JSON
        raise ValueError(str(error)) from error
