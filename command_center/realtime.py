"""Realtime: the one module that talks to the channel layer.

`broadcast_on_commit(org, event, payload)` queues a push to the org's group and every ancestor's group;
it is sent only after the surrounding transaction commits (nothing is sent on rollback). Each group's
messages carry their own increasing `seq`, so a screen that sees a gap (or a reset) reloads over REST:
the channel layer may drop messages, and a screen must never trust it to be complete.

Envelope: `{"event": str, "seq": int, "at": iso-8601, "data": payload}`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
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


def broadcast_on_commit(org: Org, event: str, payload: Any, *, also: Iterable[Org] = ()) -> None:
    """Push `event` about `org`'s business to its group and its ancestors' groups, after commit.

    Build `payload` inside the transaction (it must describe the committed state); it is serialised now.
    `also` names more orgs concerned (a directive's issuer beside the station doing the task): their
    lineages join the push, each group once, so a shared ancestor gets one message, not one per org.
    """
    data = _json_safe(payload)
    groups = dict.fromkeys(org_group(o.pk) for o in org.lineage())
    for other in also:
        groups.update(dict.fromkeys(org_group(o.pk) for o in other.lineage()))
    pushes = [(group, event, data) for group in groups]
    transaction.on_commit(partial(_send_rollback_unsafe, pushes))


def broadcast_many_on_commit(
    items: Iterable[tuple[Org, str, Any]], *, on_sent: Callable[[], None] | None = None
) -> None:
    """Several broadcasts in one after-commit send (one Redis round trip for the sequences). `on_sent` runs
    after the send went out (not when it failed): the clocks' sweep records that a breach was pushed."""
    pushes: list[Push] = []
    lineages: dict[int, list[Org]] = {}
    for org, event, payload in items:
        if org.pk not in lineages:
            lineages[org.pk] = org.lineage()
        data = _json_safe(payload)
        pushes.extend((org_group(o.pk), event, data) for o in lineages[org.pk])
    if pushes:
        transaction.on_commit(partial(_send_rollback_unsafe, pushes, on_sent))


def current_seq(group: str) -> int:
    """The last sequence number given out in `group` (0 when none yet)."""
    value = kredis.client().get(kredis.key("seq", group))
    return int(value or 0)


def _send_rollback_unsafe(pushes: list[Push], on_sent: Callable[[], None] | None = None) -> None:
    """Send now, whatever the transaction does: only ever called from an on-commit hook.

    A failure here (Redis down) is logged and swallowed: the write it reports is already committed, and
    screens recover by reloading over REST when they see the sequence gap.
    """
    at = timezone.now().isoformat()
    try:
        _fan_out(pushes, at)
    except Exception:
        log.exception("realtime: could not send %d pushes", len(pushes))
        return
    if on_sent is not None:
        try:
            on_sent()
        except Exception:
            log.exception("realtime: the after-send step failed")


# The group fan-out of channels_redis (group_send), done with the process's synchronous Redis client in two
# round trips for all pushes of a commit: (1) number each push and read each group's members, (2) one
# script that drops each member channel's expired messages and queues the new one unless the channel is
# at capacity. channels_redis's own group_send takes two round trips per group through an event loop
# in another thread (~3 ms of CPU for one intake's four groups). Consumers read with the unchanged layer.
_ENQUEUE = """
local n = #KEYS
local now, expiry, cutoff = tonumber(ARGV[3 * n + 1]), tonumber(ARGV[3 * n + 2]), tonumber(ARGV[3 * n + 3])
local over = 0
for i = 1, n do
    redis.call('ZREMRANGEBYSCORE', KEYS[i], 0, cutoff)
    if redis.call('ZCARD', KEYS[i]) < tonumber(ARGV[n + i]) then
        redis.call('ZADD', KEYS[i], now + tonumber(ARGV[2 * n + i]) / 1e6, ARGV[i])
        redis.call('EXPIRE', KEYS[i], expiry)
    else
        over = over + 1
    end
end
return over
"""


def _fan_out(pushes: list[Push], at: str) -> None:
    layer: Any = get_channel_layer()
    if layer is not None and layer.ring_size != 1:  # members are read through REDIS_URL: the layer lives there
        raise RuntimeError("realtime: the channel layer must use exactly one Redis host (REDIS_URL)")
    r = kredis.client()
    groups = list(dict.fromkeys(group for group, _event, _data in pushes))
    now = time.time()
    pipe = r.pipeline(transaction=False)
    for group, _event, _data in pushes:
        pipe.incr(kredis.key("seq", group))
    if layer is not None:
        for group in groups:
            pipe.zremrangebyscore(layer._group_key(group), 0, int(now) - layer.group_expiry)
            pipe.zrange(layer._group_key(group), 0, -1)
    results = pipe.execute()
    seqs = results[: len(pushes)]
    members = {g: [c.decode() for c in results[len(pushes) + 2 * k + 1]] for k, g in enumerate(groups)}
    messages = [
        (group, {"event": event, "seq": int(seq), "at": at, "data": data})
        for (group, event, data), seq in zip(pushes, seqs, strict=True)
    ]
    for recorder in _recorders:
        recorder.extend({"group": g, **env} for g, env in messages)
    if layer is None:
        return
    keys: list[str] = []
    payloads: list[bytes] = []
    capacities: list[int] = []
    for group, envelope in messages:
        if not members[group]:
            continue
        _conns, key_to_message, key_to_capacity = layer._map_channel_keys_to_connection(
            members[group], {"type": MESSAGE_TYPE, "envelope": envelope}
        )
        for key, payload in key_to_message.items():
            keys.append(key)
            payloads.append(payload)
            capacities.append(key_to_capacity[key])
    if not keys:
        return
    # Messages to one channel keep their order: each gets a score a microsecond after the one before.
    order = list(range(len(keys)))
    over = r.eval(
        _ENQUEUE, len(keys), *keys, *payloads, *capacities, *order, now, layer.expiry, int(now) - int(layer.expiry)
    )
    if over:
        log.info("realtime: %d messages dropped, their channels were full", over)


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
