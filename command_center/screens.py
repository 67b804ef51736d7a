"""What higher apps add to the live screens' state, without the screens importing them.

The dispatch app serves the board's and the station inbox's state (`GET /api/board/`, `/api/board/inbox/`),
but the loop's tasks (intel) and the reminders, 督办 orders and watch list (supervision) sit above dispatch:
arrows point down (docs/architecture.md). So the higher app names what it adds to a screen in its AppConfig.ready,
and the screen asks this registry while it builds its state — inside the same request, after the group
`seq` was read, so the contributed rows keep the screen's reload protocol (no push older than `seq` is
missing from them).

    # intel/apps.py
    screens.provide(screens.INBOX, "tasks", selectors.inbox_tasks)

    # dispatch/board.py
    state.update(screens.collect(screens.INBOX, user))

A field may be contributed by one app only; `alerts` are the exception: every contributor's alerts join the
screen's own (`collect_alerts`). An alert may name the deadline it stands for (`covers`): the screen then
drops its generic breach alert of that deadline (a reminder 催办 says more than "overdue").

Labels (names the page's scripts show, translated) are contributed the same way (`provide_labels`).

A page of one subject shows panels the apps above add (`provide_panel`): the incident page (incidents)
shows dispatch's orders with 撤派 and 改派. A panel is a template of the contributing app and its context.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.utils.translation import gettext as _

BOARD = "board"
INBOX = "inbox"
# The intake page (incidents) after a save: dispatch adds the recommendations and the dispatch call.
INTAKE = "intake"
# The big screen's numbers (dispatch, GET /api/board/stats/): supervision adds today's measures.
WALL = "wall"
# The incident page (incidents): dispatch adds its orders panel (provide_panel).
INCIDENT_PAGE = "incident"

Provider = Callable[[Any], Any]

_fields: dict[tuple[str, str], Provider] = {}
_alerts: dict[str, list[Provider]] = {}
_labels: dict[str, list[Callable[[], dict[str, Any]]]] = {}
Panel = Callable[[Any, int], "dict[str, Any] | None"]
_panels: dict[str, list[Panel]] = {}


def provide(screen: str, field: str, fn: Provider) -> None:
    """`fn(user)` fills `field` of `screen`'s state. Registering the same function again is a no-op."""
    key = (screen, field)
    if key in _fields and _fields[key] is not fn:
        raise ValueError(f"screens: {screen}.{field} is already provided by {_fields[key]!r}")
    _fields[key] = fn


def provide_alerts(screen: str, fn: Provider) -> None:
    """`fn(user)` returns alerts for `screen`'s strip: dicts with `key`, `kind`, `at`, `text`, and optionally
    `covers` (a deadline id whose generic breach alert this one replaces)."""
    found = _alerts.setdefault(screen, [])
    if fn not in found:
        found.append(fn)


def provide_labels(screen: str, fn: Callable[[], dict[str, Any]]) -> None:
    """`fn()` returns names for the page's scripts (called per request, in the request's language)."""
    found = _labels.setdefault(screen, [])
    if fn not in found:
        found.append(fn)


def collect(screen: str, user: Any) -> dict[str, Any]:
    """Every contributed field of `screen` for `user`, in registration order."""
    return {field: fn(user) for (s, field), fn in _fields.items() if s == screen}


def collect_alerts(screen: str, user: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for fn in _alerts.get(screen, []):
        out.extend(fn(user))
    return out


def labels(screen: str) -> dict[str, Any]:
    """The contributed labels of `screen`, merged (a later contributor's `t` strings join the earlier ones)."""
    merged: dict[str, Any] = {}
    for fn in _labels.get(screen, []):
        for k, v in fn().items():
            if isinstance(v, dict) and isinstance(merged.get(k), dict):
                merged[k] = {**merged[k], **v}
            else:
                merged[k] = v
    return merged


def provide_panel(page: str, fn: Panel) -> None:
    """`fn(user, subject_id)` returns a panel for `page` — a dict with `template` (the contributing app's
    template, included with the dict as `panel`) and what it draws — or None when it has nothing to show
    this user."""
    found = _panels.setdefault(page, [])
    if fn not in found:
        found.append(fn)


def panels(page: str, user: Any, subject_id: int) -> list[dict[str, Any]]:
    """The contributed panels of `page` for `user` and the subject, in registration order."""
    return [p for fn in _panels.get(page, []) if (p := fn(user, subject_id)) is not None]


def provided(screen: str) -> list[str]:
    """The field names contributed to `screen` (for the schema and the tests)."""
    return [field for (s, field) in _fields if s == screen]


def live_labels() -> dict[str, str]:
    """What a live page's status line says (static/js/live.js `follow`), in the request's language."""
    return {
        "offline": _("Offline — reconnecting"),
        "syncing": _("Loading…"),
        "live": _("Live"),
        "caught_up": _("Caught up"),
        "gap": _("Missed updates — reloading"),
    }
