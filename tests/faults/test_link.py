"""The user-space lossy link itself: what it carries arrives whole and in order, never
sooner than its delay, and a lost chunk holds back the ones behind it."""

import asyncio
import time

from tests.faults.link import MIN_RTO_SECONDS, LossyLink


async def _echo(reader, writer):
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()
    writer.close()


async def _round_trips(link: LossyLink, messages: int) -> tuple[bytes, list[float]]:
    server = await asyncio.start_server(_echo, "127.0.0.1", 0)
    link.target_port = server.sockets[0].getsockname()[1]
    times = []
    async with server, link:
        reader, writer = await asyncio.open_connection("127.0.0.1", link.port)
        received = b""
        for n in range(messages):
            sent = time.monotonic()
            writer.write(b"%04d;" % n)
            await writer.drain()
            received += await reader.readexactly(5)
            times.append(time.monotonic() - sent)
        writer.close()
    return received, times


def test_the_link_delivers_everything_in_order_and_late():
    link = LossyLink(0, delay=0.02, jitter=0.005, loss=0.0)
    received, times = asyncio.run(_round_trips(link, 20))
    assert received == b"".join(b"%04d;" % n for n in range(20))
    assert min(times) >= 2 * 0.015 and link.losses == 0


def test_a_lost_chunk_waits_a_retransmission_timeout():
    link = LossyLink(0, delay=0.01, jitter=0.0, loss=0.3, seed=3)
    received, times = asyncio.run(_round_trips(link, 30))
    assert received == b"".join(b"%04d;" % n for n in range(30))
    assert link.losses > 0
    assert sum(t >= MIN_RTO_SECONDS for t in times) >= 1
