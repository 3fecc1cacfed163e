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

The same connection class lets a transaction send its statements without waiting for
each other's answers (`atomic_pipelined`, psycopg's pipeline mode): an offer action's
round trips to PostgreSQL were most of its wall time (issue 15, session offers11).
"""

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext, suppress
from functools import cache

import psycopg
from django.db import connections, transaction
from psycopg import errors, pq

_wait_seconds: float | None = None


def bound_waits(seconds: float | None) -> None:
    """Bound every query's wait for its answer in this process (None: no bound)."""
    global _wait_seconds
    _wait_seconds = seconds


class BoundedConnection(psycopg.Connection):
    """psycopg's connection, giving up on an answer after the process's bound, and
    ready for pipeline mode (`atomic_pipelined`)."""

    @classmethod
    def connect(cls, *args, **kwargs):
        connection = super().connect(*args, **kwargs)
        connection.cursor_factory = _rowcount_waiting(connection.cursor_factory)
        return connection

    def _check_intrans_gen(self, attribute: str):
        """psycopg syncs a pipeline before it lets autocommit change, in case a queued
        statement opened a transaction. With nothing queued and nothing awaited the
        status it reads is already true: no sync, which was a round trip at each end of
        every `transaction.atomic` in a pipeline (Django turns autocommit off and on)."""
        pipeline = self._pipeline
        if (
            pipeline is not None
            and not pipeline.command_queue
            and not pipeline.result_queue
            and self.pgconn.transaction_status == pq.TransactionStatus.IDLE
        ):
            return
        yield from super()._check_intrans_gen(attribute)

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


class _RowcountWaits:
    """A cursor whose `rowcount` waits for its statement's result in pipeline mode,
    where psycopg leaves it at -1 until the next sync: Django reads it (an UPDATE's
    count decides whether `save` with `update_fields` did anything), so code run in a
    pipeline (`atomic_pipelined`) is told the truth, at the cost of that sync."""

    @property
    def rowcount(self) -> int:
        if self.connection._pipeline is not None:
            with _errors_as_djangos(self.connection):
                self._fetch_pipeline()  # psycopg's own wait for this cursor's answer
        return self._rowcount


def _errors_as_djangos(raw: psycopg.Connection):
    """Django's error classes for what this thread's Django connection over `raw`
    meets (an IntegrityError met reading a count is caught as Django's)."""
    for connection in connections.all(initialized_only=True):
        if connection.connection is raw:
            return connection.wrap_database_errors
    return nullcontext()


@cache
def _rowcount_waiting(cursor_class: type) -> type:
    return type(cursor_class.__name__, (_RowcountWaits, cursor_class), {})


@contextmanager
def atomic_pipelined(using: str = "default") -> Iterator[None]:
    """`transaction.atomic` whose statements are sent without waiting for each other's
    answers (psycopg's pipeline mode): a statement waits only when its caller reads a
    result, so the writes that need no answer and the COMMIT go in the round trip of
    the next read, or of the COMMIT (psycopg still waits for BEGIN's own answer, to
    know the transaction began). What runs after commit (`on_commit`: the offer
    ladder's write) is pipelined too. PostgreSQL only; elsewhere a plain `atomic`.

    A statement's error is raised where an answer is next read: a later statement's,
    the commit's, or (inside an outer transaction) the end of the block's. A failure
    leaves the pipeline refusing every later statement until it is synced, so it is
    synced away here before the transaction (or savepoint) is rolled back."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        with transaction.atomic(using=using):
            yield
        return
    connection.ensure_connection()
    nested = connection.in_atomic_block
    with connection.connection.pipeline() as pipeline, transaction.atomic(using=using):
        try:
            yield
            if nested:
                # A savepoint's release is no commit: what is still in the pipeline is
                # answered here, so an error in it rolls the savepoint back.
                with connection.wrap_database_errors:
                    pipeline.sync()
        except BaseException:
            with suppress(psycopg.Error):
                pipeline.sync()
            raise
