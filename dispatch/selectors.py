"""Reads that are more than a filter: unit recommendation, who is on duty, the commander of the day (the
clocks of a page of orders: `clocks.overdue(DispatchOrder, ids)`). Every query that returns units, orders or
shifts goes through `orgs.restrict`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from command_center import orgs, words
from command_center.models import Org
from incidents.models import Incident
from incidents.selectors import EARTH_M, command_center_of, distance_m

from .models import DispatchOrder, OrderTransition, Shift, Unit
from .transitions import ORDER_EVENT_LABELS


def visible_units(user: Any) -> QuerySet[Unit]:
    return orgs.restrict(Unit.objects.all(), user)


def visible_orders(user: Any) -> QuerySet[DispatchOrder]:
    """Orders addressed to the caller's subtree (a station sees its own, the command centers above see all
    of theirs)."""
    return orgs.restrict(DispatchOrder.objects.all(), user)


def visible_shifts(user: Any) -> QuerySet[Shift]:
    return orgs.restrict(Shift.objects.all(), user)


# --- Recommendation -------------------------------------------------------------------------------------

# Travel-time model: ETA = turnout + straight-line distance × ROAD_FACTOR / speed. Urban speeds with lights
# and traffic, not top speeds; a post's officers go by e-bike (电动车), groups and foot patrols walk briskly.
# The road factor turns the straight line into a street route (a typical grid city's detour index).
SPEED_KMH: dict[str, float] = {
    Unit.Kind.PATROL_CAR: 30.0,
    Unit.Kind.MOTORBIKE: 25.0,
    Unit.Kind.POST: 15.0,
    Unit.Kind.FOOT_PATROL: 5.0,
    Unit.Kind.OFFICER_GROUP: 5.0,
}
TURNOUT_S: dict[str, int] = {
    Unit.Kind.PATROL_CAR: 30,
    Unit.Kind.MOTORBIKE: 20,
    Unit.Kind.POST: 30,
    Unit.Kind.FOOT_PATROL: 0,
    Unit.Kind.OFFICER_GROUP: 30,
}
ROAD_FACTOR = 1.3
# A position older than this is shown as stale (still ranked: it is the best we know).
STALE_POSITION = timedelta(minutes=10)
# The search box grows until it holds enough units; the last step drops the box.
SEARCH_RADII_M: tuple[float | None, ...] = (3_000.0, 10_000.0, 30_000.0, 100_000.0, None)
MAX_LIMIT = 50


def eta_seconds(kind: str, distance: float) -> int:
    speed_ms = SPEED_KMH.get(kind, 5.0) * 1000 / 3600
    return round(TURNOUT_S.get(kind, 0) + distance * ROAD_FACTOR / speed_ms)


def capability_keys(category_code: str) -> list[str]:
    """The capability values that admit `category_code`: each of its beginnings ("0", "02", … "020501"),
    plus its ancestors' full codes ("020000", "020500"), so a unit set up with a full code of a
    top-level category or a type takes everything under it."""
    code = category_code.strip()
    keys = {code[:k] for k in range(1, len(code) + 1)}
    if len(code) == 6:
        keys |= {code[:2] + "0000", code[:4] + "00", code[:5] + "0"}
    return sorted(keys)


@dataclass
class Recommendation:
    unit: Unit
    distance_m: float | None  # None: the incident has no position (no_position)
    eta_s: int | None
    within_ring: bool  # the estimate is inside the unit's quick-response ring
    stale: bool  # the position is older than STALE_POSITION
    no_position: bool = False  # the incident has no position: the owning station's unit, not ranked by distance

    def as_dict(self) -> dict[str, Any]:
        u = self.unit
        return {
            "unit": {
                "id": u.pk,
                "call_sign": u.call_sign,
                "kind": u.kind,
                "org": u.org_id,
                "org_name": u.org.name,
                "ring_minutes": u.ring_minutes,
                "capabilities": list(u.capabilities),
                "status": u.status,
                "lat": u.lat,
                "lon": u.lon,
                "position_at": u.position_at,
                "version": u.version,
            },
            "distance_m": None if self.distance_m is None else round(self.distance_m),
            "eta_s": self.eta_s,
            "within_ring": self.within_ring,
            "stale": self.stale,
            "no_position": self.no_position,
        }


def _box(lat: float, lon: float, radius_m: float) -> Q:
    dlat = math.degrees(radius_m / EARTH_M)
    dlon = math.degrees(radius_m / (EARTH_M * max(math.cos(math.radians(lat)), 0.01)))
    return Q(lat__gte=lat - dlat, lat__lte=lat + dlat, lon__gte=lon - dlon, lon__lte=lon + dlon)


def recommend_units(
    user: Any,
    *,
    lat: float,
    lon: float,
    category_code: str,
    limit: int = 10,
    now: datetime | None = None,
) -> list[Recommendation]:
    """The nearest units `user` may dispatch that are available and may take `category_code`, nearest first.

    Never a unit that is not available (en route, on scene, busy, off duty, out of service) or that has no
    position. Steps: in SQL, available + in the caller's subtree + capable + inside a bounding box around
    the position (the partial index on available units' lat/lon); in Python, the exact great-circle
    distance. When fewer than `limit` units lie within the box's radius, the box grows (SEARCH_RADII_M): a
    unit outside the box is farther than the radius, so the order is exact.
    """
    limit = max(1, min(limit, MAX_LIMIT))
    now = now or timezone.now()
    base = visible_units(user).filter(status=Unit.Status.AVAILABLE, lat__isnull=False, lon__isnull=False)
    base = base.filter(Q(capabilities=[]) | Q(capabilities__overlap=capability_keys(category_code)))
    ranked: list[tuple[float, int, str]] = []
    for radius in SEARCH_RADII_M:
        qs = base if radius is None else base.filter(_box(lat, lon, radius))
        rows = cast(list[tuple[int, float, float, str]], list(qs.values_list("id", "lat", "lon", "kind")))
        ranked = sorted((distance_m(lat, lon, ulat, ulon), uid, kind) for uid, ulat, ulon, kind in rows)
        inside = ranked if radius is None else [r for r in ranked if r[0] <= radius]
        if len(inside) >= limit or radius is None:
            ranked = inside[:limit]
            break
    units = Unit.objects.select_related("org").in_bulk([uid for _, uid, _ in ranked])
    out = []
    for d, uid, kind in ranked:
        u = units[uid]
        eta = eta_seconds(kind, d)
        out.append(
            Recommendation(
                unit=u,
                distance_m=d,
                eta_s=eta,
                within_ring=eta <= u.ring_minutes * 60,
                stale=u.position_at is None or now - u.position_at > STALE_POSITION,
            )
        )
    return out


@dataclass
class Origin:
    lat: float
    lon: float
    source: str  # "incident": its own position; "org": the responsible org's, the incident has none


def origin_of(incident: Incident) -> Origin | None:
    if incident.lat is not None and incident.lon is not None:
        return Origin(incident.lat, incident.lon, "incident")
    org = incident.org
    if org.lat is not None and org.lon is not None:
        return Origin(org.lat, org.lon, "org")
    return None


def recommend_for_incident(
    user: Any, incident: Incident, *, limit: int = 10
) -> tuple[Origin | None, list[Recommendation]]:
    """Recommendation around the incident's position for its category. An incident without a position gets
    no distance ranking (a station's coordinates are not where the caller is): the available, capable units
    of its owning org (and below), each marked `no_position`, and no origin."""
    origin = origin_of(incident)
    if origin is None:
        return None, []
    if origin.source != "incident":
        return None, owning_units(user, incident, limit=limit)
    return origin, recommend_units(
        user, lat=origin.lat, lon=origin.lon, category_code=incident.category_id, limit=limit
    )


def owning_units(user: Any, incident: Incident, *, limit: int = 10) -> list[Recommendation]:
    """The available units of the incident's org (its subtree) that may take its category, in call-sign
    order: what the desk can send when it does not know where the caller is."""
    limit = max(1, min(limit, MAX_LIMIT))
    qs = visible_units(user).filter(status=Unit.Status.AVAILABLE, org__path__startswith=incident.org.path)
    qs = qs.filter(Q(capabilities=[]) | Q(capabilities__overlap=capability_keys(incident.category_id)))
    now = timezone.now()
    return [
        Recommendation(
            unit=u,
            distance_m=None,
            eta_s=None,
            within_ring=False,
            stale=u.position_at is None or now - u.position_at > STALE_POSITION,
            no_position=True,
        )
        for u in qs.select_related("org").order_by("call_sign", "id")[:limit]
    ]


# --- Roster ---------------------------------------------------------------------------------------------


def on_duty(org: Org, *, at: datetime | None = None, subtree: bool = False) -> QuerySet[Shift]:
    """Shifts running at `at` (now) at `org` (and below it with `subtree`)."""
    at = at or timezone.now()
    qs = Shift.objects.filter(starts_at__lte=at, ends_at__gt=at)
    qs = qs.filter(org__path__startswith=org.path) if subtree else qs.filter(org=org)
    return qs.select_related("person__user", "org", "unit").order_by("org__path", "starts_at", "id")


def commander_of_day(org: Org, *, at: datetime | None = None) -> Shift | None:
    """The commander of the day (值班长) of the command center `org` belongs to, at `at` (now). Of two
    overlapping commander shifts (a handover), the one that started last."""
    at = at or timezone.now()
    center = command_center_of(org)
    return (
        Shift.objects.filter(org=center, is_commander=True, starts_at__lte=at, ends_at__gt=at)
        .select_related("person__user", "org", "unit")
        .order_by("-starts_at", "-id")
        .first()
    )


def incidents_held_by(org: Org) -> QuerySet[Any]:
    """The incidents (ids) `org` holds an order for, live or finished (not one it sent back or that was
    called off): it may read them and file their feedback, whatever area they belong to (orgs.add_reach)."""
    return (
        DispatchOrder.objects.filter(org=org)
        .exclude(state__in=[DispatchOrder.State.RETURNED, DispatchOrder.State.CANCELLED])
        .values("incident_id")
    )


def incident_order_steps(incident_id: int, user: Any) -> list[dict[str, Any]]:
    """The steps of an incident's dispatch orders, for its timeline (words.provide_timeline): who did what
    to which station's order, in words. The caller already reads the incident (its page and API check)."""
    steps: list[dict[str, Any]] = []
    for t in (
        OrderTransition.objects.filter(subject__incident_id=incident_id)
        .select_related("subject__org", "subject__unit", "actor__person__org")
        .order_by("at", "pk")
    ):
        o = t.subject
        steps.append(
            {
                "type": "order",
                "at": t.at,
                "order": o.pk,
                "order_org": o.org.name,
                "unit": o.unit.call_sign if o.unit else "",
                "from": t.from_state,
                "to": t.to_state,
                "to_label": str(DispatchOrder.State(t.to_state).label)
                if t.to_state in DispatchOrder.State
                else t.to_state,
                "event": t.event,
                "event_label": words.event_label(ORDER_EVENT_LABELS, t.event),
                **words.who(t.actor),
                "reason": t.reason,
            }
        )
    return steps


def describe_orders(ids: list[int]) -> dict[int, dict[str, Any]]:
    """A dispatch order as a supervisor reads it in a list (words.provide_subject): its incident's number,
    the unit (or the station) and the address, the station, and the incident's page."""
    rows = DispatchOrder.objects.filter(pk__in=ids).values_list(
        "pk", "incident_id", "incident__number", "incident__address", "unit__call_sign", "org__name"
    )
    return {
        pk: {
            "title": number,
            "detail": " · ".join(x for x in (call_sign, address) if x),
            "org_name": org,
            "url": reverse("incidents:detail", args=[incident_id]),
            "incident": incident_id,
        }
        for pk, incident_id, number, address, call_sign, org in rows
    }
