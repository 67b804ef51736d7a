"""After-commit hooks: how a lower app tells a higher one that something happened, without importing it.

Arrows point down (docs/architecture.md): incidents may not import intel, yet a dissatisfied callback must open a
rectification task in the loop. The lower app names an event and emits it inside its transaction; a higher
app listens in its AppConfig.ready. Listeners run after the emitting transaction commits (never on a
rollback), each in its own transaction, so a failing listener cannot undo what was committed: its error is
logged, and the listener must be idempotent (it may be called again by a repair job or a retry).

    # incidents/services.py (inside the callback's transaction)
    hooks.emit_on_commit(hooks.INCIDENT_DISSATISFIED, incident_id=i.pk)

    # intel/apps.py
    hooks.listen(hooks.INCIDENT_DISSATISFIED, services.rectification_open)
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from django.db import transaction

log = logging.getLogger(__name__)

Listener = Callable[..., Any]

# Event names, one place: a typo must not make an event nobody hears.
INCIDENT_DISSATISFIED = "incidents.callback_dissatisfied"  # kwargs: incident_id
INCIDENT_MERGED = "incidents.merged"  # kwargs: incident_id, actor_id (who merged it)

_listeners: dict[str, list[Listener]] = {}


def listen(event: str, listener: Listener) -> None:
    """Call `listener(**kwargs)` after every committed `emit_on_commit(event, **kwargs)`. Idempotent."""
    found = _listeners.setdefault(event, [])
    if listener not in found:
        found.append(listener)


def listeners(event: str) -> list[Listener]:
    return list(_listeners.get(event, []))


def emit_on_commit(event: str, **kwargs: Any) -> None:
    """Queue `event` for the listeners; they run after the surrounding transaction commits."""
    if event in _listeners:
        transaction.on_commit(partial(_emit, event, kwargs))


def _emit(event: str, kwargs: dict[str, Any]) -> None:
    for listener in listeners(event):
        try:
            with transaction.atomic():
                listener(**kwargs)
        except Exception:
            log.exception("hooks: listener %r of %s failed (%r)", listener, event, kwargs)
