from django.apps import AppConfig


class DiscoveryConfig(AppConfig):
    """The shopper's ways in: the front page, search, categories, item pages and the
    auction list. Read-only pages over the other apps' selectors; no models."""

    name = "discovery"

    def ready(self) -> None:
        from bazaar.cache import VIEWER, register_page_reads

        from .context_processors import top_bar_keys

        # The top bar's kept values, read ahead with the page's own.
        register_page_reads(VIEWER, top_bar_keys)
