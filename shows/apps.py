from django.apps import AppConfig


class ShowsConfig(AppConfig):
    name = "shows"

    def ready(self) -> None:
        from bazaar.cache import register_page_reads
        from market.selectors import SECTION_PAGE
        from stalls.cards import STALL_PAGE

        from .on_air import on_air_keys, section_on_air_keys

        # The stall page's head and stage and the grid's cards show the show: read with
        # the pages' other reads.
        register_page_reads(STALL_PAGE, on_air_keys)
        register_page_reads(SECTION_PAGE, section_on_air_keys)
