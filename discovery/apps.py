from django.apps import AppConfig


class DiscoveryConfig(AppConfig):
    """The shopper's ways in: the front page, search, categories, item pages and the
    auction list. Read-only pages over the other apps' selectors; no models."""

    name = "discovery"
