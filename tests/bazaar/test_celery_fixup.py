"""A Celery worker's children keep their database pool between tasks (bazaar.celery)."""

from types import SimpleNamespace

import pytest
from celery.fixups.django import DjangoFixup
from django.db import connection

from bazaar.celery import PoolKeepingWorkerFixup, app


def test_the_app_s_django_fixup_keeps_the_pool():
    [fixup] = [fixup for fixup in app._fixups if isinstance(fixup, DjangoFixup)]
    assert isinstance(fixup.worker_fixup, PoolKeepingWorkerFixup)


@pytest.mark.django_db(transaction=True)
def test_after_a_task_the_connection_goes_back_and_the_pool_stays():
    """Celery's own fixup closed the psycopg pool after every task of a prefork child:
    each task then opened a pool and two PostgreSQL connections of its own."""
    pooled = bool(connection.settings_dict["OPTIONS"].get("pool"))
    fixup = PoolKeepingWorkerFixup(app)
    fixup.worker = SimpleNamespace(pool_cls="celery.concurrency.prefork:TaskPool")
    task = SimpleNamespace(request=SimpleNamespace(is_eager=False))
    fixup.on_task_prerun(sender=task)
    connection.ensure_connection()
    pool = connection.pool if pooled else None
    fixup.on_task_postrun(sender=task)
    if pooled:
        assert connection.connection is None  # back in the pool, as after a request
        assert connection.pool is pool and not pool.closed
    with connection.cursor() as cursor:  # the next task's query
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)
