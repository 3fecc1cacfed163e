"""Stall chat is kept CHAT_RETENTION_DAYS (ASVS V8.3.8), then deleted from the table,
from the stall document and from the document's update log; a message an open report
names, or one held and not yet reviewed, waits for a steward."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from governance.models import Report, Role
from governance.reports import ReportTarget, report_create, report_decide
from governance.services import banned_word_add, role_grant
from stalls.models import ChatMessage, StallDocumentUpdate
from stalls.room.chat import chat_expire, chat_post
from stalls.room.document import document_snapshot
from stalls.tasks import expire_chat

pytestmark = pytest.mark.django_db


def written_ago(message: ChatMessage, days: int) -> None:
    ChatMessage.objects.filter(pk=message.pk).update(
        created_at=timezone.now() - timedelta(days=days)
    )


def test_old_chat_goes_but_a_reported_or_held_message_waits_for_a_steward(stall, make_user):
    steward = make_user("steward")
    role_grant(user=steward, role=Role.STEWARD)
    banned_word_add(word="scoundrel", added_by=steward)
    talker = make_user("talker")
    old = chat_post(user=talker, stall=stall, text="Is the lamp still here?")
    reported = chat_post(user=talker, stall=stall, text="Pay me outside the market")
    held = chat_post(user=make_user("rude"), stall=stall, text="scoundrel")
    young = chat_post(user=talker, stall=stall, text="Still have the vase?")
    for message in (old, reported, held):
        written_ago(message, settings.CHAT_RETENTION_DAYS + 1)
    written_ago(young, settings.CHAT_RETENTION_DAYS - 1)
    report = report_create(
        reporter=make_user("watcher"),
        target=ReportTarget(
            kind=Report.TargetKind.CHAT,
            ref=reported.public_id,
            label=reported.text,
            url="",
            owner=talker,
        ),
        reason=Report.Reason.SCAM,
        details="",
    )

    assert chat_expire() == 1
    kept = {reported.public_id, held.public_id, young.public_id}
    assert set(ChatMessage.objects.values_list("public_id", flat=True)) == kept
    assert {e["id"] for e in document_snapshot(stall_id=stall.pk)["chat"]} == {
        reported.public_id,
        young.public_id,
    }
    log = b"".join(StallDocumentUpdate.objects.values_list("update", flat=True))
    assert b"Is the lamp still here?" not in log
    assert b"Still have the vase?" in log

    report_decide(report=report, actor=steward, acted=False, outcome="Nothing against the rules.")
    assert expire_chat() == 1
    assert set(ChatMessage.objects.values_list("public_id", flat=True)) == {
        held.public_id,
        young.public_id,
    }
    assert b"Pay me outside the market" not in b"".join(
        StallDocumentUpdate.objects.values_list("update", flat=True)
    )


def test_nothing_due_changes_nothing(stall, make_user):
    chat_post(user=make_user("talker"), stall=stall, text="Fresh")
    updates = StallDocumentUpdate.objects.count()
    assert chat_expire() == 0
    assert StallDocumentUpdate.objects.count() == updates


def test_the_job_runs_daily():
    entry = settings.CELERY_BEAT_SCHEDULE["stalls-expire-chat"]
    assert entry == {"task": "stalls.tasks.expire_chat", "schedule": 86400.0}
