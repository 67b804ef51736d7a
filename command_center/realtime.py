"""Realtime: the one module that talks to the channel layer.

`broadcast_on_commit(org, event, payload)` queues a push to the org's group and every ancestor's group;
it is sent only after the surrounding transaction commits (nothing is sent on rollback). Each group's
messages carry their own increasing `seq`, so a screen that sees a gap (or a reset) reloads over REST:
the channel layer may drop messages, and a screen must never trust it to be complete.

Envelope: `{"event": str, "seq": int, "at": iso-8601, "data": payload}`.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

from channels.layers import get_channel_layer
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from . import redis as kredis
from .models import Org
from .pubsub import BoardChannelLayer

log = logging.getLogger(__name__)

# The type of a push on the channel layer: its socket's feed writes its `text` (consumers.py `_write`).
MESSAGE_TYPE = "board.event"

Push = tuple[str, str, Any]  # (group, event, data)


def org_group(org_id: int) -> str:
    """The group of everyone watching org `org_id` (and, through ancestors, its subtree)."""
    return f"org.{org_id}"


def _json_safe(value: Any) -> Any:
    """Payloads are JSON on the wire: turn datetimes, decimals and UUIDs into strings now."""
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


def broadcast_each_on_commit(targets: Iterable[Org], event: str, payload_for: Callable[[Org], Any]) -> None:
    """Push `event` to every group of the `targets`' lineages (each group once), with the payload built for
    that group's org by `payload_for(org)` (None: that group hears nothing). For what differs by who hears
    it: a push is read by everyone in its group, so a count that crosses areas must be the group's own."""
    lineage: dict[int, Org] = {}
    for target in targets:
        lineage.update((o.pk, o) for o in target.lineage())
    pushes: list[Push] = []
    for org in lineage.values():
        payload = payload_for(org)
        if payload is not None:
            pushes.append((org_group(org.pk), event, _json_safe(payload)))
    if pushes:
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


# The fan-out: one script per commit numbers each push in its group (INCR) and PUBLISHes it once to the
# group's channel of the pub/sub channel layer (command_center/pubsub.py); each ASGI process subscribed to
# the group copies it to its own sockets in memory. One round trip, atomic: two web processes' pushes to a
# group can no longer overtake each other (numbering and sending were two round trips before). The message
# is the layer's wire format, msgpack `{"type": MESSAGE_TYPE, "text": <the envelope as JSON>}`, which
# Redis's cmsgpack builds around the JSON text with the number put in: the envelope is encoded once, here,
# and every socket sends that text as it is.
_PUBLISH = """
local out = {}
for i = 1, #KEYS do
    local seq = redis.call('INCR', KEYS[i])
    local k = 3 * i - 1
    redis.call('PUBLISH', ARGV[k], cmsgpack.pack({type = ARGV[1], text = ARGV[k + 1] .. seq .. ARGV[k + 2]}))
    out[i] = seq
end
return out
"""


@functools.cache
def _publish_script() -> Any:
    return kredis.client().register_script(_PUBLISH)  # EVALSHA, loaded again if Redis restarted


def _layer() -> BoardChannelLayer:
    layer = get_channel_layer()
    if not isinstance(layer, BoardChannelLayer) or len(layer.hosts) != 1:
        raise RuntimeError("realtime: the channel layer must be command_center.pubsub.BoardChannelLayer, one host")
    if layer.hosts[0].get("address", settings.REDIS_URL) != settings.REDIS_URL:
        raise RuntimeError("realtime: the channel layer must live on REDIS_URL (realtime publishes there)")
    return layer


def _fan_out(pushes: list[Push], at: str) -> None:
    layer = _layer()
    tail_at = ', "at": ' + json.dumps(at) + ', "data": '
    encoded: dict[int, str] = {}  # id(data) -> its JSON: one payload usually goes to several groups
    args: list[str] = [MESSAGE_TYPE]
    for group, event, data in pushes:
        if id(data) not in encoded:
            encoded[id(data)] = json.dumps(data, ensure_ascii=False)
        head = '{"event": ' + json.dumps(event, ensure_ascii=False) + ', "seq": '
        args += [layer.group_channel_name(group), head, tail_at + encoded[id(data)] + "}"]
    seqs = _publish_script()(keys=[kredis.key("seq", group) for group, _e, _d in pushes], args=args)
    for recorder in _recorders:
        recorder.extend(
            {"group": group, "event": event, "seq": int(seq), "at": at, "data": data}
            for (group, event, data), seq in zip(pushes, seqs, strict=True)
        )


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
