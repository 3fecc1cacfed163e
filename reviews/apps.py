from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "reviews"

    def ready(self) -> None:
        from bazaar.cache import register_family_scope

        from .selectors import rating_scope

        # A fragment kept for a stall's page goes stale with this ({% kept %}).
        register_family_scope("stall", rating_scope)
