"""What dispatch adds to other apps' pages (command_center.screens.provide_panel): the incident page's
orders, with 撤派 and 改派 for the command center. The page (incidents) includes the template; every action
is a call to the orders API (static/js/incidents.js's action forms), so page and API share one write path."""

from __future__ import annotations

from typing import Any

from command_center import orgs
from command_center.models import Org
from incidents import selectors as incident_selectors

from . import selectors
from .models import DispatchOrder
from .services import DISPATCH_ROLES

# The orders a desk may still call off or hand to another unit: until the unit is on scene.
CORRECTABLE = [DispatchOrder.State.SENT, DispatchOrder.State.DELIVERED, DispatchOrder.State.SIGNED]


def incident_orders_panel(user: Any, incident_id: int) -> dict[str, Any] | None:
    """The incident's orders the user may read, newest last, each with its unit, station, state and reasons;
    for the command center's roles, what 改派 may send instead: the recommended available units (by
    distance, or the owning station's when the incident has no position) and the stations of the area."""
    incident = incident_selectors.visible_incidents(user).select_related("org").filter(pk=incident_id).first()
    if incident is None:
        return None
    person = orgs.person_of(user)
    may_act = orgs.can_act(user, incident.org) and (
        getattr(user, "is_superuser", False) or (person is not None and person.has_role(*DISPATCH_ROLES))
    )
    orders = list(
        selectors.visible_orders(user)
        .filter(incident_id=incident_id)
        .select_related("org", "unit", "signed_by__person")
        .order_by("sent_at", "pk")
    )
    if not orders and not may_act:
        return None
    units: list[dict[str, Any]] = []
    stations: list[Org] = []
    if may_act and any(o.state in CORRECTABLE for o in orders):
        _origin, recs = selectors.recommend_for_incident(user, incident, limit=10)
        units = [
            {
                "id": r.unit.pk,
                "call_sign": r.unit.call_sign,
                "org_name": r.unit.org.name,
                "km": None if r.distance_m is None else round(r.distance_m / 1000, 1),
            }
            for r in recs
        ]
        stations = list(orgs.visible_orgs(user).filter(level=Org.Level.STATION, kind=Org.Kind.POLICE).order_by("path"))
    return {
        "template": "dispatch/_incident_orders.html",
        "orders": [
            {"order": o, "correctable": may_act and o.state in CORRECTABLE, "unit_id": o.unit_id} for o in orders
        ],
        "may_act": may_act,
        "units": units,
        "stations": stations,
    }
