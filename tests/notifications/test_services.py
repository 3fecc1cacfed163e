"""Notices at the service level: `notify` queues after commit, the job writes once,
rings the bell and mails as the person's settings say."""

import pytest
from django.core import mail
from django.db import transaction
from django.test import override_settings

from bazaar import runner
from bazaar.ids import new_ulid
from bazaar.models import Job
from notifications.frames import notice_group
from notifications.kinds import EMAILED_BY_DEFAULT
from notifications.models import Kind, Notice
from notifications.selectors import (
    dedupe_keys_used,
    email_kinds_for,
    notices_for,
    unread_count,
    unread_count_for_top_bar,
)
from notifications.services import (
    email_kinds_set,
    notice_deliver,
    notice_open,
    notices_mark_all_read,
    notify,
)


@pytest.fixture
def alice(make_user):
    return make_user("alice")


def tell(user, kind=Kind.OUTBID, **extra):
    notify(
        user, kind, title=extra.pop("title", "You were outbid on Brass lamp"), url="/x/", **extra
    )


def test_notify_delivers_after_commit_with_the_email(alice, on_commit):
    on_commit(tell, alice, body="Someone bid $30.00.")

    notice = Notice.objects.get(recipient=alice)
    assert (notice.kind, notice.title, notice.body, notice.url) == (
        "outbid",
        "You were outbid on Brass lamp",
        "Someone bid $30.00.",
        "/x/",
    )
    assert notice.unread and notice.emailed_at is not None
    [message] = mail.outbox
    assert message.subject == "You were outbid on Brass lamp" and message.to == [alice.email]
    assert "Someone bid $30.00." in message.body and "http://" in message.body


