"""What the live screens load over REST: the dispatch board (指挥调度台), the station inbox (派出所接收岗) and
the big screen (一屏展). Reads only; every query goes through the scoped selectors (`orgs.restrict`).

Each state carries `seq`, the caller's group sequence (realtime.current_seq) read *before* any row: an
event with a higher seq may already be reflected in the rows (the screen applies it again, which is
harmless: payloads carry versions), but no event with a lower or equal seq can be missing from them. A
screen applies only events with `seq > state.seq` and reloads when it sees a gap.

Alerts (the board's strip): there is no table of pushes, so the strip is derived from the rows that the
pushes report — open breaches (deadlines breached and neither met nor cancelled: `deadlines.breached` /
`order.overdue`), orders returned today (`order.returned`) and repeat-ledger lines added to today
(`repeat.cluster`). The keys (`breach:<deadline>`, `returned:<order>`, `repeat:<cluster>`) are the ones the
screen gives the same pushes, so a reload and a push never show one alert twice. The apps above add theirs
through command_center.screens (supervision: `reminder:<id>` 催办 and `supervision:<id>` 督办, from
`reminder.created` and `supervision.ordered`); an alert that `covers` a deadline replaces its breach alert.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import (
    Count,
    F,
    Q,
)
from django.db.models.functions import Substr
from django.utils import timezone

from command_center import clocks, codes, orgs, realtime, screens
from command_center.models import Org, Role
from incidents import selectors as incident_selectors
from incidents.models import CLOCK_DISPATCH, Diversion, Incident, RepeatCluster, RepeatLink, State
from incidents.transitions import OPEN_STATES

from . import payloads, selectors
from .models import LIVE_ORDER_STATES, DispatchOrder, Unit

# Who may load which screen's state (pages check the same sets, see views.py).
BOARD_ROLES = [Role.CALL_TAKER, Role.DUTY_OFFICER, Role.COMMANDER, Role.SUPERVISOR, Role.ANALYST]
INBOX_ROLES = [Role.STATION_OFFICER, Role.DUTY_OFFICER, Role.COMMANDER]

MAX_INCIDENTS = 500  # the board's queue; more open incidents than this and `truncated` says so
MAX_ALERTS = 60
MAX_INBOX_ORDERS = 200


def seq_of(user: Any) -> int:
    """The caller's group sequence (their org's group, the one /ws/board/ joins); 0 without a person."""
    person = orgs.person_of(user)
    return realtime.current_seq(realtime.org_group(person.org_id)) if person else 0


def today_start(now: datetime | None = None) -> datetime:
    """Midnight of the local (Asia/Shanghai) calendar day."""
    local = timezone.localtime(now or timezone.now())
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def _category_names() -> dict[str, str]:
    return {code: c.local_name for code, c in codes.active_categories().items()}


def _top_code(code: str) -> str:
    return code[:2] + "0000"


# --- Rows ------------------------------------------------------------------------------------------------


# The queue's order, as data: the board ranks its rows by it when it loads (`urgency`), and the screens'
# script (static/js/boardmodel.js) ranks them by the same table between loads, as pushes and time move them —
# it reaches the page as JSON (views.py), so the two cannot drift. A row takes the first tier that holds for
# it (a tier holds when any of its tests does: `clock` "breached", a clock broken and not met; `clock`
# "running", any clock not met — either of `kind` when the tier names one; `state`, the row's state is one
# of these),
# or ranks after them all (scene cleared, self-handled). Within a tier, by the fields of `then`: level
# (1 most urgent), then the oldest first. The first `red` tiers are drawn red: a call whose dispatch clock
# broke leads (no call may wait unseen), then any other broken clock; then the calls still waiting.
URGENCY: dict[str, Any] = {
    "tiers": [
        {"clock": "breached", "kind": CLOCK_DISPATCH},  # a waiting call past its dispatch time
        {"clock": "breached"},  # any other broken clock
        # a call waiting for dispatch: new, or again after its last order was called off or sent back
        {"state": [State.RECEIVED.value], "clock": "running", "kind": CLOCK_DISPATCH},
        {"clock": "running"},  # in hand, a clock running
    ],
    "then": ["level", "reported_at"],
    "red": 2,
}

# The working queue: what still needs the desk. Diverted incidents are the partner's (they come back on a
# return), merged and closed ones are done; the board's filter (`ended`) shows them after the queue.
WORKING_STATES = [s for s in OPEN_STATES if s != State.DIVERTED]
ENDED_STATES = [State.DIVERTED, State.MERGED, State.CLOSED, State.INVALID]


def _tier_holds(tier: dict[str, Any], row: dict[str, Any]) -> bool:
    clocks_ = row["clocks"]
    kind = tier.get("kind")
    return (
        (
            tier.get("clock") == "breached"
            and any(c["breached_at"] and (kind is None or c["kind"] == kind) for c in clocks_)
        )
        or (tier.get("clock") == "running" and any(kind is None or c["kind"] == kind for c in clocks_))
        or row["state"] in tier.get("state", ())
    )


def urgency(row: dict[str, Any]) -> tuple[Any, ...]:
    """A row's place in the queue (URGENCY): its tier, then the fields of `then` (times as ISO text). A row
    the filter added (`ended`) ranks after every working row."""
    tiers = URGENCY["tiers"]
    tier = next((n for n, t in enumerate(tiers) if _tier_holds(t, row)), len(tiers))
    if row.get("ended"):
        tier = len(tiers) + 1
    then = (row[f].isoformat() if isinstance(row[f], datetime) else row[f] for f in URGENCY["then"])
    return (tier, *then)


# --- The board -------------------------------------------------------------------------------------------


def board_incidents(user: Any, *, ended: bool = False) -> tuple[list[dict[str, Any]], bool]:
    """The working queue of the caller's area (WORKING_STATES), and any incident with a live order
    addressed into it (a station of another county sent as reinforcement still sees what it was sent to),
    with their orders and unmet clocks, most urgent first. Returns (rows, truncated).

    A linked duplicate (RepeatLink: another report of a master) is no row of its own: it rides under its
    master (`duplicates`) and leaves the queue with it. `ended`: the filter adds the incidents that left the
    queue — diverted, and merged, closed or invalid since midnight — marked `ended`, after every working row.
    Five queries of plain rows."""
    orders_qs = selectors.visible_orders(user)
    live_for_us = orders_qs.filter(state__in=LIVE_ORDER_STATES).values("incident_id")
    visible = incident_selectors.visible_incidents(user)
    qs = visible.filter(state__in=WORKING_STATES) | Incident.objects.filter(pk__in=live_for_us)
    if ended:
        qs = (
            qs
            | visible.filter(state=State.DIVERTED)
            | visible.filter(state__in=ENDED_STATES, reported_at__gte=today_start())
        )
    qs = qs.exclude(pk__in=RepeatLink.objects.values("incident_id"))
    incidents = list(
        qs.order_by("level", "reported_at", "id").values(
            "id", "number", "state", "version", "category_id", "level", "address", "lat", "lon", "org_id",
            "reported_at", org_name=F("org__name"),
        )[: MAX_INCIDENTS + 1]
    )  # fmt: skip
    truncated = len(incidents) > MAX_INCIDENTS
    incidents = incidents[:MAX_INCIDENTS]
    ids = [i["id"] for i in incidents]
    duplicates: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for link in (
        RepeatLink.objects.filter(master_id__in=ids, incident__in=visible)
        .order_by("incident__reported_at", "incident_id")
        .values("master_id", "link_type", "incident_id", "incident__number", "incident__state",
                "incident__reported_at", "incident__version")
    ):  # fmt: skip
        duplicates[link["master_id"]].append(
            {
                "id": link["incident_id"],
                "number": link["incident__number"],
                "state": link["incident__state"],
                "version": link["incident__version"],
                "link_type": link["link_type"],
                "reported_at": link["incident__reported_at"],
            }
        )
    orders = list(
        orders_qs.filter(incident_id__in=ids)
        .exclude(state=DispatchOrder.State.CANCELLED)
        .order_by("sent_at", "id")
        .values(*payloads.ORDER_COLUMNS, "org__name")
    )
    incident_of_order = {o["id"]: o["incident_id"] for o in orders}
    ct_incident = ContentType.objects.get_for_model(Incident)
    ct_order = ContentType.objects.get_for_model(DispatchOrder)
    deadlines = orgs.restrict(clocks.unmet(), user).filter(
        Q(subject_type=ct_incident, subject_id__in=ids)
        | Q(subject_type=ct_order, subject_id__in=list(incident_of_order))
    )
    clocks_by_incident: dict[int, list[dict[str, Any]]] = defaultdict(list)
    overdue: dict[int, list[str]] = defaultdict(list)
    registered = clocks.registered()
    for d in deadlines.order_by("due_at", "id").values(
        "id", "subject_type_id", "subject_id", "kind", "due_at", "breached_at"
    ):
        k = registered.get(d["kind"])
        is_order = d["subject_type_id"] == ct_order.pk
        row = {
            "id": d["id"],
            "kind": d["kind"],
            "label": str(k.label) if k else d["kind"],
            "order": d["subject_id"] if is_order else None,
            "due_at": d["due_at"],
            "breached_at": d["breached_at"],
        }
        clocks_by_incident[incident_of_order[d["subject_id"]] if is_order else d["subject_id"]].append(row)
        if is_order and d["breached_at"]:
            overdue[d["subject_id"]].append(d["kind"])
    names = _category_names()
    briefs = {i["id"]: payloads.incident_brief_of_values(i) for i in incidents}
    orders_by_incident: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for o in orders:
        payload = payloads.order_payload_of_values(o, briefs[o["incident_id"]])
        row = payloads.order_row(payload, org_name=o["org__name"], overdue=overdue.get(o["id"], ()))
        orders_by_incident[o["incident_id"]].append(row)
    rows = []
    for i in incidents:
        rows.append(
            {
                "id": i["id"],
                "number": i["number"],
                "state": i["state"],
                "version": i["version"],
                "category": i["category_id"],
                "category_name": names.get(i["category_id"], i["category_id"]),
                "level": i["level"],
                "address": i["address"],
                "lat": i["lat"],
                "lon": i["lon"],
                "org": i["org_id"],
                "org_name": i["org_name"],
                "reported_at": i["reported_at"],
                "clocks": clocks_by_incident.get(i["id"], []),
                "orders": orders_by_incident.get(i["id"], []),
                "duplicates": duplicates.get(i["id"], []),
                "ended": i["state"] in ENDED_STATES,
            }
        )
    rows.sort(key=urgency)
    return rows, truncated


def board_units(user: Any) -> list[dict[str, Any]]:
    """The units of the caller's area in the shape of their pushes (payloads.unit_payload); the org's name
    is in `orgs`."""
    rows = (
        selectors.visible_units(user)
        .order_by("call_sign")
        .values(
            "id", "call_sign", "kind", "org", "status", "ring_minutes", "capabilities", "lat", "lon", "position_at",
            "version",
        )
    )  # fmt: skip
    return [dict(r) for r in rows]


def board_orgs(user: Any) -> list[dict[str, Any]]:
    """The police orgs of the caller's area (names for the org ids pushes carry), in tree order."""
    rows = orgs.visible_orgs(user).filter(kind=Org.Kind.POLICE).order_by("path")
    return [dict(r) for r in rows.values("id", "name", "level", "lat", "lon")]


