from django.apps import AppConfig


class GiveawaysConfig(AppConfig):
    name = "giveaways"
