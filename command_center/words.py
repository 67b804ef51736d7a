"""Who did what, in words a person reads: "东湖派出所 张三 签收", not `station1 sign`.

`who(user)` names the actor by their display name and their org's name. A log row's event is named by the
owning app's labels, kept beside its state table as data (`EVENT_LABELS` in each app's transitions.py), and
read through `event_label` in the active language.

A timeline may hold another app's log: the incident's shows its dispatch orders' steps, and dispatch sits
above incidents. So, as with `screens`, the higher app registers what it adds (`provide_timeline`, in its
AppConfig.ready) and the page asks this registry (`collect_timeline`): arrows keep pointing down.

A list of clocks (the overdue list) names each clock's subject — "dispatch order #23" tells a supervisor
nothing. The app that owns a model says how its rows read (`provide_subject`): a title, a detail line, the
org, and the page to open; the list asks `describe`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.utils.functional import Promise

Entries = Callable[[int, Any], list[dict[str, Any]]]

_timeline: dict[str, list[Entries]] = {}
# ids → {id: {"title", "detail", "org_name", "url"}}: how a model's rows read in a list (provide_subject).
Describer = Callable[[list[int]], dict[int, dict[str, Any]]]
_subjects: dict[str, Describer] = {}


def who(user: Any) -> dict[str, str]:
    """`actor`: the person's display name (the username if they have none); `actor_org`: their org's name.
    Both empty for the system (a log row without an actor: a sweep, a hook)."""
    if user is None:
        return {"actor": "", "actor_org": ""}
    try:
        person = user.person  # with the log row, when it was read with select_related("actor__person__org")
    except ObjectDoesNotExist:
        person = None
    if person is None:
        return {"actor": user.get_username(), "actor_org": ""}
    return {"actor": str(person), "actor_org": person.org.name}


def event_label(labels: Mapping[str, str | Promise], event: str) -> str:
    """An event's name for people, in the active language; the code itself if the table has no label."""
    label = labels.get(event)
    return str(label) if label is not None else event


def provide_timeline(subject: str, fn: Entries) -> None:
    """`fn(subject_id, user)` returns timeline entries (dicts with at least `type` and `at`) for a subject
    named "app_label.model" ("incidents.incident"). Registering the same function again is a no-op."""
    found = _timeline.setdefault(subject, [])
    if fn not in found:
        found.append(fn)


def collect_timeline(subject: str, subject_id: int, user: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for fn in _timeline.get(subject, []):
        out.extend(fn(subject_id, user))
    return out


def provide_subject(model: str, fn: Describer) -> None:
    """`fn(ids)` says how rows of `model` ("app_label.model") read in a list: for each id found, `title`
    (an incident's number, a task's title), `detail` (an address, a unit), `org_name` and `url` (the page
    to open). One describer per model."""
    if model in _subjects and _subjects[model] is not fn:
        raise ValueError(f"words: {model} is already described by {_subjects[model]!r}")
    _subjects[model] = fn


def describe(model: str, ids: list[int]) -> dict[int, dict[str, Any]]:
    """The rows of `model` with these ids as a person reads them; {} for a model nobody describes."""
    fn = _subjects.get(model)
    return fn(ids) if fn is not None and ids else {}
