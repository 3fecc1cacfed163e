from django.apps import AppConfig


class WatchlistConfig(AppConfig):
    name = "watchlist"

    def ready(self):
        from stalls import signals

        from . import triggers

        # stalls sits below the watchlist: it says what happened, the watchlist listens.
        signals.seller_went_live.connect(triggers.seller_went_live, dispatch_uid="watchlist.live")
        signals.item_listed.connect(triggers.item_listed, dispatch_uid="watchlist.listed")
        signals.item_price_changing.connect(
            triggers.item_price_changing, dispatch_uid="watchlist.price"
        )
