"""Looks at people's data in the admin go on the stewards' record (ASVS V8.3.5): an
order's page (its address), a seller's profile (their legal name), a person's account
(their email), each list of them; never the data itself, nor a search's words."""

import pytest
from django.urls import reverse

from accounts.models import User
from governance.models import Role, StewardAction
from governance.services import role_grant

pytestmark = pytest.mark.django_db


def _looks():
    return list(
        StewardAction.objects.filter(action=StewardAction.Action.DATA_READ)
        .order_by("id")
        .values_list("actor__handle", "target_kind", "target_ref", "target_label")
    )


@pytest.fixture
def ops(client, make_user):
    person = make_user("opal")
    role_grant(user=person, role=Role.OPS, granted_by=None)
    client.force_login(person)
    return person


def test_an_order_s_page_and_the_list_are_recorded_as_looked_at(client, ops, order):
    assert client.get(reverse("admin:orders_order_changelist")).status_code == 200
    page = client.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert page.status_code == 200
    assert _looks() == [
        ("opal", "order", "list", "The list of orders"),
        ("opal", "order", order.public_id, str(order)),
    ]


def test_a_search_is_recorded_without_its_words_and_a_seller_s_profile_by_its_id(
    client, ops, stall
):
    profile = stall.seller
    listed = client.get(reverse("admin:stalls_sellerprofile_changelist"), {"q": "someone@x.test"})
    page = client.get(reverse("admin:stalls_sellerprofile_change", args=[profile.pk]))
    assert listed.status_code == page.status_code == 200
    looks = _looks()
    assert looks[0] == ("opal", "sellerprofile", "list", "The list of seller profiles, searched")
    assert looks[1][1:3] == ("sellerprofile", str(getattr(profile, "public_id", profile.pk)))
    assert not any("someone@x.test" in str(look) for look in looks)


def test_an_account_s_page_is_recorded_by_its_public_id(client, make_user):
    marta = make_user("marta")
    root = make_user("root")
    User.objects.filter(pk=root.pk).update(is_staff=True, is_superuser=True)
    root.refresh_from_db()
    client.force_login(root)
    page = client.get(reverse("admin:accounts_user_change", args=[marta.pk]))
    assert page.status_code == 200 and marta.email.encode() in page.content
    assert _looks() == [("root", "user", marta.public_id, str(marta))]


def test_nothing_is_recorded_for_a_page_refused(client, make_user, order):
    client.force_login(make_user("nosy"))
    page = client.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert page.status_code == 302  # to the admin's log-in
    assert _looks() == []
