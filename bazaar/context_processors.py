"""Template context every page needs: the market currency and the user's roles."""

from django.conf import settings

from governance.selectors import user_roles


def market(request):
    roles = user_roles(user=request.user) if request.user.is_authenticated else frozenset()
    return {
        "market_currency": settings.MARKET_CURRENCY,
        "user_roles": roles,
        "user_is_seller": "seller" in roles,
        "demo_market": settings.DEMO_MARKET,
        "staging_site": settings.BAZAAR_STAGING,
    }
