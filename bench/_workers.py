"""Shared by the benchmarks: client worker processes driven over stdin, one JSON
command a line, each answered with one JSON line, so a coordinator can spread many
sockets over several cores and still run every phase in step.
"""

import asyncio
import json
import sys
from contextlib import suppress
from pathlib import Path


async def serve_commands(handler) -> None:
    """The worker's side: call handler.<cmd>(**arguments) for each line on stdin (awaiting
    coroutines) and answer on stdout; an exception is answered as {"error": …}. Returns
    after answering `close`."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**24)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        command = json.loads(line)
        name = command.pop("cmd")
        try:
            result = getattr(handler, name)(**command)
            if asyncio.iscoroutine(result):
                result = await result
        except Exception as error:  # reported to the coordinator, which stops
            result = {"error": f"{type(error).__name__}: {error}"}
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()
        if name == "close":
            return


class Worker:
    """The coordinator's handle on one worker process."""

    def __init__(self, process: asyncio.subprocess.Process):
        self.process = process
        self.lock = asyncio.Lock()

    @classmethod
    async def start(cls, script: Path, *args: str) -> "Worker":
        """`script` run with this Python, serving commands (see `serve_commands`)."""
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(script),
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=2**24,
        )
        return cls(process)

    async def call(self, cmd: str, **kwargs) -> dict:
        async with self.lock:
            self.process.stdin.write((json.dumps({"cmd": cmd, **kwargs}) + "\n").encode())
            await self.process.stdin.drain()
            line = await self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"a client worker exited during {cmd}")
        answer = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"client worker, {cmd}: {answer['error']}")
        return answer

    async def stop(self) -> None:
        if self.process.returncode is None:
            with suppress(RuntimeError, TimeoutError):
                await asyncio.wait_for(self.call("close"), 10)
            try:
                await asyncio.wait_for(self.process.wait(), 5)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


async def gather_calls(workers: list[Worker], cmd: str, per_worker=None, **kwargs) -> list:
    """The same command on every worker at once (per_worker(i) adds worker-specific args)."""
    return await asyncio.gather(
        *(
            worker.call(cmd, **kwargs, **(per_worker(i) if per_worker else {}))
            for i, worker in enumerate(workers)
        )
    )


def spread(items: list, parts: int) -> list[list]:
    """`items` dealt round-robin into `parts` shares."""
    return [items[i::parts] for i in range(parts)]
