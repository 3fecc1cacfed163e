from django.urls import reverse

from accounts.models import User
from accounts.services import user_create


def _admin(client, make_user):
    admin = user_create(handle="root", email="root@example.com", password="x-y-z-123456")
    User.objects.filter(pk=admin.pk).update(is_staff=True, is_superuser=True)
    admin.refresh_from_db()
    client.force_login(admin)
    return make_user("Marta_K", email="marta@example.com", verified=False)


def test_user_admin_lists_searches_and_opens_users(client, make_user):
    # given
    marta = _admin(client, make_user)
    # when
    listing = client.get(reverse("admin:accounts_user_changelist"), {"q": "MARTA"})
    change = client.get(reverse("admin:accounts_user_change", args=[marta.pk]))
    # then
    assert listing.status_code == 200
    assert "marta@example.com" in listing.content.decode()
    assert "root@example.com" not in listing.content.decode()
    assert change.status_code == 200
    assert marta.public_id in change.content.decode()


def test_user_admin_add_refuses_a_handle_taken_in_another_case(client, make_user):
    # given
    _admin(client, make_user)
    # when
    response = client.post(
        reverse("admin:accounts_user_add"),
        {
            "handle": "MARTA_K",
            "email": "other@example.com",
            "usable_password": "true",
            "password1": "lantern-velvet-92",
            "password2": "lantern-velvet-92",
        },
    )
    # then
    assert response.status_code == 200
    assert "That handle is taken." in response.content.decode()
    assert not User.objects.filter(email="other@example.com").exists()


def test_user_admin_adds_a_user(client, make_user):
    # given
    _admin(client, make_user)
    # when
    response = client.post(
        reverse("admin:accounts_user_add"),
        {
            "handle": "Olek",
            "email": "olek@example.com",
            "usable_password": "true",
            "password1": "lantern-velvet-92",
            "password2": "lantern-velvet-92",
        },
    )
    # then
    assert response.status_code == 302
    assert User.objects.get(handle="Olek").check_password("lantern-velvet-92")
