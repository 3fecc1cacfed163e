"""Granting and revoking steward and ops powers."""

from django.core.cache import cache
from django.db import transaction

from accounts.services import user_set_staff

from .models import Role, RoleGrant
from .selectors import role_cache_key


def roles_changed(*, user_id: int) -> None:
    """Forget a user's cached roles once the change has committed."""
    transaction.on_commit(lambda: cache.delete(role_cache_key(user_id)))


@transaction.atomic
def role_grant(*, user, role: Role, granted_by=None) -> RoleGrant:
    """Stewards and ops work in the admin, so a grant also opens it to them."""
    grant, _ = RoleGrant.objects.get_or_create(
        user=user, role=role, defaults={"granted_by": granted_by}
    )
    user_set_staff(user=user, is_staff=True)
    roles_changed(user_id=user.pk)
    return grant


@transaction.atomic
def role_revoke(*, user, role: Role) -> None:
    RoleGrant.objects.filter(user=user, role=role).delete()
    if not RoleGrant.objects.filter(user=user).exists() and not user.is_superuser:
        user_set_staff(user=user, is_staff=False)
    roles_changed(user_id=user.pk)
