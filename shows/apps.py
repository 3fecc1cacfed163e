from django.apps import AppConfig


class ShowsConfig(AppConfig):
    name = "shows"

    def ready(self) -> None:
        from bazaar.cache import register_page_reads
        from stalls.cards import STALL_PAGE

        from .on_air import on_air_keys

        # The stall page's head and stage show the show: read with the page's other reads.
        register_page_reads(STALL_PAGE, on_air_keys)
