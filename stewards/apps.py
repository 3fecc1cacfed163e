from django.apps import AppConfig


class StewardsConfig(AppConfig):
    """The stewards' console beyond Django's model pages: the sections map, the one
    queue, reports and elections. A top-level app: it reads every other app."""

    name = "stewards"
