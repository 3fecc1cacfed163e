from django.apps import AppConfig


class BazaarConfig(AppConfig):
    name = "bazaar"

    def ready(self):
        from . import checks  # noqa: F401 - registers the deploy checks
