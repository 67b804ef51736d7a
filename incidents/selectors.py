"""Reads that are more than a filter: repeat hints while the call-taker types, list filtering, nearest
station. Every query that returns incidents goes through `orgs.restrict`."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from django.conf import settings
from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from command_center import memo, orgs, prepared
from command_center.models import Category, Org, Role
from places import selectors as places_selectors

from . import matching
from .models import (
    Diversion,
    DiversionProposal,
    DiversionRule,
    HandlingGuide,
    Incident,
    PartnerWebhook,
    RepeatCluster,
    State,
)

EARTH_M = 6_371_000.0
HANDLED = [State.SCENE_CLEARED, State.CLOSED, State.SELF_HANDLED]


# Partners (12345, 综治中心) and volunteers get what they need to act without the caller's number: lists,
# details and exports show it masked (138****8000); repeat hints never match on it for them (a match would
# give the number away digit by digit); boards and pushes never carry it for anyone.
MASKED_ROLES = {Role.PARTNER, Role.VOLUNTEER}


def mask_phone(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 8 else "****"


def sees_phones(user: Any) -> bool:
    """Whether `user` reads callers' numbers in full: anyone with a role beyond partner and volunteer."""
    if getattr(user, "is_superuser", False):
        return True
    person = orgs.person_of(user)
    return bool(person and set(person.roles) - MASKED_ROLES)


# A partner reads an incident while its diversion is open or after it finished it; once it sent the
# diversion back (or the desk voided it), the incident is none of its business any more.
PARTNER_READS = [Diversion.State.PUSHED, Diversion.State.ACCEPTED, Diversion.State.DONE]


def diverted_to(org: Org) -> QuerySet[Any]:
    """The incidents (ids) diverted to `org` that it may still read."""
    return Diversion.objects.filter(partner=org, state__in=PARTNER_READS).values("incident_id")


def visible_diversions(user: Any) -> QuerySet[Diversion]:
    """Diversions `user` may see: those of their subtree's incidents, and those addressed to their org."""
    qs = Diversion.objects.select_related("incident__category", "partner")
    return orgs.restrict(qs, user, org_field="incident__org", addressed_fields=["partner"])


OPEN_DIVERSION_STATES = [Diversion.State.PUSHED, Diversion.State.ACCEPTED]
MAX_INBOX_DIVERSIONS = 200


def inbox_diversions(user: Any, *, now: datetime | None = None) -> list[Diversion]:
    """The partner inbox's rows: every open diversion (pushed, accepted) and those that ended since local
    midnight, newest push first (index diversion_inbox for a partner's own)."""
    local = timezone.localtime(now or timezone.now())
    since = local.replace(hour=0, minute=0, second=0, microsecond=0)
    qs = visible_diversions(user).filter(Q(state__in=OPEN_DIVERSION_STATES) | Q(finished_at__gte=since))
    return list(qs.order_by("-pushed_at", "-id")[:MAX_INBOX_DIVERSIONS])


def visible_incidents(user: Any) -> QuerySet[Incident]:
    """Incidents `user` may see: their subtree's, those diverted to their (partner) org while the diversion
    is open or done, and those other apps address to their org (an order to their station, a task about
    it: orgs.add_reach)."""
    return orgs.restrict(Incident.objects.all(), user, addressed=[diverted_to], reach=True)


def reads_as_partner(user: Any) -> bool:
    """Whether `user` reads incidents only through diversions to their org (a partner agency): then they
    get what a diversion needs and nothing of the police's handling (api.PartnerIncidentSerializer)."""
    if getattr(user, "is_superuser", False):
        return False
    person = orgs.person_of(user)
    return (
        person is not None
        and is_diversion_target(person.org)
        and (person.org.kind == Org.Kind.PARTNER or person.has_role(Role.PARTNER))
    )


