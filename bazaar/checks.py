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


@register(Tags.security, deploy=True)
def photos_from_their_own_origin(app_configs, **kwargs) -> list[Error]:
    """Photos are what strangers upload: from our own origin a crafted file would run
    with the market's cookies and pages in reach. Without a bucket they would also live
    on one web process's disk, where the second process and the next deploy cannot see
    them."""
    bucket = settings.AWS_STORAGE_BUCKET_NAME
    domain = settings.AWS_S3_CUSTOM_DOMAIN
    if not bucket:
        problem = "photos would be kept on this server's disk and served from the site's origin"
    elif domain and domain.split(":")[0] in settings.ALLOWED_HOSTS:
        problem = f"AWS_S3_CUSTOM_DOMAIN={domain!r} is one of the site's own hosts"
    else:
        return []
    return [
        Error(
            f"Uploaded photos need an origin of their own: {problem}.",
            hint="Set AWS_STORAGE_BUCKET_NAME (S3 or any S3-compatible store, with its "
            "credentials) and, for a CDN in front, AWS_S3_CUSTOM_DOMAIN on a host the "
            "site does not answer to.",
            id="bazaar.E002",
        )
    ]
