from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from accounts.models import User
from governance.selectors import user_is_ops, user_is_steward
from market.models import Section
from stalls.models import Item, Photo, Stall


@pytest.mark.django_db
def test_seed_market_lays_out_an_n_by_n_block_and_is_idempotent(capsys):
    call_command("seed_market", "--sections", "3", "--stalls", "4")
    assert set(Section.objects.values_list("x", "y")) == {
        (x, y) for x in range(3) for y in range(3)
    }
    # Four stalls per section, plus the demo seller's stall in the centre of 0/0.
    assert Stall.objects.count() == 9 * 4 + 1
    # Three items a stall; the demo seller's, where newcomers start, shows eight.
    assert Item.objects.count() == 3 * (Stall.objects.count() - 1) + 8
    assert not Item.objects.filter(photos__isnull=True).exists()
    photo = Photo.objects.first()
    assert photo.image.storage.exists(photo.image.name)
    assert photo.thumbnail.storage.exists(photo.thumbnail.name)
    output = capsys.readouterr().out
    assert "demo_buyer" in output and "bazaar-demo" in output

    call_command("seed_market", "--sections", "3", "--stalls", "4")
    assert Stall.objects.count() == 37
    assert Section.objects.count() == 9

    call_command("seed_market", "--sections", "4", "--stalls", "4")
    assert Section.objects.count() == 16
    assert Stall.objects.count() == 16 * 4 + 1


@pytest.mark.django_db
def test_seeded_demo_logins_work_with_their_roles(client):
    call_command("seed_market", "--sections", "1", "--stalls", "1")
    logged_in = client.post(
        reverse("accounts:login"), {"username": "demo_seller", "password": "bazaar-demo"}
    )
    assert logged_in.status_code == 302
    assert Stall.objects.filter(seller__user__handle="demo_seller", slot=4).exists()
    assert user_is_steward(user=User.objects.get(handle="demo_steward"))
    assert user_is_ops(user=User.objects.get(handle="demo_ops"))


@pytest.mark.django_db
def test_seed_market_if_empty_leaves_an_existing_market_alone():
    call_command("seed_market", "--sections", "1", "--stalls", "0")
    call_command("seed_market", "--sections", "2", "--if-empty")
    assert Section.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("arguments", [["--sections", "0"], ["--stalls", "10"]])
def test_seed_market_refuses_impossible_sizes(arguments):
    with pytest.raises(CommandError):
        call_command("seed_market", *arguments)


@pytest.mark.django_db
def test_kyc_approve_command(stall):
    call_command("kyc_approve", stall.seller.user.handle.upper())
    stall.seller.refresh_from_db()
    assert stall.seller.kyc_status == "approved"
    call_command("kyc_approve", stall.seller.user.handle, "--reject")
    stall.seller.refresh_from_db()
    assert stall.seller.kyc_status == "rejected"
    with pytest.raises(CommandError, match="No seller"):
        call_command("kyc_approve", "ghost")


@pytest.mark.django_db
def test_the_demo_market_is_ready_to_trade_and_seeding_again_adds_nothing():
    from auctions.models import Auction
    from orders.models import ShippingAddress

    call_command("seed_market", "--sections", "1", "--stalls", "1")
    call_command("seed_market", "--sections", "1", "--stalls", "1")
    auction = Auction.objects.get(seller__handle="demo_seller")
    assert auction.status == "live" and auction.reservation.released_at is None
    assert auction.ends_at - auction.starts_at < timedelta(minutes=20)
    assert ShippingAddress.objects.get().buyer.handle == "demo_buyer"