def is_diversion_target(org: Org) -> bool:
    """Diversions go to partner agencies and to communities/villages (社区/村), whose people with the
    partner role work them in the partner inbox as an agency does."""
    return org.kind == Org.Kind.PARTNER or org.level == Org.Level.COMMUNITY


def own_webhooks(user: Any) -> QuerySet[PartnerWebhook]:
    """The webhook endpoints a partner's people manage over the API: their own org's, when they hold the
    partner role in an org that receives diversions; nobody else's (the admin manages every one)."""
    person = orgs.person_of(user)
    if person is None or not person.has_role(Role.PARTNER) or not is_diversion_target(person.org):
        return PartnerWebhook.objects.none()
    return PartnerWebhook.objects.filter(partner_id=person.org_id).order_by("pk")


def diversion_targets(user: Any) -> QuerySet[Org]:
    """Where `user`'s desk may divert to: every partner agency, and the communities in their area."""
    communities = orgs.visible_orgs(user).filter(level=Org.Level.COMMUNITY)
    return Org.objects.filter(Q(kind=Org.Kind.PARTNER) | Q(pk__in=communities.values("pk"))).order_by("kind", "path")


# --- Handling guides and auto-diversion rules ---------------------------------------------------------------


def guide_for(category: str, level: int) -> HandlingGuide | None:
    """The current handling guide for a category code and level (matching.best_guide), or None."""
    rows = memo.remember(("incidents.guides",), lambda: list(HandlingGuide.objects.filter(current=True)))
    return matching.best_guide(rows, category, level)


def rule_for(incident: Incident) -> DiversionRule | None:
    """The active auto-diversion rule of the highest priority for `incident` (its category, its call's local
    time, its responsible org), or None."""
    rules = memo.remember(
        ("incidents.diversion_rules",),
        lambda: [
            (r, r.place.path if r.place else None)
            for r in DiversionRule.objects.filter(active=True).select_related("place", "target")
        ],
    )
    return matching.best_rule(
        rules,
        category=incident.category_id,
        at=timezone.localtime(incident.reported_at),
        org_path=incident.org.path,
    )


def open_proposal(user: Any, incident: Incident) -> DiversionProposal | None:
    """The rule proposed for `incident` at intake while the desk may still divert it (none once diverted)."""
    if incident.state != State.RECEIVED or reads_as_partner(user):
        return None
    return DiversionProposal.objects.select_related("rule", "target").filter(incident=incident).first()


def rule_stats(user: Any) -> list[dict[str, Any]]:
    """Every rule with its counters, over the incidents `user` may see: hits (proposed at intake),
    confirmations (diverted by the rule) and returns (the target sent it back)."""
    seen = visible_incidents(user).values("pk")
    proposals = DiversionProposal.objects.filter(incident__in=seen)
    diversions = Diversion.objects.filter(incident__in=seen, rule__isnull=False)
    hits = dict(proposals.values_list("rule").annotate(n=Count("pk")).values_list("rule", "n"))
    confirmed = dict(diversions.values_list("rule").annotate(n=Count("pk")).values_list("rule", "n"))
    returned = dict(
        diversions.filter(state=Diversion.State.RETURNED)
        .values_list("rule")
        .annotate(n=Count("pk"))
        .values_list("rule", "n")
    )
    out = []
    for r in DiversionRule.objects.select_related("place", "target").order_by("-active", "-priority", "name"):
        out.append(
            {
                "id": r.pk,
                "name": r.name,
                "category_prefix": r.category_prefix,
                "window": f"{r.start:%H:%M}–{r.end:%H:%M}" if r.start and r.end else "",
                "weekdays": r.weekdays,
                "place": r.place_id,
                "place_name": r.place.name if r.place else "",
                "target": r.target_id,
                "target_name": r.target.name,
                "priority": r.priority,
                "active": r.active,
                "hits": hits.get(r.pk, 0),
                "confirmed": confirmed.get(r.pk, 0),
                "returned": returned.get(r.pk, 0),
            }
        )
    return out


