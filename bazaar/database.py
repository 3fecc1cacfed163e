"""A bounded wait for PostgreSQL's answer in the web processes.

A PostgreSQL that stops answering without closing its connections (a paused or
overloaded host, SIGSTOP) leaves a query waiting for ever: TCP stays open, and the
server's own `statement_timeout` cannot fire in a server that does not run. Every
request of a web process runs in one thread (`bazaar.handlers`), so one such wait
would hold up every page of that process. Here the client gives up instead: a query
whose answer has not come within `DATABASE_WAIT_SECONDS` closes its connection (the
pool replaces it) and raises `OperationalError`, which `bazaar.errors` turns into a
503 with Retry-After. New connections have the same bound (`connect_timeout`), and so
does waiting for a free pooled one (the pool's `timeout`): bazaar/settings/base.py.

Only web processes bound their queries (`bound_waits`, called by `bazaar.asgi`): a
migration or a nightly roll-up may rightly take longer.
"""

import psycopg
from psycopg import errors

_wait_seconds: float | None = None


def bound_waits(seconds: float | None) -> None:
    """Bound every query's wait for its answer in this process (None: no bound)."""
    global _wait_seconds
    _wait_seconds = seconds


class BoundedConnection(psycopg.Connection):
    """psycopg's connection, giving up on an answer after the process's bound."""

    def wait(self, gen, interval=0.1, timeout=None):
        bound = timeout if timeout is not None else _wait_seconds
        try:
            return super().wait(gen, interval=interval, timeout=bound)
        except errors._WaitTimeout:
            # A query is still out there: this connection can never be used again.
            self.close()
            raise psycopg.OperationalError(
                f"PostgreSQL did not answer within {bound:g} s; the connection was closed"
            ) from None
