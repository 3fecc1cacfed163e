"""Prometheus metrics: requests by route, and the market's own.

Every web process counts for itself into files under `PROMETHEUS_MULTIPROC_DIR`
(`bazaar.serve` sets a fresh one for its workers; prometheus_client's multiprocess
mode), and whichever process answers `/metrics` adds them all up.

- `bazaar_request_seconds`: a histogram of every HTTP request by route (the URL
  pattern's name), method and status class (`RequestMetricsMiddleware`);

- `bazaar_open_sockets`: WebSockets open now, summed over the live processes (the
  ASGI app counts each socket's lifetime: `counting_sockets`);
- `bazaar_bids_total`, `bazaar_offer_actions_total`: bids and offer actions committed
  (rate() gives them per second);
- `bazaar_fanout_delay_seconds`: from a group message reaching a process to the last
  of its sockets having been handed the frame;
- `bazaar_jobs_queued`: background jobs waiting, read at scrape time from the broker's
  queue in Redis (or the embedded runner's table);
- `bazaar_refusals_total`: requests refused to protect the market, by kind (a rate
  limit's kind, `chat`, `two_step` while wrong codes cool, `locked_out` for log-ins
  django-axes refuses): what `deploy/prometheus/alerts.yml` watches for automated
  attacks.

`/metrics` answers a request bearing `METRICS_TOKEN` (Authorization: Bearer), or,
with no token set, a request from the machine itself; anyone else gets a 404.
"""

import hmac
import os
import time
from pathlib import Path

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
LOOPBACK = {"127.0.0.1", "::1"}

open_sockets = Gauge("bazaar_open_sockets", "WebSockets open now.", multiprocess_mode="livesum")
bids = Counter("bazaar_bids", "Bids decided (accepted or refused), by outcome.", ["outcome"])
offer_actions = Counter(
    "bazaar_offer_actions", "People's offer actions committed, by the status they led to.", ["to"]
)
refusals = Counter(
    "bazaar_refusals",
    "Requests refused to protect the market (limits, lockouts), by kind.",
    ["kind"],
)
SECONDS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
request_seconds = Histogram(
    "bazaar_request_seconds",
    "HTTP requests by route name, method and status class, with their duration.",
    ["route", "method", "status"],
    buckets=SECONDS_BUCKETS,
)
fanout_delay = Histogram(
    "bazaar_fanout_delay_seconds",
    "From a group message reaching a process to its last socket handed the frame.",
    buckets=SECONDS_BUCKETS,
)


class RequestMetricsMiddleware:
    """Times each request into `request_seconds`. Sync and async alike, and inline in
    both: django-prometheus's middleware (MiddlewareMixin, with a process_view hook)
    would hop to the one sync thread twice per request on the async path, queueing
    async views (bids) behind every sync one."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest):
        if iscoroutinefunction(self):
            return self._timed_async(request)
        started = time.perf_counter()
        response = self.get_response(request)
        _observe(request, response, started)
        return response

    async def _timed_async(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = await self.get_response(request)
        _observe(request, response, started)
        return response


def _observe(request: HttpRequest, response: HttpResponse, started: float) -> None:
    match = request.resolver_match
    route = (match.view_name or "unnamed") if match else "unmatched"
    status = f"{response.status_code // 100}xx"
    request_seconds.labels(route, request.method, status).observe(time.perf_counter() - started)


class JobsQueued:
    """Read at scrape time, so any process answers with the same figure."""

    def collect(self):
        gauge = GaugeMetricFamily("bazaar_jobs_queued", "Background jobs waiting to run.")
        gauge.add_metric([], jobs_queued())
        yield gauge


def jobs_queued() -> int:
    from bazaar import jobs

    if jobs.embedded():
        from bazaar.models import Job

        return Job.objects.filter(status=Job.Status.QUEUED).count()
    from bazaar.celery import app

    with app.connection_for_read() as connection:
        # kombu's own count: on Redis, the queue's lists of every priority step.
        return connection.default_channel._size(app.conf.task_default_queue)


def counted_on_commit(counter: Counter, amount: int, **labels: str) -> None:
    """Add to `counter` once the current transaction commits: what rolled back was
    never done."""
    if amount:
        transaction.on_commit(lambda: counter.labels(**labels).inc(amount))


def counting_sockets(app):
    """Wrap an ASGI app so that each WebSocket counts in `open_sockets` while open."""

    async def counted(scope, receive, send):
        if scope["type"] != "websocket":
            return await app(scope, receive, send)
        open_sockets.inc()
        try:
            return await app(scope, receive, send)
        finally:
            open_sockets.dec()

    return counted


def prepare_multiprocess_dir(var_dir: Path, environ: dict[str, str]) -> str:
    """A fresh folder for this service's worker processes to count into (kept when
    the operator named one), so a restart never adds up the previous run's files."""
    if environ.get(MULTIPROC_ENV):
        return environ[MULTIPROC_ENV]
    folder = var_dir / f"prometheus-{os.getpid()}"
    folder.mkdir(parents=True, exist_ok=True)
    for leftover in folder.glob("*.db"):
        leftover.unlink()
    environ[MULTIPROC_ENV] = str(folder)
    return str(folder)


def process_gone(pid: int) -> None:
    """A worker process exited: its live gauges (open sockets) stop counting."""
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(pid)


def _registry() -> CollectorRegistry:
    if not os.environ.get(MULTIPROC_ENV):
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry


# What is read when scraped, not counted by the processes.
_scrape_time = CollectorRegistry(auto_describe=False)
_scrape_time.register(JobsQueued())


def _allowed(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ")
        return hmac.compare_digest(given.encode(), token.encode())
    return request.META.get("REMOTE_ADDR") in LOOPBACK


def metrics_view(request: HttpRequest) -> HttpResponse:
    if not _allowed(request):
        raise Http404("Not here.")
    page = generate_latest(_registry()) + generate_latest(_scrape_time)
    return HttpResponse(page, content_type=CONTENT_TYPE_LATEST)
