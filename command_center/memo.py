"""Per-process memory of rarely changing rows: the org tree, the code tables.

Every intake asks for its category, the stations near the call and the org lineage a push goes to; the
rows behind them change a few times a year. Each worker process keeps what it read for `PROCESS_CACHE_S`
(60 s) at most. A save or delete of a cached model (see apps.py) clears this process's memory at once and,
after commit, bumps a generation number in Redis that every process checks at most once a second: an
edited org or code row reaches every worker within about a second (within the minute if Redis is down).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from django.conf import settings
from django.db import transaction

from . import redis as kredis

log = logging.getLogger(__name__)
T = TypeVar("T")

_MAX_ENTRIES = 10_000
_CHECK_EVERY_S = 1.0
_lock = threading.Lock()
_entries: dict[Hashable, tuple[float, Any]] = {}
_generation: list[Any] = [None, 0.0]  # [last generation seen, when it was checked]


def _generation_key() -> str:
    return kredis.key("memo", "generation")


def _check_generation(now: float) -> None:
    if now - _generation[1] < _CHECK_EVERY_S:
        return
    _generation[1] = now
    try:
        current = kredis.client().get(_generation_key())
    except Exception:  # Redis down: the time limit alone bounds staleness
        return
    if current != _generation[0]:
        with _lock:
            _entries.clear()
        _generation[0] = current


def remember(key: Hashable, load: Callable[[], T]) -> T:
    """`load()`'s value for `key`, read at most once per PROCESS_CACHE_S in this process."""
    now = time.monotonic()
    _check_generation(now)
    hit = _entries.get(key)
    if hit is not None and now - hit[0] < settings.PROCESS_CACHE_S:
        return hit[1]  # type: ignore[no-any-return,unused-ignore]
    value = load()
    with _lock:
        if len(_entries) >= _MAX_ENTRIES:
            _entries.clear()
        _entries[key] = (now, value)
    return value


def _bump() -> None:
    try:
        kredis.client().incr(_generation_key())
    except Exception:
        log.warning("memo: could not announce a change to other processes; they see it within a minute")


def forget(*_args: Any, **_kwargs: Any) -> None:
    """Drop this process's memory now and tell the others after commit (connected to post_save /
    post_delete of the cached models)."""
    with _lock:
        _entries.clear()
    transaction.on_commit(_bump)