def _breach_alerts(user: Any, *, limit: int) -> list[dict[str, Any]]:
    """Open breaches of clocks the user's area answers for, and of the diversions of its incidents (a
    partner answers for those, but the incident's desk must hear that its partner is late)."""
    ct_incident = ContentType.objects.get_for_model(Incident)
    ct_order = ContentType.objects.get_for_model(DispatchOrder)
    ct_diversion = ContentType.objects.get_for_model(Diversion)
    ours = orgs.restrict(clocks.unmet().breached(), user)
    partners = (
        clocks.unmet()
        .breached()
        .filter(
            subject_type=ct_diversion,
            subject_id__in=Diversion.objects.filter(incident__in=incident_selectors.visible_incidents(user)).values(
                "pk"
            ),
        )
    )
    rows = list((ours | partners).select_related("org").order_by("-breached_at", "-id")[:limit])
    order_ids = [d.subject_id for d in rows if d.subject_type_id == ct_order.pk]
    incident_ids = [d.subject_id for d in rows if d.subject_type_id == ct_incident.pk]
    diversion_ids = [d.subject_id for d in rows if d.subject_type_id == ct_diversion.pk]
    orders = DispatchOrder.objects.select_related("incident", "org", "unit").in_bulk(order_ids)
    incidents = {i.pk: i for i in Incident.objects.filter(pk__in=incident_ids).only("id", "number", "address")}
    diversions = Diversion.objects.select_related("incident", "partner").in_bulk(diversion_ids)
    registered = clocks.registered()
    out = []
    for d in rows:
        k = registered.get(d.kind)
        alert: dict[str, Any] = {
            "key": f"breach:{d.pk}",
            "kind": "breach",
            "at": d.breached_at,
            "clock": d.kind,
            "label": str(k.label) if k else d.kind,
            "due_at": d.due_at,
            "order": None,
            "incident": None,
            "text": d.org.name,  # whose clock it is; an order or an incident says more below
        }
        o = orders.get(d.subject_id) if d.subject_type_id == ct_order.pk else None
        if o is not None:
            alert["order"] = o.pk
            alert["incident"] = {"id": o.incident_id, "number": o.incident.number}
            alert["text"] = o.unit.call_sign if o.unit else o.org.name
        i = incidents.get(d.subject_id) if d.subject_type_id == ct_incident.pk else None
        if i is not None:
            alert["incident"] = {"id": i.pk, "number": i.number}
            alert["text"] = i.address
        v = diversions.get(d.subject_id) if d.subject_type_id == ct_diversion.pk else None
        if v is not None:
            alert["incident"] = {"id": v.incident_id, "number": v.incident.number}
            alert["text"] = v.partner.name
        out.append(alert)
    return out


