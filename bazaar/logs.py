"""Logs: one JSON object a line in production, with the request's id in every line.

Every logger (Django's, Celery's, ours) goes through the standard library; structlog's
`ProcessorFormatter` renders the records, with whatever is bound to the current
context (`request_id` by `RequestIdMiddleware`, `task_id` and `task` in a Celery
task) added to each. `LOG_FORMAT=json` (production's default) or `plain` (the
embedded market's: the terminal's familiar line). Errors go to Sentry as well when
`SENTRY_DSN` is set (`sentry_init`).
"""

import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar

import structlog
from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse

REQUEST_ID_HEADER = "X-Request-ID"
# A proxy's id is kept when it looks like one (Caddy's and nginx's are UUIDs or hex);
# anything else is replaced, so a client cannot write into our logs.
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")

NO_PERSONAL_DATA = {"user_info": False, "http_bodies": [], "stack_frame_variables": False}

# The request being served in this context, for `_who_asked`.
_serving: ContextVar[HttpRequest | None] = ContextVar("serving", default=None)


def _who_asked(logger, method_name: str, event_dict: dict) -> dict:
    """Name the request a line is about, and its signed-in user (by public id) when
    the request has loaded one: an investigation asks who was refused. Django's own
    line about a 4xx or 5xx answer is written after our middleware has returned, so
    it is read from the request the line carries. A user is never loaded for this."""
    request = getattr(event_dict.get("_record"), "request", None) or _serving.get()
    if not isinstance(request, HttpRequest):
        return event_dict
    if hasattr(request, "request_id"):
        event_dict.setdefault("request_id", request.request_id)
    user = getattr(request, "_cached_user", None) or getattr(request, "_acached_user", None)
    if user is not None and user.is_authenticated:
        event_dict.setdefault("user", str(user.public_id))
    return event_dict


_SHARED = [
    structlog.contextvars.merge_contextvars,
    _who_asked,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def logging_config(log_format: str, level: str) -> dict:
    """Django's LOGGING for `log_format` ("json" or "plain")."""
    if log_format == "json":
        formatter = {
            "()": structlog.stdlib.ProcessorFormatter,
            "foreign_pre_chain": _SHARED,
            "processors": [
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                # Tracebacks as data, without local variables: they hold passwords,
                # tokens and addresses.
                structlog.processors.ExceptionRenderer(
                    structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
                ),
                structlog.processors.JSONRenderer(),
            ],
        }
    else:
        formatter = {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"main": formatter},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "main"}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {"django.db.backends": {"level": "INFO"}},
    }


class RequestIdMiddleware:
    """Give each request an id (the proxy's X-Request-ID, or a new one), bound to
    every log line written while it is served and returned in the response's
    X-Request-ID, so a person's report and the logs meet. Sync and async alike, so
    an async view keeps its chain free of thread hops."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest):
        if iscoroutinefunction(self):
            return self._served_async(request)
        serving = _bind_request_id(request)
        try:
            response = self.get_response(request)
        finally:
            _unbind(serving)
        response[REQUEST_ID_HEADER] = request.request_id
        return response

    async def _served_async(self, request: HttpRequest) -> HttpResponse:
        serving = _bind_request_id(request)
        try:
            response = await self.get_response(request)
        finally:
            _unbind(serving)
        response[REQUEST_ID_HEADER] = request.request_id
        return response


def _bind_request_id(request: HttpRequest):
    given = request.headers.get(REQUEST_ID_HEADER, "")
    request.request_id = given if _VALID_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=request.request_id)
    return _serving.set(request)


def _unbind(serving) -> None:
    structlog.contextvars.unbind_contextvars("request_id")
    _serving.reset(serving)


def bind_task(task_id: str, task_name: str) -> None:
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(task_id=task_id, task=task_name)


def sentry_init(dsn: str, *, environment: str, traces_sample_rate: float) -> None:
    """Errors (and, when sampled, traces) to Sentry without personal data: no user
    identity, no request bodies, no local variables of a traceback's frames."""
    import sentry_sdk

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        traces_sample_rate=traces_sample_rate,
        data_collection=NO_PERSONAL_DATA,
    )
