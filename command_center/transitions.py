"""Helpers every app's `transitions.py` uses: a state table is data, `next_state` is pure."""

from __future__ import annotations

from collections.abc import Mapping


class InvalidTransition(Exception):
    """The subject's state does not allow the event. The API answers 409 with the allowed events."""

    def __init__(self, state: str, event: str, allowed: list[str]):
        super().__init__(f"{event!r} is not allowed in state {state!r}")
        self.state, self.event, self.allowed = state, event, allowed


Table = Mapping[str, Mapping[str, str]]  # state -> {event: next state}


def next_state(table: Table, state: str, event: str) -> str:
    """The state `event` leads to from `state`, or InvalidTransition."""
    try:
        return table[state][event]
    except KeyError:
        raise InvalidTransition(state, event, allowed_events(table, state)) from None


def allowed_events(table: Table, state: str) -> list[str]:
    return sorted(table.get(state, {}))
