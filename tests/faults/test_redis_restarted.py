"""Redis killed and started again (empty: it keeps nothing on disk) while people chat
in a stall room: every chat message acknowledged (`chat_ack`: committed to the
database, docs/protocol.md) is stored; after the restart the channel layer carries the
room's changes to the other socket again, presence is rebuilt from the heartbeats, and
pages (cache, cached sessions) answer for a signed-in visitor."""

import asyncio
import json
import os
import secrets
import time

from bench._clients import Client
from bench._servers import signed_in_sessions, stall_public_ids
from bench._ws import connect, ws_url
from bench.auction import seed_market
from tests.faults import stack
from tests.faults.conftest import dump_logs

pytestmark = stack.FAULT_TEST

WEB_PORT = 8612


class Chatter:
    def __init__(self, base: str, url: str, cookie: str):
        self.base, self.url, self.cookie = base, url, cookie
        self.acked: dict[str, str] = {}  # client_id -> the stored message's id
        self.sent: list[str] = []
        self.acked_at: list[float] = []
        self.docs: list[float] = []  # when each `doc` frame (a room change) arrived
        self.drops: list[float] = []
        self.socket = None
        self.waiting: dict[str, asyncio.Future] = {}

    async def join(self) -> None:
        self.socket = await connect(self.url, origin=self.base, cookie=self.cookie)
        asyncio.get_running_loop().create_task(self.read(self.socket))

    async def read(self, socket) -> None:
        try:
            async for raw in socket:
                if not isinstance(raw, str):
                    continue
                frame = json.loads(raw)
                if frame["type"] == "doc":
                    self.docs.append(time.time())
                elif frame["type"] == "chat_ack":
                    future = self.waiting.pop(frame["client_id"], None)
                    if future and not future.done():
                        future.set_result(frame["message"]["id"])
        except Exception:
            self.drops.append(time.time())
            if self.socket is socket:
                self.socket = None

    async def say(self, text: str) -> None:
        """Send one message until it is acknowledged (a new socket after a drop, the
        message sent again as a person would), or give up after 30 s."""
        client_id = secrets.token_hex(8)
        give_up = time.time() + 30
        while time.time() < give_up:
            try:
                if self.socket is None:
                    await self.join()
                future = asyncio.get_running_loop().create_future()
                self.waiting[client_id] = future
                self.sent.append(client_id)
                await self.socket.send(
                    json.dumps({"type": "chat", "text": text, "client_id": client_id})
                )
                self.acked[client_id] = await asyncio.wait_for(future, 10)
                self.acked_at.append(time.time())
                return
            except Exception:
                self.socket = None
                await asyncio.sleep(0.3)

    async def heartbeat(self, until: float) -> None:
        while time.time() < until:
            if self.socket is not None:
                try:
                    await self.socket.send(json.dumps({"type": "ping"}))
                except Exception:
                    self.socket = None
            await asyncio.sleep(1)


async def chat_through_a_restart(talker: Chatter, listener: Chatter, restart) -> float:
    await talker.join()
    await listener.join()
    until = time.time() + 9
    beats = [asyncio.create_task(c.heartbeat(until + 3)) for c in (talker, listener)]

    async def talk():
        number = 0
        while time.time() < until:
            number += 1
            await talker.say(f"message {number}")
            await asyncio.sleep(0.2)

    talking = asyncio.create_task(talk())
    await asyncio.sleep(3)
    restarted_at = await asyncio.get_running_loop().run_in_executor(None, restart)
    await talking
    await asyncio.sleep(3)
    for task in beats:
        task.cancel()
    for chatter in (talker, listener):
        if chatter.socket is not None:
            chatter.socket.transport.abort()
    return restarted_at


def test_redis_restarted_loses_no_acknowledged_chat_and_the_room_recovers(
    fault_postgres, fault_redis, market_env, workdir
):
    seed_market(market_env, 1, ["1:socket"], "redis")  # a seller's stall
    stall = stall_public_ids(env=market_env)[0]
    cookie_name, sessions = signed_in_sessions(env=market_env, prefix="chat_", count=2)
    base = f"http://127.0.0.1:{WEB_PORT}"
    url = ws_url(base, f"/ws/stalls/{stall}/")
    talker, listener = (Chatter(base, url, f"{cookie_name}={s}") for s in sessions)
    database = int(market_env["REDIS_URL"].rsplit("/", 1)[1])

    def restart() -> float:
        fault_redis.kill()
        time.sleep(1)
        fault_redis.start()
        return time.time()

    def room_keys() -> int:
        import redis

        client = redis.Redis(port=fault_redis.port, db=database)
        try:
            return len(list(client.scan_iter(match=f"bazaar:room:{stall}:*")))
        finally:
            client.close()

    with stack.web(market_env, port=WEB_PORT, workers=1, log=workdir / "web.log"):
        load = os.getloadavg()
        restarted_at = asyncio.run(chat_through_a_restart(talker, listener, restart))
        with Client(base, cookies={cookie_name: sessions[0]}) as client:
            page = client.request("GET", "/")
        keys_after = room_keys()
        logs = dump_logs(workdir)

    stored = {
        row[0]
        for row in fault_postgres.execute(
            market_env["DATABASE_URL"].rsplit("/", 1)[1],
            "SELECT m.public_id FROM stalls_chatmessage m JOIN stalls_stall s ON s.id = m.stall_id "
            "WHERE s.public_id = %s",
            (stall,),
        )
    }
    acked = set(talker.acked.values())
    acked_after = [at for at in talker.acked_at if at > restarted_at]
    docs_after = [at for at in listener.docs if at > restarted_at]
    print(
        f"load {load}; {len(talker.sent)} chat frames sent, {len(acked)} acknowledged, "
        f"{len(stored)} stored; listener drops {len(listener.drops)}, talker drops "
        f"{len(talker.drops)}; first room change seen {docs_after[0] - restarted_at:.2f} s after "
        f"the restart; room keys in Redis after {keys_after}; page {page.status}"
        if docs_after
        else f"load {load}; no room change reached the listener after the restart"
    )
    assert acked and acked <= stored, f"acknowledged but not stored: {acked - stored}\n{logs}"
    assert acked_after, "nothing was acknowledged after the restart"
    assert docs_after, f"the channel layer did not recover\n{logs}"
    assert keys_after > 0, "presence was not rebuilt from the heartbeats"
    assert page.status == 200
