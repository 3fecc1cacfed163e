from django.apps import AppConfig


class AuctionsConfig(AppConfig):
    name = "auctions"

    def ready(self) -> None:
        from bazaar.cache import register_family_scope, register_page_reads
        from stalls.cards import ITEM_PAGE, STALL_PAGE

        from .flash import flash_overlay_keys
        from .selectors import item_page_running_keys, running_scope

        # A fragment kept for a stall's page goes stale with this ({% kept %}).
        register_family_scope("stall", running_scope)
        # The stall page's stage shows the flash auction: read with the page's other reads.
        register_page_reads(STALL_PAGE, flash_overlay_keys)
        register_page_reads(ITEM_PAGE, item_page_running_keys)