def board_alerts(user: Any, *, now: datetime | None = None, limit: int = MAX_ALERTS) -> list[dict[str, Any]]:
    """The strip: open breaches, orders returned today, repeat-ledger lines added to today, and what the
    apps above add (screens.provide_alerts: the loop's reminders 催办 and 督办 orders); newest first. A
    contributed alert that `covers` a deadline replaces that deadline's generic breach alert."""
    since = today_start(now)
    extra = screens.collect_alerts(screens.BOARD, user)
    covered = {f"breach:{a['covers']}" for a in extra if a.get("covers")}
    alerts = [a for a in _breach_alerts(user, limit=limit + len(covered)) if a["key"] not in covered][:limit]
    alerts.extend(extra)
    returned = (
        selectors.visible_orders(user)
        .filter(state=DispatchOrder.State.RETURNED, returned_at__gte=since)
        .select_related("incident", "org", "unit")
        .order_by("-returned_at")[:limit]
    )
    for o in returned:
        alerts.append(
            {
                "key": f"returned:{o.pk}",
                "kind": "returned",
                "at": o.returned_at,
                "order": o.pk,
                "incident": {"id": o.incident_id, "number": o.incident.number},
                "text": f"{o.unit.call_sign if o.unit else o.org.name}: {o.return_reason}",
            }
        )
    clusters = incident_selectors.with_visible_count(
        orgs.restrict(RepeatCluster.objects.all(), user).filter(last_at__gte=since, status=RepeatCluster.Status.OPEN),
        user,
    )
    for c in clusters.order_by("-last_at")[:limit]:
        alerts.append(
            {
                "key": f"repeat:{c.pk}",
                "kind": "repeat",
                "at": c.last_at,
                "cluster": c.pk,
                "repeat_kind": c.kind,
                "count": c.seen,  # type: ignore[attr-defined]  # annotated: what the reader may see
                "incident": None,
                "text": c.address,
            }
        )
    alerts.sort(key=lambda a: a["at"], reverse=True)
    return alerts[:limit]


