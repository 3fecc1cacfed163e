from django.conf import settings
from django.contrib import admin
from django.urls import include, path

import bazaar.ids  # noqa: F401  registers the <ulid:…> path converter
from bazaar.metrics import metrics_view
from bazaar.readiness import ReadinessView
from bazaar.views import favicon, healthz, media

urlpatterns = [
    path("", include("discovery.urls")),
    path("healthz/", healthz, name="healthz"),
    path("readyz/", ReadinessView.as_view(), name="readyz"),
    path("metrics", metrics_view, name="metrics"),
    path("favicon.ico", favicon, name="favicon"),
    path("", include("stewards.urls")),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("market/", include("market.urls")),
    path("", include("stalls.urls")),
    path("", include("offers.urls")),
    path("", include("orders.urls")),
    path("", include("auctions.urls")),
    path("", include("watchlist.urls")),
    path("", include("reviews.urls")),
    path("account/", include("accounts.settings_urls")),
    path("", include("privacy.urls")),
    path("", include("notifications.urls")),
    path("", include("insights.urls")),
    path("", include("giveaways.urls")),
    path("", include("shows.urls")),
]

if settings.DEBUG or not settings.AWS_STORAGE_BUCKET_NAME:
    urlpatterns += [path(f"{settings.MEDIA_URL.strip('/')}/<path:path>", media)]
