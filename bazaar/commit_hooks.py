"""After-commit work that the people waiting on a commit need not wait for.

Django runs a transaction's `on_commit` callbacks as its outermost atomic block exits,
in the committing thread, before that thread goes on. A group commit's writer answers
a whole batch of waiting bidders: every millisecond its callbacks take (the watchers'
broadcast handed to the loop, a notice job queued on the broker, analytics appended
to Redis) is a millisecond on each of their answers. A transaction can hand its
callbacks to a `HeldHooks` instead, and the writer runs them once the answers are out.
"""

import logging

from django.db import connection

log = logging.getLogger(__name__)


class HeldHooks:
    """A committed transaction's `on_commit` callbacks, to run later in this thread."""

    def __init__(self) -> None:
        self._hooks: list = []

    def take(self) -> None:
        """Called last inside an atomic block: if it is the outermost one, its callbacks
        are ours to run once it has committed (none run if it rolls back, since then
        `run` is never reached). Inside another transaction they stay with that one,
        which may still roll back."""
        if connection.in_atomic_block and len(connection.atomic_blocks) == 1:
            self._hooks, connection.run_on_commit = connection.run_on_commit, []

    def run(self) -> None:
        """Run the callbacks in the order they were registered. A failure is logged,
        never raised: the commit stands and its answers are already given."""
        hooks, self._hooks = self._hooks, []
        for _savepoints, hook, _robust in hooks:
            try:
                hook()
            except Exception:
                log.exception("after-commit work %s failed", getattr(hook, "__qualname__", hook))
