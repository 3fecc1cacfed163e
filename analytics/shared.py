"""State every process must see alike: in Redis when REDIS_URL is set, else in this
process's memory (the embedded market is a single process)."""

import threading
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings

T = TypeVar("T")


def redis_or_local(redis_kind: Callable[[str], T], local_kind: Callable[[], T]) -> Callable[[], T]:
    """A function returning this process's one instance, made on first use."""
    lock = threading.Lock()
    made: list[T] = []

    def instance() -> T:
        with lock:
            if not made:
                made.append(redis_kind(settings.REDIS_URL) if settings.REDIS_URL else local_kind())
            return made[0]

    return instance
