from django.apps import AppConfig


class StallsConfig(AppConfig):
    name = "stalls"

    def ready(self) -> None:
        from bazaar.cache import register_family_scope

        from .cards import cards_scope

        # A fragment kept for a stall's page goes stale with this ({% kept %}).
        register_family_scope("stall", cards_scope)
