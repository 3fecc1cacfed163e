"""Who may do what. Roles are checked on the server, from here."""

from django.core.cache import cache

from stalls.selectors import seller_profile_for_user

from .models import Role, RoleGrant

BUYER = "buyer"
SELLER = "seller"
ROLE_CACHE_SECONDS = 300


def role_cache_key(user_id: int) -> str:
    return f"roles:user:{user_id}"


def user_roles(*, user) -> frozenset[str]:
    """Every signed-in user is a buyer; seller, steward and ops are earned.

    Cached because every page's header asks; services that change roles clear it.
    """
    if not user.is_authenticated:
        return frozenset()
    key = role_cache_key(user.pk)
    roles = cache.get(key)
    if roles is None:
        roles = {BUYER, *RoleGrant.objects.filter(user=user).values_list("role", flat=True)}
        if seller_profile_for_user(user=user) is not None:
            roles.add(SELLER)
        roles = frozenset(roles)
        cache.set(key, roles, ROLE_CACHE_SECONDS)
    return roles


def user_is_steward(*, user) -> bool:
    return bool({Role.STEWARD, Role.OPS} & user_roles(user=user))


def user_is_ops(*, user) -> bool:
    return Role.OPS in user_roles(user=user)