def with_visible_count(clusters: QuerySet[RepeatCluster], user: Any) -> QuerySet[RepeatCluster]:
    """Repeat-ledger lines annotated with `seen`: how many of their incidents `user` may see. A line can
    gather incidents of two areas; each reads its own count (the line's `count` is the system's)."""
    return clusters.annotate(seen=Count("incidents", filter=Q(incidents__in=visible_incidents(user))))


# --- Matching keys ---------------------------------------------------------------------------------------

_NOT_A_NUMBER = {"", "0", "00000000000", "anonymous", "unknown", "private", "withheld", "匿名", "未知", "无"}


def phone_key(phone: str | None) -> str:
    """Digits only, without +86 / 0086; '' for numbers that must never match (empty, withheld, too short,
    all one digit, or listed in REPEAT_BLOCKED_NUMBERS — a switchboard, a shared payphone)."""
    raw = (phone or "").strip().lower()
    if raw in _NOT_A_NUMBER:
        return ""
    digits = re.sub(r"\D", "", raw)
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) - len(prefix) >= 11:
            digits = digits[len(prefix) :]
    if len(digits) < 5 or len(set(digits)) == 1 or digits in settings.REPEAT_BLOCKED_NUMBERS:
        return ""
    return digits


def address_key(address: str | None) -> str:
    """Lower-case, without whitespace and punctuation: '东湖路 12号' and '东湖路12号。' match."""
    return re.sub(r"[\s\W_]+", "", (address or "").lower())[:200]


# Positions are bucketed in a grid of CELL_DEG degrees (≈ 220 m north-south): "near here" is then an index
# lookup on a handful of cells instead of a range scan over latitude.
CELL_DEG = 0.002
_LON_CELLS = 200_000  # more than 360 / CELL_DEG


def cell_of(lat: float | None, lon: float | None) -> int | None:
    if lat is None or lon is None:
        return None
    return math.floor((lat + 90) / CELL_DEG) * _LON_CELLS + math.floor((lon + 180) / CELL_DEG)


def cells_around(lat: float, lon: float, radius_m: float) -> list[int]:
    """Every cell that a circle of `radius_m` around the position can touch."""
    dlat = math.degrees(radius_m / EARTH_M)
    dlon = math.degrees(radius_m / (EARTH_M * max(math.cos(math.radians(lat)), 0.01)))
    rows = range(math.floor((lat - dlat + 90) / CELL_DEG), math.floor((lat + dlat + 90) / CELL_DEG) + 1)
    cols = range(math.floor((lon - dlon + 180) / CELL_DEG), math.floor((lon + dlon + 180) / CELL_DEG) + 1)
    return [r * _LON_CELLS + c for r in rows for c in cols]


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_M * math.asin(min(1.0, math.sqrt(a)))


# --- Repeat hints ---------------------------------------------------------------------------------------


class Earlier(NamedTuple):
    """What a hint reads of an earlier incident (the rest of the row stays on disk; no model instance)."""

    id: int
    number: str
    state: str
    category_id: str
    address: str
    reported_at: datetime
    lat: float | None
    lon: float | None

    @property
    def pk(self) -> int:
        return self.id


HINT_FIELDS = Earlier._fields


@dataclass
class Hint:
    incident: Earlier
    kind: str  # same_caller | same_address | recurring | after_handling | same_event
    reason: str
    distance_m: float | None = None

    def as_dict(self) -> dict[str, Any]:
        i = self.incident
        return {
            "id": i.pk,
            "number": i.number,
            "kind": self.kind,
            "reason": self.reason,
            "state": i.state,
            "category": i.category_id,
            "address": i.address,
            "reported_at": i.reported_at,
            "distance_m": None if self.distance_m is None else round(self.distance_m),
        }


