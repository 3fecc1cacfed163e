"""The embedded market's background work, run inside the web process.

Without REDIS_URL there is no broker and the channel layer lives in the web
process's memory, so a separate Celery worker could neither take work reliably
(kombu's filesystem transport reads half-written messages: kombu #1551) nor reach
an open page with what it publishes. Here the web process does the work itself, in
two daemon threads:

- **jobs**: runs the `bazaar.Job` rows that services queue (`bazaar.jobs`), oldest
  first, one at a time. A job that succeeds is deleted. One that raises an error its
  task retries on (`autoretry_for`) is queued again with the task's backoff, up to
  its `max_retries`; any other error marks it `failed` with the traceback, and the
  runner carries on with the next. A job left `running` by a process that died is
  queued again when the next one starts: tasks are safe to run twice.
- **schedule**: runs `settings.CELERY_BEAT_SCHEDULE` in place of Celery beat, each
  entry inline when due (Celery's own schedule objects decide), at start-up too, so
  sweeps catch up after downtime. A slow sweep delays the next; none pile up.

What either thread publishes goes through `bazaar.broadcast` to this process's
sockets, like a request's broadcasts.
"""

import logging
import os
import threading
import traceback
from collections.abc import Callable
from datetime import datetime, timedelta

from celery import current_app
from celery.schedules import maybe_schedule
from django.conf import settings
from django.db import close_old_connections, connections
from django.db.models import F
from django.utils import timezone

from bazaar import jobs

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
LONGEST_SCHEDULE_NAP = 1.0

_runner: "Runner | None" = None
_runner_pid: int | None = None
_start_lock = threading.Lock()


def ensure_started() -> None:
    """Start this process's runner once (after a fork too: threads do not survive one)."""
    global _runner, _runner_pid
    if _runner_pid == os.getpid():
        return
    with _start_lock:
        if _runner_pid == os.getpid():
            return
        _runner = Runner(schedule=settings.CELERY_BEAT_SCHEDULE)
        _runner.start()
        _runner_pid = os.getpid()
        log.info("background work runs in this process (pid %s): no broker", _runner_pid)


def running_here() -> bool:
    """Whether this process runs the embedded jobs (and so owns the open pages)."""
    return _runner_pid == os.getpid()


def threads_alive() -> bool:
    """Whether this process's runner is started and both of its threads still run
    (the readiness probe: a process whose jobs stopped is not ready)."""
    return running_here() and all(thread.is_alive() for thread in _runner.threads)


class Runner:
    def __init__(self, *, schedule: dict) -> None:
        self.schedule = schedule
        self._woken = jobs.JOB_QUEUED
        self._stopping = threading.Event()
        self.threads = [
            threading.Thread(target=self._forever, args=(self.run_jobs,), name="bazaar-jobs"),
            threading.Thread(
                target=self._forever, args=(self.run_schedule,), name="bazaar-schedule"
            ),
        ]
        for thread in self.threads:
            thread.daemon = True

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        self._woken.set()
        for thread in self.threads:
            thread.join(timeout)

    def _forever(self, loop: Callable[[], None]) -> None:
        """A loop that dies of an unexpected error is logged and started again."""
        while not self._stopping.is_set():
            try:
                loop()
            except Exception:
                log.exception("%s stopped on an error; starting it again", loop.__name__)
                self._stopping.wait(POLL_SECONDS)
            finally:
                close_old_connections()
        connections.close_all()

    def run_jobs(self) -> None:
        jobs_requeue_interrupted()
        while not self._stopping.is_set():
            self._woken.clear()
            close_old_connections()
            job = job_claim()
            if job is None:
                self._woken.wait(POLL_SECONDS)
                continue
            job_run(job)

    def run_schedule(self) -> None:
        entries = [ScheduleEntry(name, entry) for name, entry in self.schedule.items()]
        while not self._stopping.is_set():
            nap = LONGEST_SCHEDULE_NAP
            for entry in entries:
                nap = min(nap, entry.run_if_due())
                if self._stopping.is_set():
                    return
            self._stopping.wait(max(nap, 0.05))


class ScheduleEntry:
    """One line of CELERY_BEAT_SCHEDULE, due first at start-up."""

    def __init__(self, name: str, entry: dict) -> None:
        self.name = name
        self.task = entry["task"]
        self.args = tuple(entry.get("args", ()))
        self.kwargs = dict(entry.get("kwargs", {}))
        self.schedule = maybe_schedule(entry["schedule"], app=current_app)
        self.last_run_at: datetime | None = None

    def run_if_due(self) -> float:
        """Run the task if it is due; seconds until it should be asked again."""
        if self.last_run_at is not None:
            due, next_check = self.schedule.is_due(self.last_run_at)
            if not due:
                return next_check
        self.last_run_at = self.schedule.now()
        close_old_connections()
        try:
            jobs.task_named(self.task)(*self.args, **self.kwargs)
        except Exception:
            log.exception("scheduled %s (%s) failed", self.name, self.task)
        finally:
            close_old_connections()
        return self.schedule.is_due(self.last_run_at)[1]


def jobs_requeue_interrupted() -> int:
    """Jobs a dead process left `running` go back in the queue."""
    from bazaar.models import Job

    count = Job.objects.filter(status=Job.Status.RUNNING).update(status=Job.Status.QUEUED)
    if count:
        log.warning("queued %s job(s) again that a stopped process had been running", count)
    return count


def job_claim():
    """The oldest due job, marked running (None when there is nothing to do)."""
    from bazaar.models import Job

    due = Job.objects.filter(status=Job.Status.QUEUED, run_after__lte=timezone.now())
    job = due.order_by("run_after", "pk").first()
    if job is None:
        return None
    claimed = Job.objects.filter(pk=job.pk, status=Job.Status.QUEUED).update(
        status=Job.Status.RUNNING, attempts=F("attempts") + 1
    )
    if not claimed:
        return None
    job.refresh_from_db()
    return job


def job_run(job) -> None:
    """Run one claimed job to its end: deleted, queued again, or failed."""
    from bazaar.models import Job

    try:
        task = jobs.task_named(job.task)
    except (ImportError, KeyError):
        _job_fail(job, traceback.format_exc())
        return
    try:
        task(**job.kwargs)
    except Exception as error:
        if isinstance(error, tuple(getattr(task, "autoretry_for", ()))) and job.attempts <= (
            task.max_retries or 0
        ):
            delay = retry_delay(task, job.attempts)
            log.warning("%s failed (%r); trying again in %s s", job.task, error, delay)
            Job.objects.filter(pk=job.pk).update(
                status=Job.Status.QUEUED,
                run_after=timezone.now() + timedelta(seconds=delay),
                error=traceback.format_exc(),
            )
            return
        _job_fail(job, traceback.format_exc())
        return
    finally:
        close_old_connections()
    Job.objects.filter(pk=job.pk).delete()


def retry_delay(task, attempts: int) -> float:
    """Celery's backoff for a task's `attempts`-th failure: exponential from one
    second up to `retry_backoff_max` when it asks for backoff, else its fixed delay."""
    backoff = getattr(task, "retry_backoff", False)
    if not backoff:
        return float(task.default_retry_delay)
    factor = 1 if backoff is True else int(backoff)
    return float(min(getattr(task, "retry_backoff_max", 600), factor * 2 ** (attempts - 1)))


def _job_fail(job, error: str) -> None:
    from bazaar.models import Job

    log.error("job %s (%s) failed for good: %s", job.pk, job.task, error.strip().splitlines()[-1])
    Job.objects.filter(pk=job.pk).update(status=Job.Status.FAILED, error=error)
