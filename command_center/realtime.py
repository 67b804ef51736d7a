"""Realtime: the one module that talks to the channel layer.

`broadcast_on_commit(org, event, payload)` queues a push to the org's group and every ancestor's group;
it is sent only after the surrounding transaction commits (nothing is sent on rollback). Each group's
messages carry their own increasing `seq`, so a screen that sees a gap (or a reset) reloads over REST:
the channel layer may drop messages, and a screen must never trust it to be complete.

Envelope: `{"event": str, "seq": int, "at": iso-8601, "data": payload}`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

from channels.layers import get_channel_layer
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from . import redis as kredis
from .models import Org

log = logging.getLogger(__name__)

# The consumer method a group message is dispatched to (`board_event` in consumers.py).
MESSAGE_TYPE = "board.event"

Push = tuple[str, str, Any]  # (group, event, data)


def org_group(org_id: int) -> str:
    """The group of everyone watching org `org_id` (and, through ancestors, its subtree)."""
    return f"org.{org_id}"


def _json_safe(value: Any) -> Any:
    """Payloads cross msgpack in channels_redis: turn datetimes, decimals and UUIDs into strings now."""
    import json

    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def broadcast_on_commit(org: Org, event: str, payload: Any) -> None:
    """Push `event` about `org`'s business to its group and its ancestors' groups, after commit.

    Build `payload` inside the transaction (it must describe the committed state); it is serialised now.
    """
    data = _json_safe(payload)
    pushes = [(org_group(o.pk), event, data) for o in org.lineage()]
    transaction.on_commit(partial(_send_rollback_unsafe, pushes))


def broadcast_many_on_commit(items: Iterable[tuple[Org, str, Any]]) -> None:
    """Several broadcasts in one after-commit send (one Redis round trip for the sequences)."""
    pushes: list[Push] = []
    lineages: dict[int, list[Org]] = {}
    for org, event, payload in items:
        if org.pk not in lineages:
            lineages[org.pk] = org.lineage()
        data = _json_safe(payload)
        pushes.extend((org_group(o.pk), event, data) for o in lineages[org.pk])
    if pushes:
        transaction.on_commit(partial(_send_rollback_unsafe, pushes))


def current_seq(group: str) -> int:
    """The last sequence number given out in `group` (0 when none yet)."""
    value = kredis.client().get(kredis.key("seq", group))
    return int(value or 0)


def _send_rollback_unsafe(pushes: list[Push]) -> None:
    """Send now, whatever the transaction does: only ever called from an on-commit hook.

    A failure here (Redis down) is logged and swallowed: the write it reports is already committed, and
    screens recover by reloading over REST when they see the sequence gap.
    """
    at = timezone.now().isoformat()
    try:
        pipe = kredis.client().pipeline(transaction=False)
        for group, _event, _data in pushes:
            pipe.incr(kredis.key("seq", group))
        seqs = pipe.execute()
    except Exception:
        log.exception("realtime: could not number %d pushes; they are dropped", len(pushes))
        return
    messages = [
        (group, {"event": event, "seq": int(seq), "at": at, "data": data})
        for (group, event, data), seq in zip(pushes, seqs, strict=True)
    ]
    for recorder in _recorders:
        recorder.extend({"group": g, **env} for g, env in messages)
    try:
        future = asyncio.run_coroutine_threadsafe(_group_send_all(messages), _sender_loop())
        future.result(timeout=SEND_TIMEOUT_S)
    except Exception:
        log.exception("realtime: could not send %d pushes", len(messages))


# One event loop per process, in a daemon thread, sends every push: the channel layer's Redis connections
# live with the loop, so a push costs a round trip, not a new loop and a new connection
# (async_to_sync per push cost ~10 ms). Re-created after a fork (Celery's prefork workers).
SEND_TIMEOUT_S = 5.0
_loop: asyncio.AbstractEventLoop | None = None
_loop_pid = 0
_loop_lock = threading.Lock()


def _sender_loop() -> asyncio.AbstractEventLoop:
    global _loop, _loop_pid
    with _loop_lock:
        if _loop is None or _loop_pid != os.getpid() or not _loop.is_running():
            loop = asyncio.new_event_loop()
            ready = threading.Event()

            def run() -> None:
                asyncio.set_event_loop(loop)
                loop.call_soon(ready.set)
                loop.run_forever()

            threading.Thread(target=run, name="realtime-sender", daemon=True).start()
            ready.wait(5)
            _loop, _loop_pid = loop, os.getpid()
        return _loop


async def _group_send_all(messages: list[tuple[str, dict[str, Any]]]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    await asyncio.gather(*(layer.group_send(g, {"type": MESSAGE_TYPE, "envelope": env}) for g, env in messages))


# --- Test support ---------------------------------------------------------------------------------------

_recorders: list[list[dict[str, Any]]] = []


@contextmanager
def recording() -> Iterator[list[dict[str, Any]]]:
    """Record every envelope actually sent (after commit) while the block runs; see tests' capture_broadcasts."""
    sent: list[dict[str, Any]] = []
    _recorders.append(sent)
    try:
        yield sent
    finally:
        _recorders.remove(sent)