def repeat_hints(
    user: Any,
    *,
    phone: str = "",
    address: str = "",
    lat: float | None = None,
    lon: float | None = None,
    category: Category | None = None,
    exclude_id: int | None = None,
    now: datetime | None = None,
    limit: int = 20,
) -> list[Hint]:
    """Earlier incidents that look like this call, each with its repeat kind and why.

    - same_caller: the same number within REPEAT_PHONE_WINDOW (never for empty or withheld numbers, nor for
      a reader who sees numbers masked);
    - same_event: near here, same top-level category, within REPEAT_SAME_EVENT_WINDOW, still open;
    - after_handling: near here, same category type, handled within REPEAT_AFTER_HANDLING_WINDOW;
    - recurring: near here (or the same address), same category type, within REPEAT_PLACE_WINDOW;
    - same_address: the same address text within REPEAT_PLACE_WINDOW (any category).
    """
    now = now or timezone.now()
    cfg = settings.REPEAT
    # user=None: the system asking, which sees every incident.
    base = visible_incidents(user) if user is not None else Incident.objects.all()
    if exclude_id:
        base = base.exclude(pk=exclude_id)
    since_place = now - timedelta(days=cfg["place_window_days"])
    by_phone: list[Earlier] = []
    key = phone_key(phone) if user is None or sees_phones(user) else ""
    if key:
        since = now - timedelta(days=cfg["phone_window_days"])
        by_phone = _rows(base.filter(phone_key=key, reported_at__gte=since, reported_at__lte=now)[:limit])
    near: list[Earlier] = []
    if lat is not None and lon is not None:
        near = _rows(
            base.filter(
                cell__in=cells_around(lat, lon, cfg["radius_m"]), reported_at__gte=since_place, reported_at__lte=now
            )
            .exclude(state__in=[State.MERGED, State.INVALID])
            .order_by("-reported_at")[: limit * 3]
        )
    at_address: list[Earlier] = []
    akey = address_key(address)
    if len(akey) >= 4:
        at_address = _rows(base.filter(address_key=akey, reported_at__gte=since_place, reported_at__lte=now)[:limit])
    return _classify(
        by_phone=by_phone, near=near, at_address=at_address, lat=lat, lon=lon, category=category, now=now, limit=limit
    )


def _rows(qs: QuerySet[Incident]) -> list[Earlier]:
    return [Earlier._make(row) for row in qs.values_list(*HINT_FIELDS)]


# The ledger's read at intake: the incidents near the call and at its address, in one statement of a fixed
# shape. System view: no scope. Near: each cell around the call read on its own (the incident_cell index
# gives a cell's incidents in the window newest first, so each stops after `near_limit`), then the newest
# of them all. It is prepared (command_center/prepared.py), and PostgreSQL may keep a generic plan made
# without the cells and the window; written as `cell = ANY(cells)`, the generic plan made on a small or
# stale-statistics table walked the time index and filtered the cells, reading the whole window. Per cell,
# the cell index is the only good path whatever the statistics say (tests/command_center/test_prepared.py;
# at a province's scale: bench/province.py's ledger_plan).
_LEDGER_SQL = f"""
    (SELECT 'n', near.* FROM unnest(%(cells)s::bigint[]) AS c(cell) CROSS JOIN LATERAL
       (SELECT {", ".join(HINT_FIELDS)} FROM incidents_incident
         WHERE cell = c.cell AND reported_at >= %(since)s AND reported_at <= %(now)s
           AND state NOT IN ('merged', 'invalid')
         ORDER BY reported_at DESC LIMIT %(near_limit)s) AS near
      ORDER BY near.reported_at DESC LIMIT %(near_limit)s)
    UNION ALL
    (SELECT 'a', {", ".join(HINT_FIELDS)} FROM incidents_incident
      WHERE %(by_address)s AND address_key = %(akey)s AND reported_at >= %(since)s AND reported_at <= %(now)s
      ORDER BY reported_at DESC LIMIT %(limit)s)
"""  # noqa: S608  # fixed column names, values are parameters


