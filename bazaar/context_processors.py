"""Template context every page needs: the market currency and the site's flags (the
viewer's top bar: discovery.context_processors)."""

from django.conf import settings


def market(request):
    return {
        "market_currency": settings.MARKET_CURRENCY,
        "demo_market": settings.DEMO_MARKET,
        "staging_site": settings.BAZAAR_STAGING,
    }
