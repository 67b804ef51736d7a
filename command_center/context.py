"""Template context: the navigation a person sees, by role. URL names only: the kernel imports no app."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from .models import Role
from .orgs import person_of

# (title, url name, roles that see it)
NAV: list[tuple[Any, str, set[Role]]] = [
    (_("Take a call"), "incidents:intake", {Role.CALL_TAKER, Role.DUTY_OFFICER, Role.COMMANDER, Role.STATION_OFFICER}),
    (_("Dispatch board"), "dispatch:board", {Role.CALL_TAKER, Role.DUTY_OFFICER, Role.COMMANDER}),
    (_("Station inbox"), "dispatch:inbox", {Role.STATION_OFFICER}),
    (_("Unit status"), "dispatch:units", {Role.DUTY_OFFICER, Role.COMMANDER, Role.STATION_OFFICER}),
    (_("Incidents"), "incidents:list", {r for r in Role if r not in (Role.PARTNER, Role.VOLUNTEER)}),
    (_("Diversion inbox"), "incidents:partner-inbox", {Role.PARTNER, Role.DUTY_OFFICER, Role.COMMANDER}),
    (_("Volunteer reports (社情)"), "community:triage", {Role.STATION_OFFICER, Role.DUTY_OFFICER, Role.COMMANDER}),
    (_("My reports (平安义警)"), "community:volunteer", {Role.VOLUNTEER}),
    (_("Sentiment (网情)"), "sentiment:monitor", {Role.ANALYST, Role.COMMANDER, Role.DUTY_OFFICER, Role.SUPERVISOR}),
    (_("Hotspots"), "intel:hotspots", {Role.ANALYST, Role.COMMANDER}),
    (_("Analysis workspace"), "intel:workspace", {Role.ANALYST, Role.COMMANDER, Role.DUTY_OFFICER, Role.SUPERVISOR}),
    (_("Supervision desk"), "supervision:review", {Role.SUPERVISOR, Role.COMMANDER}),
    (_("Measures"), "supervision:measures", {Role.SUPERVISOR, Role.COMMANDER, Role.DUTY_OFFICER, Role.ANALYST}),
    (_("Scores"), "supervision:scores", {Role.SUPERVISOR, Role.COMMANDER, Role.STATION_OFFICER}),
    (_("Inspection (数字督察)"), "supervision:inspection", {Role.SUPERVISOR, Role.COMMANDER}),
    (_("Feedback review"), "supervision:feedback", {Role.SUPERVISOR, Role.COMMANDER}),
    (_("Feedback rectification"), "supervision:feedback-rework", {Role.STATION_OFFICER}),
    (_("Big screen"), "dispatch:wall", {Role.COMMANDER}),
    (_("Bulletins"), "supervision:bulletins", {Role.SUPERVISOR, Role.COMMANDER, Role.STATION_OFFICER}),
    (_("Daily reports"), "briefing:reports", {Role.ANALYST, Role.COMMANDER, Role.DUTY_OFFICER, Role.SUPERVISOR}),
    (_("Duty log"), "briefing:duty", {Role.STATION_OFFICER}),
]


# Where each role works, first match wins (a commander who also takes calls lands on the board). The home
# page sends a person there after login; a role without a screen of its own (volunteer) stays on the home
# page, which says what that role can do.
LANDING: list[tuple[str, set[Role]]] = [
    ("dispatch:board", {Role.COMMANDER}),
    ("incidents:intake", {Role.CALL_TAKER, Role.DUTY_OFFICER}),
    ("dispatch:inbox", {Role.STATION_OFFICER}),
    ("supervision:review", {Role.SUPERVISOR}),
    ("incidents:partner-inbox", {Role.PARTNER}),
    ("intel:workspace", {Role.ANALYST}),
]


def landing_url(user: Any) -> str | None:
    """The URL of the screen `user` works on, or None (no role with a screen: the home page)."""
    person = person_of(user)
    roles = set(person.roles) if person else set()
    for name, allowed in LANDING:
        if roles & {str(r) for r in allowed}:
            try:
                return reverse(name)
            except NoReverseMatch:
                continue
    return None


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav": []}
    person = person_of(user)
    roles = set(person.roles) if person else set()
    items: list[dict[str, Any]] = []
    for title, name, allowed in NAV:
        if user.is_superuser or roles & {str(r) for r in allowed}:
            try:
                items.append({"title": title, "url": reverse(name), "active": False})
            except NoReverseMatch:
                continue
    # The longest matching prefix is the current page (/incidents/intake/ is not also /incidents/).
    current = max((i for i in items if request.path.startswith(i["url"])), key=lambda i: len(i["url"]), default=None)
    if current:
        current["active"] = True
    return {"nav": items}


def realtime(request: HttpRequest) -> dict[str, Any]:
    """WS_URL: the base of WebSocket URLs for pages ('' = the page's own origin); SERVER_TIME_ZONE: the zone
    live screens write times in (static/js/fmt.js), whatever zone the browser's machine is set to;
    CLOCK_LABELS: each clock kind's label in the reader's language (a push carries the label in the
    language of whoever caused it; fmt.js names the clock by its kind instead)."""
    from django.conf import settings

    from . import clocks

    return {
        "WS_URL": settings.WS_PUBLIC_URL,
        "SERVER_TIME_ZONE": settings.TIME_ZONE,
        "CLOCK_LABELS": {name: str(k.label) for name, k in clocks.registered().items()},
    }
