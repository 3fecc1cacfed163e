from django.apps import AppConfig


class WatchlistConfig(AppConfig):
    name = "watchlist"

    def ready(self):
        from bazaar.cache import VIEWER, register_family_scope, register_page_reads
        from stalls import signals
        from stalls.cards import ITEM_PAGE, STALL_PAGE

        from . import triggers
        from .selectors import (
            follows_scope,
            item_page_count_keys,
            stall_follow_count_keys,
            viewer_own_keys,
        )

        # A stall page kept for guests shows the Follow count ({% kept %}).
        register_family_scope("stall", follows_scope)
        # The Follow and Save counts, read ahead with the pages' other kept values.
        register_page_reads(STALL_PAGE, stall_follow_count_keys)
        register_page_reads(ITEM_PAGE, item_page_count_keys)
        register_page_reads(VIEWER, viewer_own_keys)

        # stalls sits below the watchlist: it says what happened, the watchlist listens.
        signals.seller_went_live.connect(triggers.seller_went_live, dispatch_uid="watchlist.live")
        signals.item_listed.connect(triggers.item_listed, dispatch_uid="watchlist.listed")
        signals.item_price_changing.connect(
            triggers.item_price_changing, dispatch_uid="watchlist.price"
        )