def test_a_rolled_back_action_tells_nobody(alice, django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        tell(alice)
        raise RuntimeError("the action failed")
    assert not Notice.objects.exists() and not mail.outbox


def test_an_unknown_kind_is_a_programming_error(alice):
    with pytest.raises(ValueError, match="unknown notice kind"):
        notify(alice, "gossip", title="t", url="/")


def test_a_dedupe_key_makes_the_second_notice_a_no_op(alice, make_user, on_commit):
    bob = make_user("bob")
    for person in (alice, alice, bob):
        on_commit(tell, person, kind=Kind.OFFER_EXPIRING, dedupe_key="offer_expiring:1")
    assert Notice.objects.filter(recipient=alice).count() == 1
    assert Notice.objects.filter(recipient=bob).count() == 1
    assert len(mail.outbox) == 2
    assert dedupe_keys_used(keys={(alice.pk, "offer_expiring:1"), (alice.pk, "other")}) == {
        (alice.pk, "offer_expiring:1")
    }


def test_the_job_run_twice_writes_and_mails_once(alice):
    job = dict(
        public_id=new_ulid(), recipient_id=alice.pk, kind="outbid", title="t", url="/", body=""
    )
    first, second = notice_deliver(**job), notice_deliver(**job)
    assert first.pk == second.pk and Notice.objects.count() == 1 and len(mail.outbox) == 1


def test_the_job_is_a_statement_or_two_each_compiled_once(
    alice, make_user, django_assert_num_queries
):
    """The recipient with their settings, the INSERT, the bell's count, the email's
    mark: four statements for a mailed notice, three for one not mailed or a second
    run, one for a recipient gone (issue 15: the job cost the worker more than the
    action cost the web process)."""
    email_kinds_set(user=alice, kinds={Kind.OUTBID})
    job = dict(recipient_id=alice.pk, title="t", url="/", body="")
    with django_assert_num_queries(4):
        mailed = notice_deliver(public_id=new_ulid(), kind=Kind.OUTBID, **job)
    with django_assert_num_queries(3):
        notice_deliver(public_id=new_ulid(), kind=Kind.PRICE_DROP, **job)
    with django_assert_num_queries(3):  # the recipient, the INSERT ignored, the notice read
        again = notice_deliver(public_id=mailed.public_id, kind=Kind.OUTBID, **job)
    assert again.pk == mailed.pk and len(mail.outbox) == 1
    gone = make_user("gone")
    gone.is_active = False
    gone.save()
    with django_assert_num_queries(1):
        assert (
            notice_deliver(
                public_id=new_ulid(), kind=Kind.OUTBID, **{**job, "recipient_id": gone.pk}
            )
            is None
        )
    assert unread_count(user=alice) == 2 and Notice.objects.count() == 2


def test_a_failed_email_is_retried_without_a_second_notice(alice, monkeypatch):
    from smtplib import SMTPException

    from notifications import services

    job = dict(public_id=new_ulid(), recipient_id=alice.pk, kind="outbid", title="t", url="/")

    def down(notice):
        raise SMTPException("mail server away")

    monkeypatch.setattr(services, "notice_email_send", down)
    with pytest.raises(SMTPException):
        notice_deliver(**job)
    assert Notice.objects.get().emailed_at is None
    monkeypatch.undo()
    notice_deliver(**job)
    assert Notice.objects.count() == 1 and len(mail.outbox) == 1


def test_a_broken_queue_never_breaks_the_action(alice, monkeypatch, on_commit, caplog):
    from bazaar import jobs

    def broker_down(*args, **kwargs):
        raise ConnectionError("broker away")

    monkeypatch.setattr(jobs, "enqueue_on_commit", broker_down)
    on_commit(tell, alice)
    assert not Notice.objects.exists()
    assert "broker away" in caplog.text


def test_email_follows_the_settings_and_orders_kinds_are_never_mailed_twice(alice, on_commit):
    assert email_kinds_for(user=alice) == EMAILED_BY_DEFAULT
    on_commit(tell, alice, kind=Kind.SELLER_LIVE)
    on_commit(tell, alice, kind=Kind.ORDER_PAID)
    assert not mail.outbox

    email_kinds_set(user=alice, kinds={"seller_live", "order_paid", "nonsense"})
    assert email_kinds_for(user=alice) == {"seller_live"}
    on_commit(tell, alice, kind=Kind.SELLER_LIVE)
    on_commit(tell, alice, kind=Kind.OUTBID)
    assert [m.subject for m in mail.outbox] == ["You were outbid on Brass lamp"]
    assert Notice.objects.filter(recipient=alice).count() == 4


def test_emails_carry_one_click_unsubscribe_headers(alice, on_commit):
    on_commit(tell, alice)
    [message] = mail.outbox
    link = message.extra_headers["List-Unsubscribe"]
    assert link.startswith("<http") and "/notifications/unsubscribe/" in link
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert link.strip("<>") in message.body


def test_reading_is_scoped_to_the_owner(alice, make_user, on_commit):
    bob = make_user("bob")
    on_commit(tell, alice)
    on_commit(tell, alice, title="Second")
    notice = notices_for(user=alice).first()
    assert notice.title == "Second" and unread_count(user=alice) == 2

    assert notice_open(user=bob, public_id=notice.public_id) is None
    assert unread_count(user=alice) == 2
    assert notice_open(user=alice, public_id=notice.public_id).read_at is not None
    assert unread_count(user=alice) == 1
    assert notices_mark_all_read(user=bob) == 0
    assert notices_mark_all_read(user=alice) == 1
    assert unread_count(user=alice) == 0


def test_the_bell_rings_with_the_new_count(alice, on_commit, monkeypatch):
    """The frames each change sends to the person's bells (the socket that carries
    them: test_consumers)."""
    from notifications import services

    sent = []
    monkeypatch.setattr(services, "broadcast_on_commit", lambda *call: sent.append(call))
    on_commit(tell, alice)
    ((group, event),) = sent
    frame = event["frame"]
    assert group == notice_group(alice.public_id) and event["type"] == "notice.frame"
    assert frame["type"] == "notice" and frame["unread"] == 1
    assert frame["notice"]["title"] == "You were outbid on Brass lamp"

    on_commit(notices_mark_all_read, user=alice)
    assert sent[-1][1]["frame"] == {"type": "unread", "unread": 0}


@pytest.mark.django_db(transaction=True)
@override_settings(JOBS_BACKEND="embedded")
def test_without_a_broker_the_notice_is_a_job_the_web_process_runs(alice):
    """The embedded market (no Redis): a job row once the action commits, none if it
    rolls back; the runner's run writes the notice and mails."""
    with pytest.raises(RuntimeError), transaction.atomic():
        tell(alice, title="Never")
        raise RuntimeError("rolled back")
    with transaction.atomic():
        tell(alice)
        assert not Job.objects.exists()
    [job] = Job.objects.all()
    assert job.task == "notifications.tasks.deliver_notice"
    runner.job_run(runner.job_claim())
    assert [n.title for n in Notice.objects.all()] == ["You were outbid on Brass lamp"]
    assert len(mail.outbox) == 1
    # Run outside the web process, the bell's ring is handed to it as a job of its own.
    assert list(Job.objects.values_list("task", flat=True)) == ["bazaar.tasks.broadcast_relay"]


def test_the_top_bar_s_count_is_cached_and_forgotten_when_it_changes(
    alice, on_commit, django_assert_num_queries
):
    assert unread_count_for_top_bar(user=alice) == 0
    with django_assert_num_queries(0):
        assert unread_count_for_top_bar(user=alice) == 0
    on_commit(tell, alice)
    assert unread_count_for_top_bar(user=alice) == 1
    on_commit(notice_open, user=alice, public_id=Notice.objects.get().public_id)
    assert unread_count_for_top_bar(user=alice) == 0
    on_commit(tell, alice)
    on_commit(notices_mark_all_read, user=alice)
    assert unread_count_for_top_bar(user=alice) == 0
