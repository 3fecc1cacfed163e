"""Background work, queued by task name once the deciding transaction commits.

Services call `enqueue_on_commit("orders.tasks.send_money_move", move_id=move.pk)`:
by name, so a service never imports its app's task module (the tasks import the
services). Where the work goes depends on `settings.JOBS_BACKEND`:

- ``celery`` (with REDIS_URL, and eagerly in tests): the task is sent to the broker
  after commit, as Celery's `delay` would.
- ``embedded`` (no REDIS_URL: `make run`): a `bazaar.Job` row is written in the
  caller's transaction, so the work is queued exactly when the change commits and
  survives a restart; `bazaar.embedded` runs it inside the web process.
"""

import importlib
import threading
from datetime import timedelta
from smtplib import SMTPException
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.utils import timezone

# How a task that sends mail retries while the mail server is away (either runner).
MAIL_RETRY = {
    "autoretry_for": (SMTPException, ConnectionError, TimeoutError),
    "retry_backoff": True,
    "retry_backoff_max": 600,
    "max_retries": 6,
}


def embedded() -> bool:
    return settings.JOBS_BACKEND == "embedded"


def enqueue_on_commit(task: str, **kwargs: Any) -> None:
    """Queue `task(**kwargs)` to run once the current transaction commits (at once if
    there is none). A rolled-back change queues nothing."""
    if embedded():
        job_enqueue(task=task, kwargs=kwargs)
        return
    transaction.on_commit(lambda: task_named(task).apply_async(kwargs=kwargs))


def task_named(name: str):
    """The Celery task `module.function`, importing its module if nothing has yet
    (a web process imports task modules only when it needs one)."""
    importlib.import_module(name.rpartition(".")[0])
    return current_app.tasks[name]


# Set once a job queued in this process has committed: the runner (bazaar.runner), which
# waits on it, runs the job now rather than at its next poll.
JOB_QUEUED = threading.Event()


def job_enqueue(*, task: str, kwargs: dict[str, Any], countdown: float | None = None) -> None:
    """Write the job row in the current transaction; wake the runner after commit."""
    from bazaar.models import Job

    run_after = timezone.now() + timedelta(seconds=countdown or 0)
    Job.objects.create(task=task, kwargs=kwargs, run_after=run_after)
    transaction.on_commit(JOB_QUEUED.set)
