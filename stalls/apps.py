from django.apps import AppConfig


class StallsConfig(AppConfig):
    name = "stalls"
