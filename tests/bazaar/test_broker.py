"""Celery's messages (bazaar.broker, bazaar.celery): one Redis client per channel, and a
job's arguments shown by their repr."""

import redis
from celery import Task as CeleryTask
from django.conf import settings
from kombu import Connection

from bazaar import broker
from bazaar.celery import SHOWN_ARGUMENTS_MAX
from bazaar.jobs import task_named


def test_a_redis_broker_gets_the_client_keeping_transport_and_others_their_own():
    assert broker.transport_for("redis://127.0.0.1:6379/3") == "bazaar.broker:RedisTransport"
    assert broker.transport_for("rediss://cache.example:6380/0") == "bazaar.broker:RedisTransport"
    assert broker.transport_for("memory://") is None
    assert broker.transport_for("sentinel://127.0.0.1:26379") is None


def test_messages_sent_on_one_channel_share_one_client_and_arrive(require_redis, monkeypatch):
    """kombu made a `redis.Redis` (and its table of reply callbacks) for every message."""
    made = []
    original = redis.Redis.__init__

    def counted(self, *args, **kwargs):
        made.append(self)
        original(self, *args, **kwargs)

    queue = "bazaar-test-broker"
    with Connection(settings.REDIS_URL, transport=broker.transport_for(settings.REDIS_URL)) as conn:
        channel = conn.default_channel
        channel.client.delete(queue)
        monkeypatch.setattr(redis.Redis, "__init__", counted)
        for number in range(3):
            channel._put(queue, {"body": f"job {number}"})
        assert len(made) == 1
        assert channel.client.llen(queue) == 3
        channel._disconnect_pools()  # as after a fork: the pool is new, so is the client
        channel._put(queue, {"body": "job 3"})
        assert len(made) == 2
        assert made[-1].connection_pool is channel.pool
        assert channel._size(queue) == 4
        channel.client.delete(queue)


def test_a_job_s_arguments_are_shown_by_repr_within_celery_s_bound(monkeypatch, settings):
    settings.JOBS_BACKEND = "celery"
    sent = {}

    def recorded(self, args=None, kwargs=None, **options):
        sent.update(options)

    monkeypatch.setattr(CeleryTask, "apply_async", recorded)
    task = task_named("bazaar.tasks.broadcast_relay")
    task.apply_async(kwargs={"group": "room", "event": {"text": "x" * 2000}})
    assert sent["argsrepr"] == "()"
    assert sent["kwargsrepr"].startswith("{'group': 'room', 'event': {'text': 'xxx")
    assert len(sent["kwargsrepr"]) == SHOWN_ARGUMENTS_MAX

    sent.clear()
    task.apply_async(kwargs={"group": "room", "event": {}}, kwargsrepr="hidden")
    assert sent["kwargsrepr"] == "hidden"  # a caller's own choice stands
