"""GET /healthz: is every part of the platform up? No login, JSON, 503 when any part is not ok.

The web server answers it, so a web server that is down gets no answer at all; the worker (with beat) and
the WebSocket server are seen through their heartbeats (heartbeat.py), stale within seconds of their end."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from . import clocks, heartbeat
from . import redis as kredis


def _database() -> str:
    try:
        with connection.cursor() as cur:
            cur.execute("SELECT 1")
        return "ok"
    except Exception as exc:
        return f"unreachable: {type(exc).__name__}"


def _redis() -> str:
    try:
        kredis.client().ping()
        return "ok"
    except Exception as exc:
        return f"unreachable: {type(exc).__name__}"


def _heartbeat(name: str, max_age: float, what: str) -> str:
    try:
        age = heartbeat.age(name)
    except Exception as exc:
        return f"unknown (redis: {type(exc).__name__})"
    if age is None:
        return f"no heartbeat yet: is {what} running?"
    if age > max_age:
        return f"last heartbeat {age:.1f} s ago: {what} down"
    return "ok"


def _sweeper() -> str:
    try:
        lag = clocks.oldest_due_age()
    except Exception as exc:
        return f"unknown (database: {type(exc).__name__})"
    if lag is not None and lag > settings.CLOCK_SWEEP_LAG_ALARM_S:
        return f"lagging: oldest due deadline waiting {lag:.1f} s"
    return "ok"


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    report = {
        "database": _database(),
        "redis": _redis(),
        "worker": _heartbeat(heartbeat.WORKER, settings.WORKER_HEARTBEAT_MAX_AGE_S, "a Celery worker or beat"),
        "sweeper": _sweeper(),
        "ws": _heartbeat(heartbeat.WS, settings.WS_HEARTBEAT_MAX_AGE_S, "the WebSocket server (daphne)"),
    }
    lag = None
    if report["database"] == "ok":
        try:
            lag = clocks.oldest_due_age()
        except Exception:
            lag = None
    body = {**report, "sweeper_lag_s": round(lag, 3) if lag is not None else 0.0}
    ok = all(v == "ok" for v in report.values())
    return JsonResponse(body, status=200 if ok else 503, json_dumps_params={"ensure_ascii": False})
