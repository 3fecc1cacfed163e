"""Readiness: may a load balancer send this process traffic?

`/readyz/` asks what a request needs besides the process itself: the database, the
cache (Redis in production, holding sessions), the channel layer's Redis, and
whoever runs the background jobs (a Celery worker answering a ping through the
broker, or the embedded runner's threads in this process). `/healthz/` stays the
liveness probe: it asks nothing, so a slow database never gets a healthy process
restarted. Checks come from django-health-check; a failing one answers 503 with
Retry-After (the status load balancers and Kubernetes take as "not now"), naming
the check but never the error's details.
"""

import dataclasses
import datetime

import celery
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from health_check.base import HealthCheck
from health_check.checks import Cache, Database
from health_check.contrib.celery import Ping
from health_check.contrib.redis import Redis
from health_check.exceptions import ServiceUnavailable
from health_check.views import HealthCheckView
from redis.asyncio import Redis as AsyncRedis

from bazaar import runner
from bazaar.celery import app as celery_app

RETRY_AFTER_SECONDS = 5


@dataclasses.dataclass
class CeleryWorkers(Ping):
    """A worker answers a ping through the broker and consumes the default queue
    (django-health-check's Ping, named for the report without the app's repr)."""

    app: celery.Celery = dataclasses.field(default_factory=lambda: celery_app, repr=False)


@dataclasses.dataclass
class EmbeddedRunner(HealthCheck):
    """Without a broker the web process runs the jobs itself (`bazaar.runner`):
    ready only while both of its threads are alive in this process."""

    def run(self) -> None:
        if not runner.threads_alive():
            raise ServiceUnavailable("The embedded job runner is not running in this process.")


def readiness_checks() -> list[HealthCheck]:
    checks: list[HealthCheck] = [
        Database(),
        Cache(),
    ]
    if settings.REDIS_URL:
        checks.append(Redis(client_factory=lambda: AsyncRedis.from_url(settings.REDIS_URL)))
    if settings.JOBS_BACKEND == "celery":
        checks.append(CeleryWorkers(timeout=datetime.timedelta(seconds=1), limit=1))
    else:
        checks.append(EmbeddedRunner())
    return checks


class ReadinessView(HealthCheckView):
    def get_checks(self):
        yield from readiness_checks()

    async def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = await super().dispatch(request, *args, **kwargs)
        if response.status_code == 500:
            response.status_code = 503
            response.reason_phrase = "Service Unavailable"
            response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