def ledger_params(incident: Incident, limit: int = 50) -> dict[str, Any]:
    """`_LEDGER_SQL`'s values for a new call."""
    cfg = settings.REPEAT
    now = incident.reported_at
    cells = (
        []
        if incident.lat is None or incident.lon is None
        else cells_around(incident.lat, incident.lon, cfg["radius_m"])
    )
    akey = incident.address_key
    return {
        "cells": cells,
        "since": now - timedelta(days=cfg["place_window_days"]),
        "now": now,
        "near_limit": limit * 3,
        "akey": akey,
        "by_address": len(akey) >= 4,  # a short address ("门口") says nothing about the place
        "limit": limit,
    }


def ledger_hints(incident: Incident, *, limit: int = 50) -> list[Hint]:
    """What the repeat ledger needs of a new call, read before it is stored (see services._intake)."""
    params = ledger_params(incident, limit)
    now = incident.reported_at
    near: list[Earlier] = []
    at_address: list[Earlier] = []
    with connection.cursor() as cur:
        # Prepared (command_center/prepared.py): planning it cost six times its running (see above).
        prepared.execute(cur, "cc_ledger", _LEDGER_SQL, params)
        for tag, *values in cur.fetchall():
            (near if tag == "n" else at_address).append(Earlier._make(values))
    return _classify(
        by_phone=[],
        near=near,
        at_address=at_address,
        lat=incident.lat,
        lon=incident.lon,
        category=incident.category,
        now=now,
        limit=limit,
    )


