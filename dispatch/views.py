"""The live screens: the dispatch board (指挥调度台), the station inbox (派出所接收岗, phone-sized) and the big
screen (一屏展). Each page is a shell: it loads its state over REST (board_api.py), follows /ws/board/, and
acts through the API (static/js/board.js, inbox.js, wall.js), so pages and API share one write path.

Who opens what: call-takers, duty officers and commanders the board; station officers the inbox (the
board and the big screen send them there); commanders, duty officers, supervisors and analysts the big
screen. Anyone else gets 403.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from command_center import orgs, screens
from command_center.models import HandlingResult, Role
from incidents.models import State as IncidentState

from . import selectors
from .board import URGENCY
from .models import DispatchOrder, Unit
from .services import ORDER_CLOCKS, UNIT_ROLES
from .transitions import MANUAL_EVENTS

BOARD_PAGE_ROLES = [Role.CALL_TAKER, Role.DUTY_OFFICER, Role.COMMANDER]
INBOX_PAGE_ROLES = [Role.STATION_OFFICER]
WALL_PAGE_ROLES = [Role.COMMANDER, Role.DUTY_OFFICER, Role.SUPERVISOR, Role.ANALYST]

DEFAULT_CENTER = (30.2741, 120.1551)


def _has(request: HttpRequest, roles: Sequence[str]) -> bool:
    if request.user.is_superuser:
        return True
    person = orgs.person_of(request.user)
    return person is not None and person.has_role(*roles)


def _map_center(request: HttpRequest) -> tuple[float, float]:
    """The caller's org's position, or the first placed org of their area, or the default."""
    person = orgs.person_of(request.user)
    if person is not None and person.org.lat is not None and person.org.lon is not None:
        return person.org.lat, person.org.lon
    placed = orgs.visible_orgs(request.user).filter(lat__isnull=False, lon__isnull=False).order_by("path").first()
    if placed is not None and placed.lat is not None and placed.lon is not None:
        return placed.lat, placed.lon
    return DEFAULT_CENTER


def _labels(screen: str | None = None) -> dict[str, Any]:
    """Names the scripts show, in the page's language, with what the apps above add to `screen`
    (command_center.screens: the loop's task states, reminders)."""
    own: dict[str, Any] = {
        "incident_state": {s.value: str(s.label) for s in IncidentState},
        "order_state": {s.value: str(s.label) for s in DispatchOrder.State},
        "order_kind": {s.value: str(s.label) for s in DispatchOrder.Kind},
        "unit_status": {s.value: str(s.label) for s in Unit.Status},
        "unit_kind": {s.value: str(s.label) for s in Unit.Kind},
        "clock": {k: str(v) for k, v in ORDER_CLOCKS.items()},
        "t": {
            **screens.live_labels(),
            "sound_on": _("Sound on"),
            "sound_off": _("Sound off"),
            "sound_enable": _("Tap to enable sound"),
            "no_incidents": _("No open incidents."),
            "no_orders": _("No orders yet."),
            "no_alerts": _("No alerts."),
            "no_recommendations": _("No available unit can take this category nearby."),
            "pick_incident": _("Pick an incident in the queue (↑ ↓)."),
            "recommendations": _("Recommended units"),
            "dispatch_unit": _("Dispatch unit"),
            "dispatch_station": _("To station"),
            "dispatched": _("Dispatched"),
            "failed": _("Not done"),
            "breach": _("Overdue"),
            "returned": _("Order returned"),
            "repeat": _("Repeat"),
            "sign": _("Sign"),
            "arrive": _("Arrived on scene"),
            "feedback": _("Feedback"),
            "submit_feedback": _("File feedback and finish"),
            "return": _("Return the order"),
            "return_reason": _("Why is it returned?"),
            "within_ring": _("in ring"),
            "outside_ring": _("outside ring"),
            "stale": _("position stale"),
            "no_position": _("no position: the owning station's unit"),
            "min": _("min"),
            "orders": _("Orders"),
            "ago": _("ago"),
            "sent": _("sent"),
            "finished_today": _("Finished today"),
            "open_detail": _("Open the incident"),
            "duplicates": _("Repeat calls"),
            "dispatching": _("Dispatching"),
            "send_now": _("Send now (Enter)"),
            "undo": _("Undo (Esc)"),
            "undone": _("Dispatch undone."),
        },
    }
    if screen is None:
        return own
    extra = screens.labels(screen)
    return {**own, **{k: v for k, v in extra.items() if k != "t"}, "t": {**own["t"], **extra.get("t", {})}}


def intake_labels() -> dict[str, Any]:
    """What the intake page (incidents) needs to dispatch the call it just saved: the recommendation and
    dispatch endpoints (`0` stands for the incident's id) and the names its script shows."""
    return {
        "dispatch": {
            "recommend_url": reverse("incident-recommendations", args=[0]),
            "dispatch_url": reverse("incident-dispatch", args=[0]),
        },
        "unit_kind": {s.value: str(s.label) for s in Unit.Kind},
        "t": {
            "recommendations": _("Recommended units"),
            "no_recommendations": _("No available unit can take this category nearby."),
            "dispatch_unit": _("Dispatch unit"),
            "dispatch_station": _("To station"),
            "dispatched": _("Dispatched"),
            "within_ring": _("in ring"),
            "outside_ring": _("outside ring"),
            "stale": _("position stale"),
            "min": _("min"),
            # The keys' 5-second undo bar (static/js/undo.js), as on the board.
            "dispatching": _("Dispatching"),
            "send_now": _("Send now (Enter)"),
            "undo": _("Undo (Esc)"),
            "undone": _("Dispatch undone."),
        },
    }


def _context(request: HttpRequest, screen: str | None = None) -> dict[str, Any]:
    lat, lon = _map_center(request)
    person = orgs.person_of(request.user)
    return {
        "tile_url": settings.MAP_TILE_URL,
        "center_lat": lat,
        "center_lon": lon,
        "org_name": person.org.name if person else "",
        "screen_labels": _labels(screen),
        "urgency": URGENCY,  # the queue's order, which static/js/boardmodel.js ranks by (board.py)
    }


@login_required
def board(request: HttpRequest) -> HttpResponse:
    if not _has(request, BOARD_PAGE_ROLES):
        if _has(request, INBOX_PAGE_ROLES):
            return redirect("dispatch:inbox")
        raise PermissionDenied
    return render(request, "dispatch/board.html", _context(request, screens.BOARD))


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    if not _has(request, INBOX_PAGE_ROLES):
        if _has(request, BOARD_PAGE_ROLES):
            return redirect("dispatch:board")
        raise PermissionDenied
    context = _context(request, screens.INBOX)
    context["results"] = HandlingResult.objects.filter(active=True)
    return render(request, "dispatch/inbox.html", context)


@login_required
def wall(request: HttpRequest) -> HttpResponse:
    if not _has(request, WALL_PAGE_ROLES):
        if _has(request, INBOX_PAGE_ROLES):
            return redirect("dispatch:inbox")
        raise PermissionDenied
    return render(request, "dispatch/wall.html", _context(request, screens.WALL))


UNITS_PAGE_ROLES = UNIT_ROLES


@login_required
def units(request: HttpRequest) -> HttpResponse:
    """The units of the caller's area with their status; a duty officer or the unit's station sets one
    available, busy, off duty or out of service, saying why (a unit on an order moves with its order)."""
    if not _has(request, UNITS_PAGE_ROLES):
        raise PermissionDenied
    rows = list(selectors.visible_units(request.user).select_related("org").order_by("org__path", "call_sign"))
    status = request.GET.get("status", "")
    if status in Unit.Status.values:
        rows = [u for u in rows if u.status == status]
    choices = [(s, label) for s, label in Unit.Status.choices if s in MANUAL_EVENTS]
    return render(
        request,
        "dispatch/units.html",
        {"units": rows, "statuses": Unit.Status.choices, "status": status, "manual": choices},
    )
