"""An action's after-commit work beyond its private frames is one job for a worker: its
entries into the stall's document and the notice its move sends. Jobs that run late,
out of order, fail halfway or never run lose nothing the action committed."""

from datetime import timedelta
from smtplib import SMTPException

import pytest
from django.db import transaction

from bazaar import jobs
from notifications import services as notices
from notifications.models import Notice
from offers import ladder
from offers.ladder import ladder_job, ladder_sync_pending
from offers.models import Offer
from offers.services import offer_accept, offer_decline
from offers.tasks import write_ladder
from stalls.room.document import document_snapshot
from tests.offers.conftest import offered

pytestmark = pytest.mark.django_db


def written(stall_id: int) -> list[tuple[str, str]]:
    return [(e["id"], e["status"]) for e in document_snapshot(stall_id=stall_id)["offers"]]


@pytest.fixture
def queued(monkeypatch):
    """Jobs queued once their transaction commits, not run: {"ladder": the ladder's
    jobs' arguments, "alone": the names of any other jobs}."""
    kept = {"ladder": [], "alone": []}

    def ladder_job_queued(task, robust=False, **kwargs):
        transaction.on_commit(lambda: kept["ladder"].append(kwargs))

    def job_queued(task, **kwargs):
        transaction.on_commit(lambda: kept["alone"].append(task))

    monkeypatch.setattr(ladder, "enqueue_on_commit", ladder_job_queued)
    monkeypatch.setattr(jobs, "enqueue_on_commit", job_queued)
    return kept


def test_an_action_queues_one_job_with_its_entries_and_its_notice(
    buyer, seller, item, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        offer = offered(buyer, item, message="Twenty?")
    [job] = queued["ladder"]
    assert job["write"]["stall_id"] == item.stall_id and job["write"]["made"]
    assert [(e["id"], e["status"]) for e in job["write"]["entries"]] == [
        (offer.public_id, "pending")
    ]
    assert job["notice"]["recipient_id"] == seller.pk
    assert job["notice"]["kind"] == "offer_received" and job["notice"]["body"] == "Twenty?"
    assert queued["alone"] == [], "the notice goes in the ladder's job, not in one of its own"
    assert written(item.stall_id) == [] and Notice.objects.count() == 0


def test_a_decline_queues_its_entry_with_no_notice_and_a_rolled_back_action_nothing(
    buyer, seller, item, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        offer = offered(buyer, item)
        offer_decline(actor=seller, offer=offer, idempotency_key="decline-key-0123456789")
    assert [job["notice"] is None for job in queued["ladder"]] == [False, True]
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        offered(buyer, item, 2100)
        transaction.set_rollback(True)
    assert len(queued["ladder"]) == 2


def test_the_job_writes_the_ladder_and_delivers_the_notice(
    buyer, seller, item, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        offer = offered(buyer, item)
    write_ladder(**queued["ladder"][0])
    assert written(item.stall_id) == [(offer.public_id, "pending")]
    assert not Offer.objects.get(pk=offer.pk).ladder_pending
    assert Notice.objects.get().recipient == seller


def test_a_notice_that_fails_in_the_job_is_queued_alone_and_the_ladder_still_written(
    buyer, item, queued, monkeypatch, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        offer = offered(buyer, item)

    def mail_server_away(**_):
        raise SMTPException("the mail server went away")

    monkeypatch.setattr(notices, "notice_deliver", mail_server_away)
    with django_capture_on_commit_callbacks(execute=True):
        ladder_job(**queued["ladder"][0])
    assert written(item.stall_id) == [(offer.public_id, "pending")]
    assert queued["alone"] == [notices.DELIVER_TASK]


def test_jobs_run_out_of_order_leave_the_newer_state(
    buyer, seller, item, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        made = offered(buyer, item)
        offer_accept(actor=seller, offer=made, idempotency_key="accept-key-0123456789")
    made_job, accepted_job = queued["ladder"]
    ladder_job(**accepted_job)
    ladder_job(**made_job)  # the older state lands last
    assert written(item.stall_id) == [(made.public_id, "accepted")]
    assert not Offer.objects.filter(ladder_pending=True).exists()
    assert Notice.objects.filter(recipient=buyer).count() == 1


def test_a_job_the_broker_never_took_is_not_the_actions_and_the_sweep_writes_it(
    buyer, item, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    """A crash between the commit and the job (or a broker that refuses it): the action
    stands, its offer stays marked in its committed row, and the sweep writes it."""

    def broker_away(*args, **kwargs):
        raise ConnectionError("the broker went away")

    monkeypatch.setattr(write_ladder, "apply_async", broker_away)
    with django_capture_on_commit_callbacks(execute=True):
        offer = offered(buyer, item)
    assert "the broker went away" in caplog.text
    assert written(item.stall_id) == []
    assert Offer.objects.get(pk=offer.pk).ladder_pending
    monkeypatch.undo()
    assert ladder_sync_pending(older_than=timedelta(0)) == 1
    assert written(item.stall_id) == [(offer.public_id, "pending")]
