"""Sign-in records (django-axes's log-ins, log-outs and failures) are kept 90 days,
then dropped by a daily job (ASVS V8.3.8)."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.utils import timezone

from accounts.tasks import expire_sign_in_records

pytestmark = pytest.mark.django_db


def _records(age: timedelta, name: str) -> None:
    at = timezone.now() - age
    seen = {"username": name, "ip_address": "203.0.113.9", "user_agent": "Firefox"}
    AccessLog.objects.create(**seen)
    AccessFailureLog.objects.create(**seen)
    AccessAttempt.objects.create(**seen, failures_since_start=1)
    for model in (AccessLog, AccessFailureLog, AccessAttempt):  # attempt_time: auto_now_add
        model.objects.filter(username=name).update(attempt_time=at)


def test_records_older_than_the_period_go_and_younger_ones_stay():
    _records(timedelta(days=91), "old")
    _records(timedelta(days=89), "recent")
    _records(timedelta(minutes=3), "locked-out-now")
    assert expire_sign_in_records() == 3
    for model in (AccessLog, AccessFailureLog, AccessAttempt):
        names = set(model.objects.values_list("username", flat=True))
        assert names == {"recent", "locked-out-now"}, model


def test_the_job_runs_daily():
    entry = settings.CELERY_BEAT_SCHEDULE["accounts-expire-sign-in-records"]
    assert entry == {"task": "accounts.tasks.expire_sign_in_records", "schedule": 86400.0}
