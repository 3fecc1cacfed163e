"""/readyz/: ready only when the database, the cache, Redis and the job runner answer;
/healthz/ asks none of them (liveness)."""

import os
import subprocess
import sys
import time

import pytest
from celery import Celery
from django.conf import settings
from django.test import override_settings

from bazaar import readiness

pytestmark = pytest.mark.django_db(transaction=True)

embedded = override_settings(JOBS_BACKEND="embedded", REDIS_URL="")


def ready(client):
    return client.get("/readyz/", HTTP_ACCEPT="application/json")


@embedded
def test_ready_when_the_database_the_cache_and_the_runner_answer(client, running_runner):
    response = ready(client)

    assert response.status_code == 200
    assert set(response.json().values()) == {"OK"}
    assert "no-cache" in response["Cache-Control"]
    assert {"Database(alias='default')", "Cache(alias='default')", "EmbeddedRunner()"} <= set(
        response.json()
    )


@embedded
def test_not_ready_without_the_embedded_runner_and_says_when_to_ask_again(client):
    response = ready(client)

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["EmbeddedRunner()"] == (
        "Unavailable: The embedded job runner is not running in this process."
    )
    assert response.json()["Database(alias='default')"] == "OK"


@override_settings(JOBS_BACKEND="embedded", REDIS_URL="redis://127.0.0.1:1/0")
def test_not_ready_when_redis_does_not_answer(client, running_runner):
    response = ready(client)

    assert response.status_code == 503
    failing = {name: state for name, state in response.json().items() if state != "OK"}
    assert list(failing) == ["Redis(db=0, host='127.0.0.1', port=1)"]
    assert failing["Redis(db=0, host='127.0.0.1', port=1)"].startswith(
        "Unavailable: Unable to connect to Redis"
    )


@embedded
def test_the_page_for_people_names_each_check(client):
    response = client.get("/readyz/", HTTP_ACCEPT="text/html")

    assert response.status_code == 503
    assert b"EmbeddedRunner" in response.content


def test_liveness_asks_nothing(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert client.get("/healthz/").status_code == 200


@override_settings(JOBS_BACKEND="celery")
def test_not_ready_when_no_celery_worker_answers(client):
    response = ready(client)

    assert response.status_code == 503
    assert response.json()["CeleryWorkers()"] == "Unavailable: Celery workers unavailable"


@pytest.fixture
def celery_worker(require_redis, monkeypatch):
    """A real worker on Redis as its broker, and the probe asking through the same
    broker (the tests' own app runs tasks eagerly with no broker)."""
    monkeypatch.setattr(
        readiness, "celery_app", Celery("bazaar", broker=settings.REDIS_URL, set_as_current=False)
    )
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "bazaar",
            "worker",
            "--pool",
            "solo",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "-l",
            "warning",
        ],
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "bazaar.settings.local",
            "REDIS_URL": settings.REDIS_URL,
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    yield worker
    worker.terminate()
    worker.wait(10)


@override_settings(JOBS_BACKEND="celery")
def test_ready_when_a_celery_worker_answers_through_the_broker(client, celery_worker):
    deadline = time.monotonic() + 30
    response = ready(client)
    while response.status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.5)
        response = ready(client)

    assert response.status_code == 200, response.json()
    assert response.json()["CeleryWorkers()"] == "OK"
