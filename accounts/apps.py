from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self):
        from . import (
            checks,  # noqa: F401 - registers the password pepper's deploy check
            signals,  # noqa: F401 - keeps the sessions list (accounts.signals)
        )
