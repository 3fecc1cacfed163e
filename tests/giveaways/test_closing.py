"""After the draw and after time runs out (issue 14): the winner hears of the prize by
bell and email; a giveaway not drawn within the hour, or a prize not claimed within
48 hours, is closed by the scheduled job, audited, and its unit goes back on sale."""

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from bazaar.idempotency import new_key
from giveaways.models import Giveaway, GiveawayEvent
from giveaways.services import giveaway_claim, giveaway_open, giveaways_close_due
from giveaways.tasks import close_due_giveaways
from notifications.models import Notice
from stalls.selectors import item_available_quantity
from tests.giveaways.test_services import ADDRESS, draw

pytestmark = pytest.mark.django_db
Status = Giveaway.Status


def test_the_winner_gets_a_bell_and_an_email(giveaway, viewer_in, on_commit):
    winner = viewer_in("lucky")
    on_commit(draw, giveaway)
    notice = Notice.objects.get(recipient=winner)
    assert notice.kind == "giveaway_won"
    assert notice.title == f"You won “Brass bell” in {giveaway.stall.name}'s giveaway"
    assert notice.url == reverse("giveaways:detail", args=[giveaway.public_id])
    assert "Claim it by" in notice.body
    assert [message.to for message in mail.outbox] == [[winner.email]]
    assert "Brass bell" in mail.outbox[0].subject
    assert not Notice.objects.exclude(recipient=winner).exists()  # nobody else is told


def test_a_second_draw_tells_the_winner_once(giveaway, viewer_in, on_commit):
    winner = viewer_in("lucky")
    on_commit(draw, giveaway)
    on_commit(draw, giveaway)
    assert Notice.objects.filter(recipient=winner).count() == 1 and len(mail.outbox) == 1


def test_an_undrawn_giveaway_closes_after_its_hour_and_frees_the_unit(giveaway, prize):
    assert giveaways_close_due(now=giveaway.draw_by - timedelta(seconds=1)) == 0
    assert giveaways_close_due(now=giveaway.draw_by) == 1
    giveaway.refresh_from_db()
    assert giveaway.status == Status.EXPIRED
    event = GiveawayEvent.objects.get(giveaway=giveaway, to_status=Status.EXPIRED)
    assert (event.from_status, event.note, event.actor) == (Status.OPEN, "not drawn in time", None)
    assert giveaway.reservation.released_at is not None
    assert item_available_quantity(item=prize) == 1
    # The stall's one open slot is free again: the seller opens the next one.
    again = giveaway_open(
        actor=giveaway.seller, item=prize, audience="everyone", idempotency_key=new_key()
    )
    assert again.status == Status.OPEN


def test_an_unclaimed_prize_closes_after_48_hours(giveaway, viewer_in, prize):
    winner = viewer_in("lucky")
    drawn = draw(giveaway)
    assert giveaways_close_due(now=drawn.claim_by - timedelta(seconds=1)) == 0
    assert giveaways_close_due(now=drawn.claim_by) == 1
    drawn.refresh_from_db()
    assert drawn.status == Status.UNCLAIMED
    event = GiveawayEvent.objects.get(giveaway=drawn, to_status=Status.UNCLAIMED)
    assert event.note == f"@{winner.handle} did not claim"
    assert item_available_quantity(item=prize) == 1
    with pytest.raises(Exception, match="no prize to claim"):
        giveaway_claim(winner=winner, giveaway=drawn, address=ADDRESS, now=drawn.claim_by)


def test_a_claimed_or_cancelled_giveaway_is_left_alone(giveaway, viewer_in, make_giveaway):
    viewer_in("lucky")
    drawn = draw(giveaway)
    giveaway_claim(winner=drawn.winner, giveaway=drawn, address=ADDRESS)
    later = timezone.now() + timedelta(days=5)
    assert giveaways_close_due(now=later) == 0
    drawn.refresh_from_db()
    assert drawn.status == Status.CLAIMED


def test_closing_twice_closes_once(giveaway):
    assert giveaways_close_due(now=giveaway.draw_by) == 1
    assert giveaways_close_due(now=giveaway.draw_by + timedelta(minutes=1)) == 0
    assert GiveawayEvent.objects.filter(giveaway=giveaway, to_status=Status.EXPIRED).count() == 1


def test_the_page_says_why_it_closed(client, giveaway):
    giveaways_close_due(now=giveaway.draw_by)
    html = client.get(reverse("giveaways:detail", args=[giveaway.public_id])).content.decode()
    assert "Not drawn in time." in html and "closed without a winner" in html


def test_the_scheduled_job_runs_the_close(giveaway, settings):
    assert "giveaways-close-due" in settings.CELERY_BEAT_SCHEDULE
    Giveaway.objects.filter(pk=giveaway.pk).update(draw_by=timezone.now())
    assert close_due_giveaways() == 1
