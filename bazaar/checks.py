"""Deploy checks for the parts `bazaar` owns (`manage.py check --deploy`).

The embedded parts are for one laptop: production never falls back to one of them.
`bazaar.deploy` runs these checks when a production server starts and refuses to
serve while any of them fails.
"""

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.compatibility, deploy=True)
def redis_configured(app_configs, **kwargs) -> list[Error]:
    """Without Redis the web process runs the background work itself (the embedded
    runner) and its sockets share an in-memory channel layer: one process, no Celery
    worker, broadcasts that never reach a second server."""
    if settings.REDIS_URL and settings.JOBS_BACKEND != "embedded":
        return []
    return [
        Error(
            "REDIS_URL is not set: the embedded job runner and in-memory channel layer are "
            "for `make run` on one machine, never for production.",
            hint="Set REDIS_URL=redis://host:6379/0 and run Celery workers with beat "
            "(`celery -A bazaar worker --beat`).",
            id="bazaar.E001",
        )
    ]
