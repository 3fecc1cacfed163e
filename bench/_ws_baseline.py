"""The yardstick for bench/stall_room.py: a minimal broadcast server with `websockets`.

    .venv/bin/python bench/_ws_baseline.py --port 8765

It speaks just enough of the stall room's protocol for the same client code: every
connection gets `{"type": "welcome"}`; a `chat` frame from any connection is
broadcast to all of them (websockets.broadcast) as a `doc` frame, then acknowledged
to its sender with `chat_ack`. No authentication, storage, channel layer or rate
limit: the fastest a single Python process can fan a message out here.
"""

import argparse
import asyncio
import base64
import json
import signal

from websockets.asyncio.server import broadcast, serve
from websockets.exceptions import ConnectionClosed

WELCOME = json.dumps({"type": "welcome"})
CONNECTIONS = set()


async def handler(connection) -> None:
    CONNECTIONS.add(connection)
    sequence = 0
    try:
        await connection.send(WELCOME)
        async for raw in connection:
            frame = json.loads(raw)
            if frame.get("type") != "chat":
                continue
            sequence += 1
            # Shaped like the stall room's frame: base64 payload, epoch and seq.
            update = base64.b64encode(str(frame.get("text", "")).encode()).decode()
            doc = {"type": "doc", "epoch": 1, "seq": sequence, "update": update}
            broadcast(CONNECTIONS, json.dumps(doc))
            ack = {"type": "chat_ack", "client_id": frame.get("client_id", "")}
            await connection.send(json.dumps(ack))
    except ConnectionClosed:
        pass
    finally:
        CONNECTIONS.discard(connection)


async def main(port: int) -> None:
    stop = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set_result, None)
    async with serve(
        handler, "127.0.0.1", port, compression=None, ping_interval=None, backlog=4096
    ):
        print(f"listening on ws://127.0.0.1:{port}", flush=True)
        await stop


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--port", type=int, default=8765)
    asyncio.run(main(parser.parse_args().port))
