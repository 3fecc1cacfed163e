"""In the embedded market (no Redis) the notices travel as `bazaar.Job` rows that the
web process runs: a new item at a followed stall queues one job with the item
(not one per follower), which queues the followers' notices in turn."""

import pytest
from django.db import transaction
from django.test import override_settings

from bazaar import runner
from bazaar.models import Job
from notifications.models import Notice
from tests.conftest import new_item
from watchlist.services import stall_follow_set

pytestmark = pytest.mark.django_db(transaction=True)


def run_queued_jobs(monkeypatch) -> list[str]:
    """Run what is queued, and what that queues, as the runner's thread would (in
    the runner's process, whose broadcasts go straight to its sockets)."""
    monkeypatch.setattr(runner, "running_here", lambda: True)
    ran = []
    while (job := runner.job_claim()) is not None:
        ran.append(job.task)
        runner.job_run(job)
    return ran


@override_settings(JOBS_BACKEND="embedded")
def test_a_new_item_reaches_followers_through_the_web_process_jobs(stall, make_user, monkeypatch):
    fans = [make_user(f"fan{n}") for n in range(3)]
    for fan in fans:
        stall_follow_set(user=fan, stall=stall, following=True)
    with transaction.atomic():
        item = new_item(stall, title="Tin robot")
    ours = Job.objects.filter(task__startswith="watchlist.")
    assert list(ours.values_list("task", "kwargs")) == [
        ("watchlist.tasks.tell_item_listed", {"item_id": item.pk})
    ]
    ran = run_queued_jobs(monkeypatch)
    assert ran.count("watchlist.tasks.tell_item_listed") == 1
    assert ran.count("notifications.tasks.deliver_notice") == 3
    notices = Notice.objects.filter(kind="seller_listed").order_by("recipient_id")
    assert [notice.recipient for notice in notices] == fans
    assert {notice.title for notice in notices} == {"New at seller's stall: Tin robot"}
