"""State machines, one step at a time. Every app's `transitions.py` holds its tables as data, checked by the
pure `next_state`; every service takes a step the same way, in its transaction::

    o = transitions.lock(DispatchOrder, order_id, related=["org"])  # FOR UPDATE, the order's row only
    orgs.require(actor, o.org, roles=STATION_ROLES)                  # 403 comes before 409
    transitions.apply(o, ORDER, Event.SIGN, actor)                   # 409, or: log row, new state, version + 1
    o.signed_at = now
    transitions.save(o, "signed_at")                                 # state, version and the step's fields

`apply` does not save: what else the step changes (a time, a signer) goes into the same UPDATE.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from django.db import models

from .audit import acting_user, log_transition


class InvalidTransition(Exception):
    """The subject's state does not allow the event. The API answers 409 with the allowed events."""

    def __init__(self, state: str, event: str, allowed: list[str]):
        super().__init__(f"{event!r} is not allowed in state {state!r}")
        self.state, self.event, self.allowed = state, event, allowed


Table = Mapping[str, Mapping[str, str]]  # state -> {event: next state}

M = TypeVar("M", bound=models.Model)


def next_state(table: Table, state: str, event: str) -> str:
    """The state `event` leads to from `state`, or InvalidTransition."""
    try:
        return table[state][event]
    except KeyError:
        raise InvalidTransition(state, event, allowed_events(table, state)) from None


def allowed_events(table: Table, state: str) -> list[str]:
    return sorted(table.get(state, {}))


def moves(table: Table, state: str, event: str) -> bool:
    """Whether `event` takes `state` somewhere else: allowed, and not one of the self-loops a table lists so
    that it answers "may this happen now?" for events that keep the state."""
    return table.get(state, {}).get(event, state) != state


def _rows(rows: type[M] | models.QuerySet[M], *, related: Sequence[str], no_key: bool) -> models.QuerySet[M]:
    qs = rows._default_manager.all() if isinstance(rows, type) else rows
    # of=("self",): only the subject's row. A FOR UPDATE that reached a joined row — the org behind
    # related=["org"] — would conflict with the key-share lock that every insert pointing at that org takes
    # (a new order, a clock, an incident), and two services working crosswise would deadlock.
    qs = qs.select_for_update(of=("self",), no_key=no_key)
    # Only what is named: select_related() with no names would follow every foreign key.
    return qs.select_related(*related) if related else qs


def lock(rows: type[M] | models.QuerySet[M], pk: Any, *, related: Sequence[str] = (), no_key: bool = False) -> M:
    """Row `pk` of a model (or of a queryset), locked until the transaction ends: the writers of one subject
    take their steps one after the other, each reading the state the one before it left.

    `no_key=True` takes FOR NO KEY UPDATE: it still orders the writers of the row among themselves, yet lets
    rows that merely point at it be inserted meanwhile (a reminder for a task that is being approved)."""
    return _rows(rows, related=related, no_key=no_key).get(pk=pk)


def lock_all(
    rows: type[M] | models.QuerySet[M], pks: Iterable[Any], *, related: Sequence[str] = (), no_key: bool = False
) -> list[M]:
    """The rows with these keys, locked in key order — the one order every service locks several rows of a
    kind in, so two services that lock the same rows never wait on each other in a circle."""
    return list(_rows(rows, related=related, no_key=no_key).filter(pk__in=list(pks)).order_by("pk"))


def apply(
    subject: models.Model,
    table: Table,
    event: str,
    actor: Any,
    *,
    reason: str = "",
    field: str = "state",
    offer: Collection[str] | None = None,
) -> str:
    """One step of `subject`, which the caller has locked: check `event` against `table` (InvalidTransition:
    409), write the log row, set the new state and bump the version. Not saved — `save` writes the state and
    the version together with whatever else the step changes. Returns the new state.

    `field`: the state's field (a unit's is `status`). `offer`: when refused, list only these of the allowed
    events (what the caller may do, not the moves the system makes by itself)."""
    state = getattr(subject, field)
    try:
        new = next_state(table, state, event)
    except InvalidTransition as exc:
        if offer is None:
            raise
        raise InvalidTransition(exc.state, exc.event, [e for e in exc.allowed if e in offer]) from None
    log_transition(subject, from_state=state, to_state=new, event=event, actor=acting_user(actor), reason=reason)
    setattr(subject, field, new)
    subject.version += 1  # type: ignore[attr-defined]  # every subject with a table has a version
    return new


def save(subject: models.Model, *fields: str, field: str = "state") -> None:
    """Write a step: the state, the version and `fields`, in one UPDATE."""
    subject.save(update_fields=[field, "version", *fields])


__all__ = [
    "InvalidTransition",
    "Table",
    "allowed_events",
    "apply",
    "lock",
    "lock_all",
    "moves",
    "next_state",
    "save",
]
