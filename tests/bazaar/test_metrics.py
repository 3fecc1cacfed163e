"""/metrics: Django's request metrics and the market's own, added up over the web
processes, shown only to the machine itself or a bearer of METRICS_TOKEN."""

import asyncio
import os
import subprocess
import sys

import pytest
from celery import Celery
from channels.layers import InMemoryChannelLayer
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.http import HttpResponse
from django.test import RequestFactory, override_settings
from django.urls import ResolverMatch
from prometheus_client import REGISTRY

from bazaar import metrics
from bazaar.fanout import GroupFanout
from bazaar.models import Job

pytestmark = pytest.mark.django_db


def sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_the_machine_itself_reads_the_metrics(client):
    client.get("/healthz/")

    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    page = response.content.decode()
    for name in (
        "bazaar_open_sockets",
        "bazaar_jobs_queued",
        "bazaar_fanout_delay_seconds_bucket",
        'bazaar_request_seconds_count{method="GET",route="healthz",status="2xx"}',
    ):
        assert name in page, name


@pytest.mark.asyncio
async def test_an_async_view_is_timed_without_leaving_the_event_loop():
    from bazaar.metrics import RequestMetricsMiddleware

    async def view(request):
        return HttpResponse(status=409)

    request = RequestFactory().post("/bid/")
    request.resolver_match = ResolverMatch(view, (), {}, url_name="bid", namespaces=["auctions"])
    before = sample(
        "bazaar_request_seconds_count", route="auctions:bid", method="POST", status="4xx"
    )

    response = await RequestMetricsMiddleware(view)(request)

    assert response.status_code == 409
    after = sample(
        "bazaar_request_seconds_count", route="auctions:bid", method="POST", status="4xx"
    )
    assert after == before + 1


def test_anyone_else_is_told_nothing_is_here(client):
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 404


@override_settings(METRICS_TOKEN="a-long-metrics-token")
def test_with_a_token_only_its_bearer_reads_them_wherever_they_are(client):
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 404
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer another-token")
    assert wrong.status_code == 404
    right = client.get(
        "/metrics", REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer a-long-metrics-token"
    )
    assert right.status_code == 200


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_an_open_socket_counts_while_it_is_open():
    from bazaar.asgi import application

    before = sample("bazaar_open_sockets")
    socket = WebsocketCommunicator(
        application,
        "/ws/market/",
        headers=[(b"origin", b"http://testserver"), (b"host", b"testserver")],
    )
    await socket.connect()
    assert sample("bazaar_open_sockets") == before + 1

    await socket.disconnect()
    assert sample("bazaar_open_sockets") == before


@pytest.mark.asyncio
async def test_a_delivery_is_timed_from_the_message_s_arrival_to_its_last_socket():
    class Member:
        async def doc_update(self, message):
            await asyncio.sleep(0.05)

    layer = InMemoryChannelLayer()
    fanout = GroupFanout(layer, "timed")
    await fanout.join(Member())
    before_count = sample("bazaar_fanout_delay_seconds_count")
    before_sum = sample("bazaar_fanout_delay_seconds_sum")

    await layer.group_send("timed", {"type": "doc.update"})
    for _ in range(200):
        if sample("bazaar_fanout_delay_seconds_count") > before_count:
            break
        await asyncio.sleep(0.01)

    assert sample("bazaar_fanout_delay_seconds_count") == before_count + 1
    assert sample("bazaar_fanout_delay_seconds_sum") - before_sum >= 0.05


@override_settings(JOBS_BACKEND="embedded")
def test_jobs_waiting_in_the_embedded_runner_are_counted():
    Job.objects.create(task="bazaar.tasks.anything", kwargs={})
    Job.objects.create(task="bazaar.tasks.anything", kwargs={}, status=Job.Status.RUNNING)

    assert metrics.jobs_queued() == 1


@override_settings(JOBS_BACKEND="celery")
def test_jobs_waiting_in_the_broker_are_counted(require_redis, monkeypatch):
    import bazaar.celery

    broker = Celery("bazaar", broker=settings.REDIS_URL, set_as_current=False)
    monkeypatch.setattr(bazaar.celery, "app", broker)
    with broker.connection_for_write() as connection:
        connection.default_channel.client.delete("celery")
        broker.send_task("bazaar.tasks.anything", connection=connection)
        broker.send_task("bazaar.tasks.anything", connection=connection, priority=6)

    try:
        assert metrics.jobs_queued() == 2
    finally:
        with broker.connection_for_write() as connection:
            channel = connection.default_channel
            channel.client.delete(
                *(channel._q_for_pri("celery", p) for p in channel.priority_steps)
            )


def test_the_web_processes_counts_add_up_and_a_dead_one_s_sockets_stop_counting(
    tmp_path, monkeypatch
):
    """Two worker processes count into the service's folder; /metrics adds them up."""
    environ: dict[str, str] = {}
    folder = metrics.prepare_multiprocess_dir(tmp_path, environ)
    env = {**os.environ, **environ}
    worker = (
        "from bazaar import metrics;"
        "metrics.bids.labels(outcome='accepted').inc(3);"
        "metrics.open_sockets.inc(5)"
    )
    workers = [subprocess.run([sys.executable, "-c", worker], env=env, check=True) for _ in "ab"]
    del workers
    files = sorted(path.name for path in (tmp_path / folder.rsplit("/", 1)[-1]).glob("*.db"))
    pids = sorted({int(name.rsplit("_", 1)[-1].removesuffix(".db")) for name in files})
    read = (
        "from prometheus_client import CollectorRegistry, multiprocess;"
        "registry = CollectorRegistry(); multiprocess.MultiProcessCollector(registry);"
        "print(registry.get_sample_value('bazaar_bids_total', {'outcome': 'accepted'}),"
        " registry.get_sample_value('bazaar_open_sockets'))"
    )

    def totals() -> list[str]:
        result = subprocess.run(
            [sys.executable, "-c", read], env=env, check=True, capture_output=True, text=True
        )
        return result.stdout.split()

    assert len(pids) == 2
    assert totals() == ["6.0", "10.0"]

    monkeypatch.setenv(metrics.MULTIPROC_ENV, folder)
    metrics.process_gone(pids[0])

    assert totals() == ["6.0", "5.0"]


@pytest.mark.django_db(transaction=True)
def test_offer_actions_count_once_committed_and_a_retry_not_again(stall, make_user):
    from offers.services import offer_decline, offer_make
    from tests.conftest import new_item

    item = new_item(stall)
    buyer = make_user("haggler")
    before_made = sample("bazaar_offer_actions_total", to="pending")
    before_declined = sample("bazaar_offer_actions_total", to="declined")

    offer = offer_make(
        buyer=buyer, item=item, amount_cents=2000, message="", idempotency_key="k" * 20
    )
    offer_decline(actor=stall.seller.user, offer=offer, idempotency_key="d" * 20)
    offer_decline(actor=stall.seller.user, offer=offer, idempotency_key="d" * 20)

    assert sample("bazaar_offer_actions_total", to="pending") == before_made + 1
    assert sample("bazaar_offer_actions_total", to="declined") == before_declined + 1
