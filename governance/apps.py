from django.apps import AppConfig
from django.db.models.signals import post_migrate


class GovernanceConfig(AppConfig):
    name = "governance"

    def ready(self):
        from .services import steward_group_sync

        # After every app's migrate (its permissions exist by then): the Stewards
        # group holds exactly the steward permissions.
        post_migrate.connect(steward_group_sync, dispatch_uid="steward_group_sync")
