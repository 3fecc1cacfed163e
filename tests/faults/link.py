"""A bad network between the test's clients and the web server, made in user space.

`tc qdisc … netem` is what the issue names, but this machine's kernel has no sch_netem
(nor prio, nor act_gact: docs/decisions.md, "Faults"), so no qdisc can delay or drop
packets here. What netem's delay, jitter and loss do to a TCP connection, as the
application at either end sees it, is still reproducible above the socket: every
byte arrives, in order, late by the one-way delay plus jitter; and a lost segment
holds back everything behind it until its retransmission, at least Linux's minimum
retransmission timeout (200 ms) later (head-of-line blocking). `LossyLink` is a TCP
proxy that does exactly that to each direction of each connection it carries.
"""

import asyncio
import contextlib
import random
from dataclasses import dataclass, field

MIN_RTO_SECONDS = 0.2  # Linux's TCP_RTO_MIN: the least a lost segment waits to be sent again


@dataclass
class LossyLink:
    """Listens on an ephemeral port of 127.0.0.1 and carries every connection to
    `target_port`, each chunk read from either side delivered `delay` ± `jitter`
    seconds later, never before the chunk ahead of it; with probability `loss` a chunk
    is "lost" and waits a retransmission timeout more, holding back what follows."""

    target_port: int
    delay: float = 0.05
    jitter: float = 0.01
    loss: float = 0.05
    seed: int = 0
    port: int = 0
    chunks: int = 0
    losses: int = 0
    _random: random.Random = field(init=False)
    _server: asyncio.Server | None = field(init=False, default=None)
    _pipes: set[asyncio.Task] = field(init=False, default_factory=set)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    async def __aenter__(self) -> "LossyLink":
        self._server = await asyncio.start_server(self._carry_connection, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc) -> None:
        self._server.close()
        for pipe in self._pipes:
            pipe.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)
        await self._server.wait_closed()

    def _due(self, now: float, after: float) -> float:
        """When a chunk read at `now` is delivered: in order behind the one due at `after`."""
        self.chunks += 1
        wait = self.delay + self._random.uniform(-self.jitter, self.jitter)
        if self._random.random() < self.loss:
            self.losses += 1
            wait += MIN_RTO_SECONDS + self.delay  # the retransmission's own trip too
        return max(after, now + wait)

    async def _carry_connection(self, client_reader, client_writer) -> None:
        task = asyncio.current_task()
        self._pipes.add(task)
        try:
            server_reader, server_writer = await asyncio.open_connection(
                "127.0.0.1", self.target_port
            )
            await asyncio.gather(
                self._carry(client_reader, server_writer),
                self._carry(server_reader, client_writer),
            )
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            self._pipes.discard(task)
            client_writer.close()

    async def _carry(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One direction: chunks go into a queue with their delivery time; a second task
        writes each at its time. The end of the stream is delivered after the last chunk."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            while True:
                due, data = await queue.get()
                await asyncio.sleep(max(0.0, due - loop.time()))
                if not data:
                    break
                writer.write(data)
                await writer.drain()
            with contextlib.suppress(OSError):
                writer.write_eof()

        delivering = asyncio.create_task(deliver())
        last_due = 0.0
        try:
            while data := await reader.read(65536):
                last_due = self._due(loop.time(), last_due)
                queue.put_nowait((last_due, data))
            queue.put_nowait((last_due, b""))
            await delivering
        except OSError:
            pass  # a side reset the connection: nothing more to carry either way
        finally:
            delivering.cancel()
