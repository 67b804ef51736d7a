"""Heartbeats: a key in Redis per kind of process, refreshed while one lives; /healthz reads their age.

- `worker`: written by every sweep the worker runs (and between the batches of a long one), so it proves
  beat and a worker both alive: beat asks for a sweep every CLOCK_SWEEP_INTERVAL_S.
- `ws`: written every second by a thread in each ASGI process (asgi.py), the one serving /ws/.
- `beat`: written by the beat that holds the lease (beat.py), at each renewal (every BEAT_LEASE_S / 3).
"""

from __future__ import annotations

import contextlib
import threading
import time

from . import redis as kredis

WORKER = "worker"
WS = "ws"
BEAT = "beat"


def beat(name: str) -> None:
    """`name` is alive now."""
    kredis.client().set(kredis.key("heartbeat", name), repr(time.time()), ex=3600)


def age(name: str) -> float | None:
    """Seconds since `name` last beat; None if it never did (within the hour)."""
    raw = kredis.client().get(kredis.key("heartbeat", name))
    return None if raw is None else time.time() - float(raw)


def keep_beating(name: str, every: float = 1.0) -> threading.Thread:
    """Beat for `name` every `every` seconds from a daemon thread, for as long as the process lives; a
    beat that fails (Redis away) is skipped."""

    def run() -> None:
        while True:
            with contextlib.suppress(Exception):
                beat(name)
            time.sleep(every)

    thread = threading.Thread(target=run, name=f"heartbeat-{name}", daemon=True)
    thread.start()
    return thread