def board_state(user: Any, *, ended: bool = False) -> dict[str, Any]:
    """GET /api/board/: everything the dispatch board draws, and the fields the apps above add
    (screens.provide: the commanders' watch list 盯办). `seq` first (see the module docstring). `ended`: the
    queue's filter (board_incidents)."""
    seq = seq_of(user)
    incidents, truncated = board_incidents(user, ended=ended)
    return {
        "seq": seq,
        "at": timezone.now(),
        "incidents": incidents,
        "truncated": truncated,
        "ended": ended,
        "units": board_units(user),
        "orgs": board_orgs(user),
        "alerts": board_alerts(user),
        **screens.collect(screens.BOARD, user),
    }


# --- The station inbox -----------------------------------------------------------------------------------


def inbox_state(user: Any, *, now: datetime | None = None) -> dict[str, Any]:
    """GET /api/board/inbox/: the orders addressed to the caller's station (and below it) that are live
    or ended today, newest first, each with what the station needs to act: the incident's narrative and
    category name, the actions the state allows, the broken clocks. Never the caller's number.

    `tasks` (the directives' tasks, 指令任务) and `reminders` (催办 and 督办) come from the apps above
    (screens.provide: intel, supervision); `tasks` is always there, empty when no app fills it."""
    from .transitions import ORDER, allowed_events

    seq = seq_of(user)
    since = today_start(now)
    qs = (
        selectors.visible_orders(user)
        .filter(Q(state__in=LIVE_ORDER_STATES) | Q(sent_at__gte=since))
        .select_related("incident", "org", "unit", "dispatcher", "signed_by")
        .order_by("-sent_at", "-id")[:MAX_INBOX_ORDERS]
    )
    orders = list(qs)
    overdue = clocks.overdue(DispatchOrder, [o.pk for o in orders])
    names = _category_names()
    rows = []
    for o in orders:
        row = payloads.order_row(payloads.order_payload(o), org_name=o.org.name, overdue=overdue.get(o.pk, ()))
        row["incident"].update(
            {
                "state": o.incident.state,
                "category_name": names.get(o.incident.category_id, o.incident.category_id),
                "narrative": o.incident.narrative,
                "reported_at": o.incident.reported_at,
            }
        )
        row["note"] = o.note
        row["return_reason"] = o.return_reason
        row["allowed"] = allowed_events(ORDER, o.state)
        rows.append(row)
    person = orgs.person_of(user)
    return {
        "seq": seq,
        "at": timezone.now(),
        "org": {"id": person.org_id, "name": person.org.name} if person else None,
        "orders": rows,
        "tasks": [],
        **screens.collect(screens.INBOX, user),
    }


