"""Thread pools that survive a fork."""

import os
from concurrent.futures import Executor, ThreadPoolExecutor


class ProcessThreads(Executor):
    """A thread pool of this process's own, made on first use in each process: a child
    forked from a process whose pool had run (multiprocessing, a pre-loading server)
    inherits a pool whose threads did not survive the fork, and its work would wait
    for them for ever."""

    def __init__(self, workers: int, name: str) -> None:
        self._workers, self._name = workers, name
        self._pool: ThreadPoolExecutor | None = None
        self._pid = 0

    def submit(self, fn, /, *args, **kwargs):
        if self._pid != os.getpid():
            self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix=self._name)
            self._pid = os.getpid()
        return self._pool.submit(fn, *args, **kwargs)
