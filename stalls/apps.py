from django.apps import AppConfig


class StallsConfig(AppConfig):
    name = "stalls"

    def ready(self) -> None:
        from bazaar.cache import register_family_scope, register_page_reads

        from .cards import (
            ITEM_PAGE,
            STALL_PAGE,
            cards_scope,
            item_page_cards_keys,
            item_page_family_keys,
            stall_page_cards_keys,
            stall_page_family_keys,
        )
        from .room.presence import item_page_presence_keys

        # A fragment kept for a stall's page goes stale with this ({% kept %}).
        register_family_scope("stall", cards_scope)
        # What the stall and item pages read from the cache, read ahead at once.
        register_page_reads(STALL_PAGE, stall_page_cards_keys)
        register_page_reads(ITEM_PAGE, item_page_cards_keys)
        register_page_reads(ITEM_PAGE, item_page_presence_keys)
        # Every app's scope of the stall: the pages' kept markup is then held in memory.
        register_page_reads(STALL_PAGE, stall_page_family_keys)
        register_page_reads(ITEM_PAGE, item_page_family_keys)
