from django.apps import AppConfig


class GiveawaysConfig(AppConfig):
    name = "giveaways"

    def ready(self) -> None:
        from bazaar.cache import register_page_reads
        from stalls.cards import STALL_PAGE

        from .selectors import giveaway_overlay_keys

        # The stall page's stage shows the giveaway: read with the page's other reads.
        register_page_reads(STALL_PAGE, giveaway_overlay_keys)
