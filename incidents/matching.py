"""Which handling guide and which auto-diversion rule apply to a call: pure functions over rows already
read (or any objects with the same attributes), tested without a database (tests/incidents/test_matching.py).
The reads are selectors.guide_for and selectors.rule_for."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time
from typing import Any, Protocol, TypeVar


class Guide(Protocol):
    category_prefix: str
    level: int | None


G = TypeVar("G", bound=Guide)


def best_guide(guides: Iterable[G], category: str, level: int) -> G | None:
    """As the SLA policy matches (services.sla_for): the longest matching category prefix wins, then a guide
    for this level over one for any level."""
    best: tuple[tuple[int, bool], G] | None = None
    for g in guides:
        if g.category_prefix and not category.startswith(g.category_prefix):
            continue
        if g.level is not None and g.level != level:
            continue
        score = (len(g.category_prefix), g.level is not None)
        if best is None or score > best[0]:
            best = (score, g)
    return best[1] if best else None


def in_window(at: datetime, start: time | None, end: time | None, weekdays: str = "") -> bool:
    """Whether local time `at` lies in [start, end) on one of `weekdays` (ISO digits, "" = every day).

    A window whose end is before its start wraps midnight (22:00–06:00); its early hours belong to the day
    the window began, so "Friday 22:00–06:00" holds Saturday 02:00 and not Friday 02:00. No window (both
    None), or start == end: the whole day."""
    t = at.time()  # the wall-clock time, without its zone
    day = at.isoweekday()
    if start is not None and end is not None and start != end:
        if start < end:
            if not start <= t < end:
                return False
        elif t >= start:
            pass
        elif t < end:
            day = day - 1 or 7  # after midnight: yesterday's window
        else:
            return False
    return not weekdays or str(day) in weekdays


class Rule(Protocol):
    pk: Any
    category_prefix: str
    start: time | None
    end: time | None
    weekdays: str
    priority: int
    active: bool


R = TypeVar("R", bound=Rule)


def rule_matches(rule: Rule, *, category: str, at: datetime, org_path: str, place_path: str | None) -> bool:
    """`place_path`: the path of the rule's place org (None: anywhere); the incident's responsible org must
    lie in its subtree (materialised paths: a prefix)."""
    if not rule.active:
        return False
    if rule.category_prefix and not category.startswith(rule.category_prefix):
        return False
    if place_path is not None and not org_path.startswith(place_path):
        return False
    return in_window(at, rule.start, rule.end, rule.weekdays)


def best_rule(rules: Iterable[tuple[R, str | None]], *, category: str, at: datetime, org_path: str) -> R | None:
    """The matching rule of the highest priority; on a tie the longer category prefix, then the older rule.
    `rules`: (rule, its place's path or None)."""
    found = [r for r, place in rules if rule_matches(r, category=category, at=at, org_path=org_path, place_path=place)]
    if not found:
        return None
    return max(found, key=lambda r: (r.priority, len(r.category_prefix), -int(r.pk or 0)))
