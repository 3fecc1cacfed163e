from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "reviews"

    def ready(self) -> None:
        from bazaar.cache import register_family_scope, register_page_reads
        from stalls.cards import STALL_PAGE

        from .selectors import rating_scope, stall_rating_keys

        # A fragment kept for a stall's page goes stale with this ({% kept %}).
        register_family_scope("stall", rating_scope)
        register_page_reads(STALL_PAGE, stall_rating_keys)
