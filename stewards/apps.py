from django.apps import AppConfig


class StewardsConfig(AppConfig):
    """The stewards' console beyond Django's model pages: the sections map, the one
    queue, reports and elections. A top-level app: it reads every other app."""

    name = "stewards"

    def ready(self):
        from django.contrib import admin

        # The admin's index opens with the queue's counts and the console's pages.
        admin.site.index_template = "stewards/admin_index.html"
