"""A database that does not answer: the query's wait is bounded (bazaar.database) and
the request gets a 503 with Retry-After, as a page or an htmx fragment, with DEBUG on
or off, whether the view or a middleware met the failure (bazaar.errors)."""

import time

import psycopg
import pytest
from django.db import OperationalError, connection
from django.http import HttpResponse
from django.test import Client, override_settings
from django.urls import path

from bazaar import database


def view_that_loses_the_database(request):
    raise OperationalError("PostgreSQL did not answer within 3 s; the connection was closed")


class MiddlewareThatLosesTheDatabase:
    """As a session save or the signed-in user read below the 503 middleware would."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path == "/in-middleware/":
            raise OperationalError("the connection is closed")
        return self.get_response(request)


urlpatterns = [
    path("in-view/", view_that_loses_the_database),
    path("in-middleware/", lambda request: HttpResponse("never")),
]


def middleware_with_a_failing_layer(settings):
    chain = list(settings.MIDDLEWARE)
    chain.insert(
        chain.index("bazaar.errors.DatabaseUnavailableMiddleware") + 2,
        __name__ + ".MiddlewareThatLosesTheDatabase",
    )
    return chain


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("where", ["in-view", "in-middleware"])
def test_a_failed_database_is_a_503_page_with_retry_after(settings, debug, where):
    settings.MIDDLEWARE = middleware_with_a_failing_layer(settings)
    with override_settings(ROOT_URLCONF=__name__, DEBUG=debug):
        response = Client(raise_request_exception=False).get(f"/{where}/")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response["Cache-Control"] == "no-store"
    page = response.content.decode()
    assert "<h1>Back in a moment</h1>" in page
    assert "The market's database is not answering just now" in page
    assert "Traceback" not in page


@pytest.mark.parametrize("where", ["in-view", "in-middleware"])
def test_an_htmx_request_gets_the_message_as_a_fragment(settings, where):
    settings.MIDDLEWARE = middleware_with_a_failing_layer(settings)
    with override_settings(ROOT_URLCONF=__name__):
        response = Client(raise_request_exception=False).get(f"/{where}/", HTTP_HX_REQUEST="true")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    fragment = response.content.decode()
    assert fragment.startswith('<p class="error-message" role="alert">')
    assert "try again in 5 seconds" in fragment and "<html" not in fragment


@pytest.mark.postgres
def test_a_query_whose_answer_does_not_come_is_given_up_and_its_connection_closed(
    require_postgres, db
):
    """The bound on a real server that keeps a query (pg_sleep) past it; the bound is
    off again afterwards (tests run without one: bazaar/settings/test.py)."""
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    params.pop("prepare_threshold", None)
    with database.BoundedConnection.connect(**params, autocommit=True) as conn:
        database.bound_waits(0.5)
        try:
            started = time.monotonic()
            with pytest.raises(psycopg.OperationalError, match=r"did not answer within 0\.5 s"):
                conn.execute("SELECT pg_sleep(5)")
            assert time.monotonic() - started < 3
            assert conn.closed
        finally:
            database.bound_waits(None)
    with database.BoundedConnection.connect(**params, autocommit=True) as conn:
        assert conn.execute("SELECT pg_sleep(0.6), 1").fetchone()[1] == 1
