from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class StewardsConfig(AppConfig):
    """The stewards' console beyond Django's model pages: the sections map, the one
    queue, reports and elections. A top-level app: it reads every other app."""

    name = "stewards"
    default = True


class StewardsAdminConfig(admin_apps.AdminConfig):
    """Django's admin, served by the stewards' site (a second step before it); named
    in INSTALLED_APPS in place of django.contrib.admin."""

    default = False
    default_site = "stewards.admin_site.StewardsAdminSite"
