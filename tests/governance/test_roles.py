import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from governance.models import Role
from governance.selectors import user_is_ops, user_is_steward, user_roles
from governance.services import role_grant, role_revoke
from stalls.services import seller_register


@pytest.mark.django_db
def test_every_user_is_a_buyer_and_earns_other_roles(make_user, django_capture_on_commit_callbacks):
    user = make_user("climber")
    assert user_roles(user=user) == {"buyer"}
    with django_capture_on_commit_callbacks(execute=True):
        seller_register(user=user, legal_name="Climber", country="US")
    assert user_roles(user=user) == {"buyer", "seller"}
    with django_capture_on_commit_callbacks(execute=True):
        role_grant(user=user, role=Role.STEWARD)
    assert user_is_steward(user=user) and not user_is_ops(user=user)
    user.refresh_from_db()
    assert user.is_staff


@pytest.mark.django_db
def test_revoking_the_last_role_closes_the_admin(make_user, django_capture_on_commit_callbacks):
    user = make_user("former")
    with django_capture_on_commit_callbacks(execute=True):
        role_grant(user=user, role=Role.OPS)
        role_revoke(user=user, role=Role.OPS)
    user.refresh_from_db()
    assert not user.is_staff
    assert user_roles(user=user) == {"buyer"}


@pytest.mark.django_db
def test_grant_role_command(make_user):
    make_user("promoted")
    call_command("grant_role", "PROMOTED", "steward")
    from accounts.models import User

    assert user_is_steward(user=User.objects.get(handle="promoted"))
    with pytest.raises(CommandError, match="No user"):
        call_command("grant_role", "nobody", "ops")


@pytest.mark.django_db
def test_admin_is_open_to_stewards_and_closed_to_buyers(client, make_user, stall):
    buyer = make_user("justbuying")
    client.force_login(buyer)
    assert client.get(reverse("admin:index")).status_code == 302

    steward = make_user("keeper")
    role_grant(user=steward, role=Role.STEWARD)
    client.force_login(steward)
    assert client.get(reverse("admin:stalls_stall_changelist")).status_code == 200
    # Stewards look in the admin; they change things through actions that call services.
    response = client.get(reverse("admin:stalls_stall_change", args=[stall.pk]))
    assert response.status_code == 200
    assert b'name="name"' not in response.content


@pytest.mark.django_db
def test_kyc_is_approved_from_the_admin_through_the_service(client, make_user, stall):
    ops = make_user("opsperson")
    role_grant(user=ops, role=Role.OPS)
    client.force_login(ops)
    response = client.post(
        reverse("admin:stalls_sellerprofile_changelist"),
        {"action": "approve_kyc", "_selected_action": [stall.seller.pk]},
    )
    assert response.status_code == 302
    stall.seller.refresh_from_db()
    assert stall.seller.kyc_status == "approved"
    assert stall.seller.kyc_decided_at is not None
