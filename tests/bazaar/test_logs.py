"""Logs: JSON lines with the request's (or the task's) id; errors to Sentry when set."""

import io
import json
import logging
import logging.config

import pytest
import sentry_sdk
from django.http import HttpResponse, HttpResponseForbidden
from django.test import RequestFactory
from django.urls import path

from bazaar.logs import RequestIdMiddleware, bind_task, logging_config, sentry_init

pytestmark = pytest.mark.django_db


@pytest.fixture
def json_lines():
    """What the production configuration writes, captured."""
    stream = io.StringIO()
    config = logging_config("json", "INFO")
    config["handlers"]["console"]["stream"] = stream
    config["handlers"]["console"]["class"] = "logging.StreamHandler"
    previous = logging.getLogger().handlers[:]
    logging.config.dictConfig(config)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root = logging.getLogger()
    root.handlers[:] = previous


def refused(request):
    """A view that asks who is there and refuses them."""
    logging.getLogger("bazaar.views").warning(
        "not yours, %s", getattr(request.user, "handle", "visitor")
    )
    return HttpResponseForbidden("no")


urlpatterns = [path("refused/", refused)]


@pytest.mark.urls("tests.bazaar.test_logs")
def test_a_refused_request_s_lines_name_the_signed_in_user_who_was_refused(
    json_lines, client, make_user
):
    """ASVS V7.1.3 and V7.2.2: Django's line about the 403 is written after our
    middleware has returned; it still carries the request's id, and the user."""
    user = make_user("mallory")
    client.force_login(user)
    response = client.get("/refused/")
    lines = json_lines()
    ours = next(line for line in lines if line["event"] == "not yours, mallory")
    django_s = next(line for line in lines if line["logger"] == "django.request")
    assert response.status_code == 403 and django_s["event"] == "Forbidden: /refused/"
    for line in (ours, django_s):
        assert line["user"] == str(user.public_id)
        assert line["request_id"] == response["X-Request-ID"]


@pytest.mark.urls("tests.bazaar.test_logs")
def test_a_visitor_s_lines_name_no_user(json_lines, client):
    response = client.get("/refused/")
    (line,) = [line for line in json_lines() if line["logger"] == "django.request"]
    assert line["event"] == "Forbidden: /refused/" and "user" not in line
    assert line["request_id"] == response["X-Request-ID"]


def served(view):
    return RequestIdMiddleware(view)(RequestFactory().get("/"))


def test_a_request_gets_an_id_in_its_response_and_in_every_line_it_logs(json_lines):
    def view(request):
        logging.getLogger("bazaar.views").warning("served %s", "a page")
        return HttpResponse("ok")

    response = served(view)

    line = next(line for line in json_lines() if line["event"] == "served a page")
    assert len(response["X-Request-ID"]) == 32
    assert line["request_id"] == response["X-Request-ID"]
    assert (line["level"], line["logger"]) == ("warning", "bazaar.views")
    assert line["timestamp"].endswith("Z")


@pytest.mark.asyncio
async def test_an_async_view_s_lines_carry_the_id_too(json_lines):
    async def view(request):
        logging.getLogger("bazaar.views").warning("served async")
        return HttpResponse("ok")

    response = await served(view)

    line = next(line for line in json_lines() if line["event"] == "served async")
    assert line["request_id"] == response["X-Request-ID"]


def test_the_proxy_s_request_id_is_kept_and_a_forged_one_replaced(client):
    kept = client.get("/healthz/", HTTP_X_REQUEST_ID="b5f2c1de-0a8e-4b7a-9d41-22f0e6c1a9b3")
    forged = client.get("/healthz/", HTTP_X_REQUEST_ID='x", "level": "critical')

    assert kept["X-Request-ID"] == "b5f2c1de-0a8e-4b7a-9d41-22f0e6c1a9b3"
    assert forged["X-Request-ID"] != 'x", "level": "critical'
    assert len(forged["X-Request-ID"]) == 32


def test_a_task_s_lines_name_the_task(json_lines):
    bind_task("3f1c", "orders.tasks.send_money")
    logging.getLogger("orders.tasks").info("sent")

    line = next(line for line in json_lines() if line["event"] == "sent")
    assert (line["task_id"], line["task"]) == ("3f1c", "orders.tasks.send_money")


def test_an_error_s_traceback_is_data_without_local_variables(json_lines):
    try:
        password = "hunter2"  # noqa: F841
        raise ValueError("went wrong")
    except ValueError:
        logging.getLogger("bazaar").exception("failed")

    line = next(line for line in json_lines() if line["event"] == "failed")
    assert line["exception"][0]["exc_type"] == "ValueError"
    assert "hunter2" not in json.dumps(line)


def test_sentry_is_told_errors_without_personal_data():
    sentry_init("https://publickey@sentry.example/1", environment="staging", traces_sample_rate=0)
    try:
        client = sentry_sdk.get_client()
        assert client.is_active()
        assert client.options["environment"] == "staging"
        collected = client.options["data_collection"]
        assert collected["user_info"] is False
        assert collected["http_bodies"] == []
        assert collected["stack_frame_variables"] is False
    finally:
        sentry_sdk.init()  # no DSN: inactive again
