from django.apps import AppConfig


class AuctionsConfig(AppConfig):
    name = "auctions"

    def ready(self) -> None:
        from bazaar.cache import register_family_scope

        from .selectors import running_scope

        # A fragment kept for a stall's page goes stale with this ({% kept %}).
        register_family_scope("stall", running_scope)
