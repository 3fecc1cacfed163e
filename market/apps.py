from django.apps import AppConfig


class MarketConfig(AppConfig):
    name = "market"

    def ready(self) -> None:
        from auctions.selectors import section_page_badge_keys
        from bazaar.cache import register_page_reads
        from stalls.room.presence import section_page_presence_keys

        from .selectors import SECTION_PAGE

        # The section's live dots and auction badges, read ahead with the page's others.
        register_page_reads(SECTION_PAGE, section_page_presence_keys)
        register_page_reads(SECTION_PAGE, section_page_badge_keys)
