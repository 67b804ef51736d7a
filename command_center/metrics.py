"""GET /metrics: the platform's numbers for Prometheus (docs/operations.md).

Two kinds of numbers, so that several web, ws and worker processes add up to one answer:

- Counted where they happen (requests: rate and latency by method, route and status class). In one process
  they live in prometheus_client's default registry; with `PROMETHEUS_MULTIPROC_DIR` set (before the process
  starts) every process writes them to files in that directory and the scrape adds the files up.
- Computed at scrape time from what every process already shares: clocks from the Deadline table, the
  sweeper's lag as /healthz computes it, heartbeat ages, Celery's queue lengths and the board sockets from
  Redis. Nothing to add up, nothing lost when a process dies.

Who may scrape: with `METRICS_TOKEN` set, a request carrying `Authorization: Bearer <token>`; without it,
only a request from the machine itself (127.0.0.1, ::1). Anyone else gets a 404, as if there were nothing.
"""

from __future__ import annotations

import contextlib
import hmac
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator

from django.conf import settings
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from . import clocks, heartbeat
from . import redis as kredis
from .models import Deadline

# --- Counted where it happens: HTTP requests ---------------------------------------------------------------

REQUESTS = Counter(
    "cc_http_requests", "HTTP requests answered, by method, route name and status class.", ["method", "route", "status"]
)
LATENCY = Histogram(
    "cc_http_request_duration_seconds",
    "Time to answer an HTTP request, by method, route name and status class.",
    ["method", "route", "status"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


def _route(request: HttpRequest) -> str:
    """The URL pattern's name, not the path: a label per incident id would grow without end."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "<unmatched>"
    return match.view_name or match.route or "<unnamed>"


class MetricsMiddleware:
    """Counts and times every request (put it first: the time includes the other middleware)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        start = time.perf_counter()
        response = self.get_response(request)
        elapsed = time.perf_counter() - start
        method = request.method if request.method in _METHODS else "other"
        labels = (method, _route(request), f"{response.status_code // 100}xx")
        REQUESTS.labels(*labels).inc()
        LATENCY.labels(*labels).observe(elapsed)
        return response


# --- Board sockets: counted per process, published to Redis -------------------------------------------------

SOCKETS_TTL_S = 10  # a process that died stops counting within this many seconds
_sockets = 0
_sockets_lock = threading.Lock()


def _sockets_key() -> str:
    return kredis.key("metrics", "sockets", f"{socket.gethostname()}.{os.getpid()}")


def socket_opened() -> None:
    """A board socket was accepted in this process (consumers.py). No I/O: the publisher thread writes."""
    global _sockets
    with _sockets_lock:
        _sockets += 1


def socket_closed() -> None:
    global _sockets
    with _sockets_lock:
        _sockets = max(0, _sockets - 1)


def sockets_publish() -> None:
    """Write this process's count of open board sockets to Redis, alive for SOCKETS_TTL_S."""
    kredis.client().set(_sockets_key(), _sockets, ex=SOCKETS_TTL_S)


def keep_publishing_sockets(every: float = 1.0) -> threading.Thread:
    """In each ASGI process (asgi.py): publish the socket count every `every` seconds; a failed write (Redis
    away) is skipped."""

    def run() -> None:
        while True:
            with contextlib.suppress(Exception):
                sockets_publish()
            time.sleep(every)

    thread = threading.Thread(target=run, name="metrics-sockets", daemon=True)
    thread.start()
    return thread


def _board_sockets() -> int:
    client = kredis.client()
    keys = list(client.scan_iter(match=kredis.key("metrics", "sockets", "*"), count=500))
    return sum(int(v) for v in client.mget(keys) if v is not None) if keys else 0


# --- Computed at scrape time ------------------------------------------------------------------------------

# kombu's Redis transport keeps a queue as a list named after it, and its priorities 3, 6, 9 as lists named
# "<queue>\x06\x16<priority>"; the broker's `global_keyprefix` (settings) comes before either.
_PRIORITY_SEP = "\x06\x16"
_PRIORITY_STEPS = (0, 3, 6, 9)


def celery_queues() -> list[str]:
    queues = {getattr(settings, "CELERY_TASK_DEFAULT_QUEUE", "celery")}
    for route in (getattr(settings, "CELERY_TASK_ROUTES", None) or {}).values():
        if isinstance(route, dict) and route.get("queue"):
            queues.add(route["queue"])
    return sorted(queues)


def _queue_depth(queue: str) -> int:
    prefix = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("global_keyprefix", "")
    names = [f"{prefix}{queue}" if p == 0 else f"{prefix}{queue}{_PRIORITY_SEP}{p}" for p in _PRIORITY_STEPS]
    pipe = kredis.client().pipeline(transaction=False)
    for name in names:
        pipe.llen(name)
    return sum(pipe.execute())


class ScrapeCollector(Collector):
    """The numbers read from the database and Redis when Prometheus asks. Each source that fails is left out
    of this scrape (Prometheus sees the series go stale); `cc_scrape_errors` counts the ones that failed."""

    def collect(self) -> Iterator[Metric]:
        errors = 0
        for build in (self._clocks, self._sweeper, self._heartbeats, self._queues, self._sockets):
            try:
                yield from build()
            except Exception:
                errors += 1
        yield GaugeMetricFamily("cc_scrape_errors", "Sources that could not be read during this scrape.", errors)

    def _clocks(self) -> list[Metric]:
        open_ = GaugeMetricFamily(
            "cc_clocks_open", "Running clocks (deadlines not met, cancelled or breached).", labels=["kind"]
        )
        # The partial index deadline_open_due holds exactly these rows.
        for row in Deadline.objects.open().values("kind").annotate(n=Count("id")).order_by("kind"):
            open_.add_metric([row["kind"]], row["n"])
        breached = GaugeMetricFamily(
            "cc_clocks_breached", "Clocks that broke and are still unmet (not met or cancelled since).", labels=["kind"]
        )
        for row in Deadline.objects.unmet().breached().values("kind").annotate(n=Count("id")).order_by("kind"):
            breached.add_metric([row["kind"]], row["n"])
        return [open_, breached]

    def _sweeper(self) -> list[Metric]:
        lag = clocks.oldest_due_age()
        return [
            GaugeMetricFamily(
                "cc_sweeper_lag_seconds", "Age of the oldest due deadline not yet breached (0 when none).", lag or 0.0
            )
        ]

    def _heartbeats(self) -> list[Metric]:
        ages = GaugeMetricFamily(
            "cc_heartbeat_age_seconds",
            "Seconds since a process of this kind last beat (worker: sweeps; ws: the WebSocket server; beat: the "
            "beat holding the lease). "
            "Absent when none beat within the hour.",
            labels=["process"],
        )
        for name in (heartbeat.WORKER, heartbeat.WS, heartbeat.BEAT):
            age = heartbeat.age(name)
            if age is not None:
                ages.add_metric([name], age)
        return [ages]

    def _queues(self) -> list[Metric]:
        depth = GaugeMetricFamily("cc_celery_queue_length", "Tasks waiting in a Celery queue.", labels=["queue"])
        for queue in celery_queues():
            depth.add_metric([queue], _queue_depth(queue))
        return [depth]

    def _sockets(self) -> list[Metric]:
        return [
            GaugeMetricFamily("cc_board_sockets", "Open board WebSockets, over every ASGI process.", _board_sockets())
        ]


def _registry() -> CollectorRegistry:
    """What this scrape reports: the counted numbers (from every process's files in multiprocess mode, else
    from this process) and the ones computed now."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        registry.register(_Forward(REGISTRY))
    registry.register(ScrapeCollector())
    return registry


class _Forward(Collector):
    def __init__(self, source: CollectorRegistry) -> None:
        self.source = source

    def collect(self) -> Iterator[Metric]:
        yield from self.source.collect()


def _allowed(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    if token:
        given = request.headers.get("Authorization", "")
        return given.startswith("Bearer ") and hmac.compare_digest(given[7:].strip().encode(), token.encode())
    return request.META.get("REMOTE_ADDR") in {"127.0.0.1", "::1"}


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not _allowed(request):
        raise Http404
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)
