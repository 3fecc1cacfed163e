from django.apps import AppConfig


class StallsConfig(AppConfig):
    name = "stalls"

    def ready(self) -> None:
        from bazaar.cache import register_family_scope, register_page_reads

        from .cards import STALL_PAGE, cards_scope, stall_page_cards_keys

        # A fragment kept for a stall's page goes stale with this ({% kept %}).
        register_family_scope("stall", cards_scope)
        register_page_reads(STALL_PAGE, stall_page_cards_keys)