def _classify(
    *,
    by_phone: list[Earlier],
    near: list[Earlier],
    at_address: list[Earlier],
    lat: float | None,
    lon: float | None,
    category: Category | None,
    now: datetime,
    limit: int,
) -> list[Hint]:
    """Give each earlier incident its strongest repeat kind and the reason, strongest first."""
    cfg = settings.REPEAT
    found: dict[int, Hint] = {}

    def add(hint: Hint) -> None:
        if hint.incident.pk not in found:  # the first (strongest) reason wins
            found[hint.incident.pk] = hint

    for inc in by_phone:
        add(
            Hint(
                inc,
                "same_caller",
                _("Same caller number: %(n)d calls in %(d)d days")
                % {"n": len(by_phone) + 1, "d": cfg["phone_window_days"]},
            )
        )

    type_prefix = category.code[:4] if category else ""
    top_prefix = category.code[:2] if category else ""
    if lat is not None and lon is not None:
        for inc in near:
            if inc.lat is None or inc.lon is None:
                continue
            d = distance_m(lat, lon, inc.lat, inc.lon)
            if d > cfg["radius_m"]:
                continue
            code = inc.category_id
            age = now - inc.reported_at
            if (
                top_prefix
                and code.startswith(top_prefix)
                and age <= timedelta(minutes=cfg["same_event_minutes"])
                and inc.state not in HANDLED
            ):
                add(
                    Hint(
                        inc,
                        "same_event",
                        _("Same kind of event %(m)d min ago, %(d)d m away") % {"m": age.total_seconds() // 60, "d": d},
                        d,
                    )
                )
            elif (
                type_prefix
                and code.startswith(type_prefix)
                and inc.state in HANDLED
                and age <= timedelta(hours=cfg["after_handling_hours"])
            ):
                add(
                    Hint(
                        inc,
                        "after_handling",
                        _("Again after handling: the same type was handled here %(h)d h ago")
                        % {"h": age.total_seconds() // 3600},
                        d,
                    )
                )
            elif type_prefix and code.startswith(type_prefix):
                add(
                    Hint(
                        inc,
                        "recurring",
                        _("Same type at this place within %(d)d days") % {"d": cfg["place_window_days"]},
                        d,
                    )
                )

    for inc in at_address:
        kind = "recurring" if type_prefix and inc.category_id.startswith(type_prefix) else "same_address"
        add(Hint(inc, kind, _("Same address within %(d)d days") % {"d": cfg["place_window_days"]}))

    order = {"same_event": 0, "same_caller": 1, "after_handling": 2, "recurring": 3, "same_address": 4}
    return sorted(found.values(), key=lambda h: (order[h.kind], -h.incident.reported_at.timestamp()))[:limit]


def hints_for(user: Any, incident: Incident) -> list[Hint]:
    """The repeat hints of a stored incident, as they were when it came in."""
    return repeat_hints(
        user,
        phone=incident.caller_phone,
        address=incident.address,
        lat=incident.lat,
        lon=incident.lon,
        category=incident.category,
        exclude_id=incident.pk,
        now=incident.reported_at,
    )


# --- Where an incident belongs --------------------------------------------------------------------------


def nearest_station(user: Any, lat: float, lon: float) -> Org | None:
    """The station that owns the position: the one whose jurisdiction polygon holds it (places), when the
    user may act for it. Where no loaded polygon holds the point (no gazetteer yet, a gap between areas, an
    area outside the user's), the nearest station the user may dispatch to (their subtree), as before
    polygons were drawn."""
    owner = places_selectors.owning_org(lat, lon)
    if owner is not None and orgs.can_act(user, owner):
        return owner
    person = orgs.person_of(user)
    root = "" if getattr(user, "is_superuser", False) or person is None else person.org.path
    stations = memo.remember(
        ("incidents.stations", root, person.org.pk if person else None, getattr(user, "is_superuser", False)),
        lambda: list(orgs.visible_orgs(user).filter(level=Org.Level.STATION, kind=Org.Kind.POLICE, lat__isnull=False)),
    )
    best: tuple[float, Org] | None = None
    for s in stations:
        assert s.lat is not None and s.lon is not None
        d = distance_m(lat, lon, s.lat, s.lon)
        if best is None or d < best[0]:
            best = (d, s)
    return best[1] if best else None


def command_center_of(org: Org) -> Org:
    """The nearest command center at or above `org` (the region an incident number belongs to)."""
    for o in reversed(org.lineage()):
        if o.is_command_center:
            return o
    return org


# --- How incidents and diversions read in a list of clocks (words.provide_subject, apps.py) -------------


def describe_incidents(ids: list[int]) -> dict[int, dict[str, Any]]:
    """An incident as a supervisor reads it in a list: its number, address and org, and its page."""
    rows = Incident.objects.filter(pk__in=ids).values_list("pk", "number", "address", "org__name")
    return {
        pk: {"title": number, "detail": address, "org_name": org, "url": reverse("incidents:detail", args=[pk])}
        for pk, number, address, org in rows
    }


def describe_clusters(ids: list[int]) -> dict[int, dict[str, Any]]:
    """A repeat cluster (挂账): its place, kind, theme and count, the responsible org, and the page of its
    latest incident."""
    out: dict[int, dict[str, Any]] = {}
    for c in RepeatCluster.objects.filter(pk__in=ids).select_related("org"):
        latest = c.incidents.order_by("-reported_at").values_list("pk", flat=True).first()
        out[c.pk] = {
            "title": c.address,
            "detail": f"{c.get_kind_display()} · {c.get_theme_display()} · ×{c.count} · {c.get_status_display()}",
            "org_name": c.org.name,
            "url": reverse("incidents:detail", args=[latest]) if latest else "",
        }
    return out


def describe_diversions(ids: list[int]) -> dict[int, dict[str, Any]]:
    """A diversion: its incident's number and address, the partner, and the incident's page."""
    rows = Diversion.objects.filter(pk__in=ids).values_list(
        "pk", "incident_id", "incident__number", "incident__address", "partner__name"
    )
    return {
        pk: {
            "title": number,
            "detail": address,
            "org_name": partner,
            "url": reverse("incidents:detail", args=[incident_id]),
            "incident": incident_id,
        }
        for pk, incident_id, number, address, partner in rows
    }
