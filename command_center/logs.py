"""Request ids and JSON log lines (docs/operations.md).

Every request gets an id: the caller's `X-Request-ID` when it is a sane one (a proxy's, a client's), else a
new one. It goes back in the response's `X-Request-ID`, is held in a context variable while the request
runs, and `RequestIdFilter` puts it on every log record made meanwhile (`-` outside a request). A Celery
task sent during a request carries the id in its headers and logs under it too (celery.py).

`LOG_FORMAT=json` (settings) writes each record as one JSON object per line: time (ISO 8601, UTC), level,
logger, message, request_id and, when there is one, the exception's traceback.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime

from django.http import HttpRequest, HttpResponse

HEADER = "X-Request-ID"
_SANE = re.compile(r"[A-Za-z0-9._:@-]{1,128}")
NONE = "-"

request_id: ContextVar[str] = ContextVar("request_id", default=NONE)


def new_id() -> str:
    return uuid.uuid4().hex


def accept(given: str | None) -> str:
    """The caller's id if it is short and plain (it ends up in log lines and headers), else a new one."""
    return given if given and _SANE.fullmatch(given) else new_id()


class RequestIdMiddleware:
    """Put it first: the id must be set before anything logs, and still set when the response is logged."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        rid = accept(request.headers.get(HEADER))
        request.request_id = rid  # type: ignore[attr-defined]
        token = request_id.set(rid)
        try:
            response = self.get_response(request)
            response[HEADER] = rid
            return response
        finally:
            request_id.reset(token)


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            # django.request logs a 4xx/5xx after the middleware returned (the variable is reset by then),
            # with the request itself on the record.
            record.request_id = getattr(getattr(record, "request", None), "request_id", None) or request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line; non-ASCII text stays readable (Chinese messages)."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", request_id.get()),
        }
        if record.exc_info:
            line["exc_info"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exc_info"] = record.exc_text
        if record.stack_info:
            line["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def logging_config(*, fmt: str, level: str) -> dict[str, object]:
    """settings.LOGGING for `LOG_FORMAT` "plain" (the default) or "json"."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "command_center.logs.RequestIdFilter"}},
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
            "json": {"()": "command_center.logs.JsonFormatter"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "json" if fmt == "json" else "plain",
                "filters": ["request_id"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.channels.server": {"level": "WARNING"},
            # The sweep runs twice a second: its "received" / "succeeded" lines would drown everything else.
            "celery.app.trace": {"level": "WARNING"},
            "celery.worker.strategy": {"level": "WARNING"},
        },
    }
