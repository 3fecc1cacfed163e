"""Cursor batching: each process sends one message per stall at most 15 times a second.

Sockets report pointer moves up to 30 times a second; forwarding each to every
visitor would make traffic grow with the square of the crowd. Instead each
process keeps the latest position per cursor and a ticker publishes the moved
ones (capped) and the departed ones in one group message. Nothing is stored.
"""

import asyncio
import json

from bazaar.fanout import for_this_loop

BATCH_INTERVAL = 1 / 15
MAX_CURSORS_PER_BATCH = 50


class CursorHub:
    def __init__(self, channel_layer, group: str):
        self.channel_layer = channel_layer
        self.group = group
        self.moved_cursors: dict[str, dict] = {}
        self.gone_cursors: set[str] = set()
        self.ticker: asyncio.Task | None = None

    def moved(self, cursor_id: str, cursor: dict) -> None:
        self.moved_cursors[cursor_id] = cursor
        self.gone_cursors.discard(cursor_id)
        self._wake()

    def gone(self, cursor_id: str) -> None:
        self.moved_cursors.pop(cursor_id, None)
        self.gone_cursors.add(cursor_id)
        self._wake()

    def _wake(self) -> None:
        if self.ticker is None or self.ticker.done():
            self.ticker = asyncio.get_running_loop().create_task(self._flush_soon())

    async def _flush_soon(self) -> None:
        """Send what moved, then keep ticking while cursors keep moving."""
        while self.moved_cursors or self.gone_cursors:
            await asyncio.sleep(BATCH_INTERVAL)
            moved = list(self.moved_cursors.values())[-MAX_CURSORS_PER_BATCH:]
            gone = sorted(self.gone_cursors)
            self.moved_cursors.clear()
            self.gone_cursors.clear()
            frame = json.dumps({"type": "cursors", "moved": moved, "gone": gone})
            await self.channel_layer.group_send(
                self.group, {"type": "cursor.batch", "frame": frame}
            )


_hubs: dict[tuple[int, str], CursorHub] = {}


def cursor_hub(channel_layer, group: str) -> CursorHub:
    """This process's hub for a stall."""
    return for_this_loop(_hubs, group, lambda: CursorHub(channel_layer, group))
