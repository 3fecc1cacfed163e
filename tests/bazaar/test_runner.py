"""The embedded market's background work: jobs in the database, run in the web process.

This design replaces a Celery worker on kombu's filesystem transport, which died on a
message read before it was fully written (kombu #1551). Its equivalents here: a job
queued in a transaction nobody has committed yet is invisible to the runner; a job
that cannot run (unknown task, wrong arguments, an error) is recorded as failed and
the runner carries on; a job a dead process was running is run again.
"""

import os
import threading
import time
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from celery import shared_task
from channels.layers import get_channel_layer
from django.db import connection, transaction
from django.test import override_settings
from django.utils import timezone

from bazaar import broadcast, jobs, runner
from bazaar.models import Job

pytestmark = pytest.mark.django_db(transaction=True)

embedded = override_settings(JOBS_BACKEND="embedded")
done: list[object] = []


@shared_task(name="tests.bazaar.test_runner.record")
def record(value) -> None:
    done.append(value)


@shared_task(name="tests.bazaar.test_runner.explode")
def explode() -> None:
    raise RuntimeError("the task went wrong")


@shared_task(
    name="tests.bazaar.test_runner.flaky",
    autoretry_for=(ConnectionError,),
    retry_backoff=True,
    retry_backoff_max=60,
    max_retries=2,
)
def flaky() -> None:
    raise ConnectionError("the network is down")


@pytest.fixture(autouse=True)
def _nothing_done():
    done.clear()
    yield
    done.clear()


def until(condition, seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("timed out")
        time.sleep(0.02)


@embedded
def test_a_job_is_queued_with_the_transaction_and_not_without_it():
    with transaction.atomic():
        jobs.enqueue_on_commit("tests.bazaar.test_runner.record", value=1)
    with pytest.raises(RuntimeError), transaction.atomic():
        jobs.enqueue_on_commit("tests.bazaar.test_runner.record", value=2)
        raise RuntimeError("rolled back")
    assert list(Job.objects.values_list("task", "kwargs")) == [
        ("tests.bazaar.test_runner.record", {"value": 1})
    ]


@embedded
def test_a_job_still_being_written_is_not_read():
    """kombu #1551's failure, where our design could meet it: the runner looks while
    the transaction that queues a job is still open."""
    seen = []
    queued, looked = threading.Event(), threading.Event()

    def writer():
        with transaction.atomic():
            jobs.enqueue_on_commit("tests.bazaar.test_runner.record", value="late")
            queued.set()
            looked.wait(5)
        connection.close()

    thread = threading.Thread(target=writer)
    thread.start()
    queued.wait(5)
    seen.append(runner.job_claim())
    looked.set()
    thread.join()
    seen.append(runner.job_claim())
    assert seen[0] is None
    assert seen[1].kwargs == {"value": "late"}
    assert seen[1].status == Job.Status.RUNNING


@embedded
def test_the_runner_runs_queued_jobs_and_deletes_them(running_runner):
    with transaction.atomic():
        for value in range(3):
            jobs.enqueue_on_commit("tests.bazaar.test_runner.record", value=value)
    until(lambda: done == [0, 1, 2])
    until(lambda: not Job.objects.exists())


@embedded
def test_jobs_that_cannot_run_fail_alone_and_the_runner_carries_on(running_runner, caplog):
    jobs.enqueue_on_commit("tests.bazaar.test_runner.explode")
    jobs.enqueue_on_commit("tests.bazaar.test_runner.record", wrong_argument=1)
    jobs.enqueue_on_commit("nowhere.tasks.missing")
    jobs.enqueue_on_commit("tests.bazaar.test_runner.record", value="after")
    until(lambda: done == ["after"])
    until(lambda: Job.objects.filter(status=Job.Status.FAILED).count() == 3)
    failed = dict(Job.objects.filter(status=Job.Status.FAILED).values_list("task", "error"))
    assert "the task went wrong" in failed["tests.bazaar.test_runner.explode"]
    assert "wrong_argument" in failed["tests.bazaar.test_runner.record"]
    assert "No module named 'nowhere'" in failed["nowhere.tasks.missing"]
    assert "failed for good" in caplog.text
    assert all(thread.is_alive() for thread in running_runner.threads)


@embedded
def test_a_network_error_is_retried_with_backoff_then_fails():
    jobs.enqueue_on_commit("tests.bazaar.test_runner.flaky")
    job = runner.job_claim()
    runner.job_run(job)
    job.refresh_from_db()
    assert (job.status, job.attempts) == (Job.Status.QUEUED, 1)
    assert job.run_after > timezone.now() + timedelta(seconds=0.5)
    assert "the network is down" in job.error
    for attempt in (2, 3):
        Job.objects.filter(pk=job.pk).update(run_after=timezone.now())
        runner.job_run(runner.job_claim())
        job.refresh_from_db()
        assert job.attempts == attempt
    assert job.status == Job.Status.FAILED  # the first try and its two retries
    assert runner.retry_delay(flaky, 1) == 1 and runner.retry_delay(flaky, 9) == 60


@embedded
def test_jobs_a_dead_process_was_running_run_again():
    Job.objects.create(
        task="tests.bazaar.test_runner.record", kwargs={"value": "again"}, status="running"
    )
    assert runner.jobs_requeue_interrupted() == 1
    runner.job_run(runner.job_claim())
    assert done == ["again"]


@embedded
def test_delay_without_a_broker_queues_a_job():
    """A task sent the Celery way is not lost where no worker reads a broker."""
    assert record.delay(value=5) is None
    assert Job.objects.get().kwargs == {"value": 5}
    with pytest.raises(TypeError, match="keyword arguments only"):
        record.delay(5)


def test_scheduled_work_runs_at_start_and_again_when_due():
    entry = runner.ScheduleEntry(
        "record", {"task": "tests.bazaar.test_runner.record", "schedule": 3600, "args": [7]}
    )
    wait = entry.run_if_due()
    assert done == [7] and 3590 < wait <= 3600
    assert entry.run_if_due() > 3590 and done == [7]
    entry.last_run_at -= timedelta(hours=1)
    entry.run_if_due()
    assert done == [7, 7]


def test_a_failing_sweep_is_logged_and_does_not_stop_the_schedule(caplog):
    entry = runner.ScheduleEntry(
        "explode", {"task": "tests.bazaar.test_runner.explode", "schedule": 1.0}
    )
    assert entry.run_if_due() <= 1.0
    assert "scheduled explode" in caplog.text


@embedded
@override_settings(CHANNEL_LAYERS={"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}})
def test_a_command_s_broadcast_is_relayed_through_the_web_process(monkeypatch):
    """Outside the web process the in-memory layer reaches no page: the broadcast
    becomes a job, and the web process's runner sends it."""
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)("room", channel)
    event = {"type": "auction.update", "frame": '{"type": "update"}'}

    broadcast.broadcast_now("room", event)
    job = Job.objects.get()
    assert (job.task, job.kwargs) == (
        "bazaar.tasks.broadcast_relay",
        {"group": "room", "event": event},
    )

    monkeypatch.setattr(runner, "_runner_pid", os.getpid())  # now in the web process
    runner.job_run(runner.job_claim())
    assert async_to_sync(layer.receive)(channel) == event
    assert not Job.objects.exists()
