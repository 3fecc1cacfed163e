"""The demo market: themed stalls with photographed, priced items, and flash auctions
kept running near 0/0."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db.models import Count, Q

from auctions.models import Auction
from auctions.services.starting import auction_cancel
from market.seeding import (
    DEMO_AUCTION_REACH,
    DEMO_AUCTIONS,
    demo_auctions_keep,
    demo_auctions_running,
    seed_market,
)
from stalls.demo_catalogue import catalogue
from stalls.models import Condition, Item, Photo, Stall

pytestmark = pytest.mark.django_db

TITLES = {title for good in catalogue().goods for title in good.titles}


def test_every_stall_and_item_has_a_photo_and_a_price_that_fits_it():
    seed_market(sections=2, stalls=3)
    stalls = Stall.objects.annotate(
        fronts=Count("photos", filter=Q(photos__item__isnull=True))
    ).order_by("pk")
    assert stalls.count() == 4 * 3 + 1
    assert {stall.fronts for stall in stalls} == {1}
    items = Item.objects.annotate(photo_count=Count("photos"))
    assert items.count() == 12 * 3 + 8  # the demo seller's stall shows eight
    assert min(item.photo_count for item in items) >= 1
    assert {item.title for item in items} <= TITLES
    by_title = {}
    for good in catalogue().goods:
        for title in good.titles:
            by_title.setdefault(title, []).append(good)
    for item in items:
        goods = [good for good in by_title[item.title] if good.category == item.category]
        assert any(low <= item.price_cents <= high for low, high in (g.cents for g in goods))
        assert item.condition in Condition.values
        assert item.description
        assert not item.brand or any(item.brand in good.brands for good in goods)
        assert not item.size or any(item.size in good.sizes for good in goods)
    assert items.exclude(brand="").exists()
    photo = Photo.objects.filter(item__isnull=False).first()
    assert photo.image.storage.exists(photo.image.name)
    assert photo.thumbnail.storage.exists(photo.thumbnail.name)
    assert (photo.width, photo.height) == (640, 480)


def test_a_section_has_no_two_stalls_of_one_kind_or_name():
    seed_market(sections=1, stalls=8)
    names = list(Stall.objects.values_list("name", flat=True))
    assert len(names) == len(set(names)) == 9
    descriptions = [stall.description.split("\n")[0] for stall in Stall.objects.all()]
    pitches = {pitch: theme.key for theme in catalogue().themes for pitch in theme.pitches}
    kinds = [pitches[line] for line in descriptions if line in pitches]
    assert len(kinds) == len(set(kinds)) == 8


def test_seeding_again_adds_nothing_and_a_larger_market_only_what_is_missing(capsys):
    call_command("seed_market", "--sections", "2", "--stalls", "2")
    counts = (Stall.objects.count(), Item.objects.count(), Photo.objects.count())
    call_command("seed_market", "--sections", "2", "--stalls", "2")
    assert (Stall.objects.count(), Item.objects.count(), Photo.objects.count()) == counts
    call_command("seed_market", "--sections", "3", "--stalls", "2")
    assert Stall.objects.count() == 9 * 2 + 1
    assert "started" in capsys.readouterr().out


def test_items_per_stall_makes_a_market_big_enough_for_the_search_bench():
    seed_market(sections=1, stalls=2, items_per_stall=12)
    counts = set(
        Stall.objects.exclude(seller__user__handle="demo_seller")
        .annotate(n=Count("items"))
        .values_list("n", flat=True)
    )
    assert counts == {12}
    assert Item.objects.filter(stall__seller__user__handle="demo_seller").count() == 12


def test_seed_market_refuses_an_impossible_number_of_items():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="items-per-stall"):
        call_command("seed_market", "--items-per-stall", "0")


def test_seed_market_refuses_production_settings_unless_the_copy_is_thrown_away(settings):
    """Production settings: the demo accounts (a steward's among them) and their printed
    password never reach a real market by mistake; a scan's throwaway copy says so."""
    from django.core.management.base import CommandError

    settings.DEMO_DATA_ALLOWED = False
    with pytest.raises(CommandError, match="Refused: these are production settings"):
        call_command("seed_market", "--sections", "1", "--stalls", "1")
    assert not Stall.objects.exists()
    call_command("seed_market", "--sections", "1", "--stalls", "1", "--throwaway")
    assert Stall.objects.exists()


def test_demo_auctions_start_near_the_origin_with_staggered_flash_ends():
    seed_market(sections=3, stalls=3)
    running = demo_auctions_running()
    assert len(running) == DEMO_AUCTIONS
    sellers = [auction.seller.handle for auction in running]
    assert "demo_seller" in sellers and len(set(sellers)) == DEMO_AUCTIONS
    minutes = []
    for auction in running:
        length = auction.ends_at - auction.starts_at
        assert timedelta(minutes=3) <= length < timedelta(minutes=20)
        minutes.append(int(length.total_seconds() // 60))
        section = auction.item.stall.section
        assert 0 <= section.x <= DEMO_AUCTION_REACH and 0 <= section.y <= DEMO_AUCTION_REACH
        assert auction.status == "live" and auction.reservation.released_at is None
    assert len(set(minutes)) == DEMO_AUCTIONS  # no two end in the same minute


def test_demo_auctions_are_topped_up_only_when_some_have_ended():
    seed_market(sections=2, stalls=3)
    assert demo_auctions_keep() == []
    first = demo_auctions_running()[0]
    auction_cancel(actor=first.seller, auction=first)
    started = demo_auctions_keep()
    assert len(started) == 1 and started[0].pk != first.pk
    assert len(demo_auctions_running()) == DEMO_AUCTIONS
    assert demo_auctions_keep() == []


def test_the_if_empty_run_of_make_run_restarts_the_demo_auctions(capsys):
    seed_market(sections=2, stalls=3)
    Auction.objects.update(status="unsold")
    call_command("seed_market", "--if-empty")
    assert "not seeding" in capsys.readouterr().out
    assert len(demo_auctions_running()) == DEMO_AUCTIONS


def test_the_beat_task_keeps_the_demo_auctions_running(settings):
    from market.tasks import keep_demo_auctions

    settings.DEMO_MARKET = True
    seed_market(sections=2, stalls=3)
    Auction.objects.update(status="unsold")
    assert keep_demo_auctions.delay().get() == DEMO_AUCTIONS


def test_no_auction_is_started_for_sellers_who_are_not_demo_accounts(make_stall, make_item):
    stall = make_stall("realseller", x=0, y=0, slot=0)
    make_item(stall)
    assert demo_auctions_keep() == []


def test_the_banner_of_make_run_lists_where_the_flash_auctions_are(capsys):
    seed_market(sections=2, stalls=2)
    capsys.readouterr()
    call_command("market_banner")
    out = capsys.readouterr().out
    running = demo_auctions_running()
    assert len(running) == DEMO_AUCTIONS
    for auction in running:
        assert f"/auctions/{auction.public_id}/  {auction.item.title}, ends in " in out


@pytest.mark.parametrize(
    ("backend", "said"),
    [
        ("embedded", "background work in the web process (no broker)"),
        ("celery", "background work Celery workers"),
    ],
)
def test_the_banner_says_where_background_work_runs(capsys, settings, backend, said):
    settings.JOBS_BACKEND = backend
    call_command("market_banner")
    assert said in capsys.readouterr().out


def test_the_demo_credits_its_art_on_every_page_and_only_the_demo(client, settings):
    settings.DEMO_MARKET = True
    html = client.get("/accounts/login/").content.decode()
    assert "OpenMoji" in html and "creativecommons.org/licenses/by-sa/4.0/" in html
    settings.DEMO_MARKET = False
    assert "OpenMoji" not in client.get("/accounts/login/").content.decode()


def test_a_schedule_left_behind_starts_nothing_once_the_demo_is_off(settings):
    from market.tasks import keep_demo_auctions

    seed_market(sections=1, stalls=2)
    Auction.objects.update(status="unsold")
    settings.DEMO_MARKET = False
    assert keep_demo_auctions.delay().get() == 0
    assert demo_auctions_running() == []