# --- The big screen --------------------------------------------------------------------------------------


def board_stats(user: Any, *, now: datetime | None = None) -> dict[str, Any]:
    """GET /api/board/stats/: the big screen's numbers for today (local calendar day) in the caller's area:
    incidents by top-level category and by state, open incidents, open breaches, units by status — and
    what the apps above add (screens.WALL: supervision's measures of today, its one definition of them)."""
    now = now or timezone.now()
    seq = seq_of(user)
    since = today_start(now)
    today = incident_selectors.visible_incidents(user).filter(reported_at__gte=since)
    names = _category_names()
    by_top = today.annotate(top=Substr("category_id", 1, 2)).values("top").annotate(n=Count("id")).order_by("top")
    by_category = [
        {"code": _top_code(r["top"]), "name": names.get(_top_code(r["top"]), r["top"]), "count": r["n"]} for r in by_top
    ]
    state_counts = dict(today.values_list("state").annotate(n=Count("id")).values_list("state", "n"))
    by_state = [
        {"state": s.value, "label": str(s.label), "count": state_counts[s.value]} for s in State if s in state_counts
    ]
    open_count = incident_selectors.visible_incidents(user).filter(state__in=OPEN_STATES).count()
    breaches = _breach_alerts(user, limit=20)
    breach_count = orgs.restrict(clocks.unmet().breached(), user).count()
    units = dict(selectors.visible_units(user).values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    return {
        "seq": seq,
        "at": now,
        "since": since,
        "total": sum(r["count"] for r in by_category),
        "open": open_count,
        "by_category": by_category,
        "by_state": by_state,
        "breaches": {"open": breach_count, "items": breaches},
        "units": {s.value: units.get(s.value, 0) for s in Unit.Status},
        **screens.collect(screens.WALL, user),
    }


__all__ = [
    "BOARD_ROLES",
    "INBOX_ROLES",
    "board_alerts",
    "board_incidents",
    "board_state",
    "board_stats",
    "inbox_state",
    "urgency",
]
