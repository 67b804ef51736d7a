"""Every write to a unit, a shift or a dispatch order (派警单).

Each service: check scope and role, lock the rows, check the transition table, write the state with its
log row, bump the version (the kernel's step: command_center/transitions.py), start/meet/cancel clocks, tell
the incident what happened to its order (incidents/hooks.py: the incident's table decides whether it moves),
move the unit along, and queue pushes for after commit — in one transaction.

Lock order, the same in every service so two of them never wait on each other in a circle:
incident → order → unit. An order's incident never changes, so it is read first without a lock. No service
locks an org row (every FOR UPDATE names `of=("self",)`): a FOR UPDATE on an org conflicts with the
key-share lock that any insert pointing at that org takes (a new order, a clock, an incident), and two
dispatches crosswise between two stations deadlocked when the incidents services still did.

Clocks (kinds registered in apps.py, lengths from `incidents.services.sla_for`):
- `dispatch.sign`: from sending, `sign_s` (30 s by default); met by the signature.
- `dispatch.arrive`: from the signature, the unit's quick-response ring (1/3/5 min); met on arrival.
- `dispatch.feedback`: from arrival, `feedback_s`; met when the order is done (the unit reports back).
A returned or cancelled order cancels its running clocks. A breach is recorded and pushed by the kernel's
sweep (`deadlines.breached`); `on_breach` adds `order.overdue` with the order and its incident.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from command_center import clocks, orgs, realtime, transitions
from command_center.audit import acting_user, log_transition
from command_center.errors import Refused
from command_center.models import Deadline, Org, Person, Role
from incidents import hooks as incident_hooks
from incidents import services as incident_services
from incidents.models import Incident

from .models import LIVE_ORDER_STATES, DispatchOrder, Shift, Unit
from .payloads import order_payload, unit_payload
from .transitions import MANUAL_EVENTS, ORDER, UNIT, Event, UnitEvent, next_order_state

# Who may do what.
DISPATCH_ROLES = [Role.CALL_TAKER, Role.DUTY_OFFICER, Role.COMMANDER]  # send, cancel
STATION_ROLES = [Role.STATION_OFFICER]  # deliver, sign, return: the station's own act
# Arrival and the report back may be recorded on the unit's behalf by the command center (a crew that
# reports by radio); the log names who recorded it.
ON_BEHALF_ROLES = [Role.STATION_OFFICER, Role.DUTY_OFFICER, Role.COMMANDER]
UNIT_ROLES = [Role.STATION_OFFICER, Role.DUTY_OFFICER, Role.COMMANDER]  # position, status
ROSTER_ROLES = [Role.DUTY_OFFICER, Role.COMMANDER]

CLOCK_SIGN = "dispatch.sign"
CLOCK_ARRIVE = "dispatch.arrive"
CLOCK_FEEDBACK = "dispatch.feedback"
ORDER_CLOCKS = {
    CLOCK_SIGN: gettext_lazy("Sign the dispatch order"),
    CLOCK_ARRIVE: gettext_lazy("Arrive on scene"),
    CLOCK_FEEDBACK: gettext_lazy("Report back"),
}

MAX_POSITIONS = 1000  # per batch request
FUTURE_SLACK = timedelta(seconds=60)  # a device clock this far ahead is believed; beyond it, refused


def register_clocks() -> None:
    for name, label in ORDER_CLOCKS.items():
        clocks.register(name, label=label, on_breach=on_order_clock_breach)


# --- Pushes ---------------------------------------------------------------------------------------------


def _order_changed(o: DispatchOrder, event: str, incident: Incident | None = None) -> None:
    realtime.broadcast_on_commit(o.org, f"order.{event}", order_payload(o, incident))


def _unit_changed(u: Unit) -> None:
    realtime.broadcast_on_commit(u.org, "unit.updated", unit_payload(u))


def on_order_clock_breach(deadline: Deadline) -> None:
    """A dispatch clock broke: tell the board which order and incident (the sweep's own
    `deadlines.breached` names only the deadline's subject)."""
    o = (
        DispatchOrder.objects.select_related("incident", "org", "unit", "dispatcher", "signed_by")
        .filter(pk=deadline.subject_id)
        .first()
    )
    if o is None:
        return
    realtime.broadcast_on_commit(
        o.org,
        "order.overdue",
        {
            "clock": deadline.kind,
            "label": str(ORDER_CLOCKS.get(deadline.kind, deadline.kind)),
            "deadline": deadline.pk,
            "due_at": deadline.due_at,
            "breached_at": deadline.breached_at,
            "order": order_payload(o),
        },
    )


# --- Units ----------------------------------------------------------------------------------------------


def _move_unit(
    u: Unit,
    event: str,
    actor: Any,
    *,
    reason: str = "",
    at: datetime | None = None,
    offer: Sequence[str] | None = None,
) -> None:
    """One step of a locked unit by the unit table (its state is `status`), with its reason and time; saved
    and pushed. `offer`: what a refusal lists (transitions.apply)."""
    transitions.apply(u, UNIT, event, actor, reason=reason, field="status", offer=offer)
    u.status_reason, u.status_changed_at = reason, at or timezone.now()
    transitions.save(u, "status_reason", "status_changed_at", field="status")
    _unit_changed(u)


@transaction.atomic
def unit_set_status(*, unit_id: int, actor: Any, status: str, reason: str = "") -> Unit:
    """A person sets a unit available, busy, off duty or out of service (a unit with a live order moves only
    with it: the table refuses, 409)."""
    if status not in MANUAL_EVENTS:
        raise Refused("status", _("Choose available, busy, off duty or out of service."))
    u = transitions.lock(Unit, unit_id, related=["org"])
    orgs.require(actor, u.org, roles=UNIT_ROLES)
    # A refusal offers what a person may choose, not the order-driven moves.
    _move_unit(u, status, actor, reason=reason.strip(), offer=MANUAL_EVENTS)
    return u


@dataclass(frozen=True)
class PositionReport:
    unit_id: int
    lat: float
    lon: float
    at: datetime | None = None


@dataclass
class PositionResult:
    updated: list[dict[str, Any]]  # unit payloads of the positions taken
    skipped: list[int]  # units whose stored position was newer than the report


@transaction.atomic
def unit_report_positions(*, actor: Any, reports: list[PositionReport]) -> PositionResult:
    """Many units' positions at once (a GPS gateway, the simulator): one statement, one push per org.

    A report older than the unit's stored position is skipped (GPS fixes arrive out of order); of several
    reports for one unit the newest wins. Every unit must be in the caller's area, or nothing is stored.
    """
    if not reports:
        raise Refused("positions", _("Send at least one position."))
    if len(reports) > MAX_POSITIONS:
        raise Refused("positions", _("At most %(n)d positions per request.") % {"n": MAX_POSITIONS})
    now = timezone.now()
    newest: dict[int, PositionReport] = {}
    for r in reports:
        if not (-90 <= r.lat <= 90 and -180 <= r.lon <= 180):
            raise Refused("positions", _("Unit %(id)s: latitude or longitude out of range.") % {"id": r.unit_id})
        at = r.at or now
        if at > now + FUTURE_SLACK:
            raise Refused("positions", _("Unit %(id)s: the position's time is in the future.") % {"id": r.unit_id})
        r = PositionReport(r.unit_id, r.lat, r.lon, min(at, now))
        held = newest.get(r.unit_id)
        if held is None or r.at >= held.at:  # type: ignore[operator]  # both set just above
            newest[r.unit_id] = r
    units = {u.pk: u for u in orgs.restrict(Unit.objects.select_related("org"), actor).filter(pk__in=list(newest))}
    missing = sorted(set(newest) - set(units))
    if missing:
        raise Refused(
            "positions", _("Unknown units or outside your area: %(ids)s") % {"ids": ", ".join(map(str, missing))}
        )
    for org in {u.org_id: u.org for u in units.values()}.values():
        orgs.require(actor, org, roles=UNIT_ROLES)
    rows = [(r.unit_id, r.lat, r.lon, r.at) for r in sorted(newest.values(), key=lambda r: r.unit_id)]
    values = ", ".join(["(%s::bigint, %s::float8, %s::float8, %s::timestamptz)"] * len(rows))
    params: list[Any] = [x for row in rows for x in row]
    with connection.cursor() as cur:
        # One UPDATE for the batch; the WHERE keeps a newer stored position (out-of-order fixes).
        cur.execute(
            f"""
            UPDATE dispatch_unit AS u
               SET lat = v.lat, lon = v.lon, position_at = v.at, version = u.version + 1
              FROM (VALUES {values}) AS v (id, lat, lon, at)
             WHERE u.id = v.id AND (u.position_at IS NULL OR u.position_at <= v.at)
         RETURNING u.id, u.lat, u.lon, u.position_at, u.version, u.status, u.call_sign, u.kind, u.ring_minutes,
                   u.capabilities
            """,  # noqa: S608  # only placeholders are interpolated
            params,
        )
        returned = cur.fetchall()
    by_org: dict[int, list[dict[str, Any]]] = defaultdict(list)
    updated = []
    for uid, *row in returned:
        # The row as this statement left it: a status changed meanwhile comes with the version it made.
        u = units[uid]
        u.lat, u.lon, u.position_at, u.version, u.status, u.call_sign, u.kind, u.ring_minutes, u.capabilities = row
        payload = unit_payload(u)
        updated.append(payload)
        by_org[u.org_id].append(payload)
    orgs_by_id = {u.org_id: u.org for u in units.values()}
    realtime.broadcast_many_on_commit(
        (orgs_by_id[org_id], "units.positions", {"units": items}) for org_id, items in by_org.items()
    )
    done = {p["id"] for p in updated}
    return PositionResult(updated=updated, skipped=sorted(set(newest) - done))


def unit_report_position(
    *, unit_id: int, actor: Any, lat: float, lon: float, at: datetime | None = None
) -> PositionResult:
    """One unit's position (its crew's phone); the batch path with one report."""
    return unit_report_positions(actor=actor, reports=[PositionReport(unit_id, lat, lon, at)])


@transaction.atomic
def unit_save_details(*, unit: Unit, actor: Any, created: bool, changed: Sequence[str] = ()) -> Unit:
    """The admin saved a unit's details (call sign, kind, org, ring, capabilities, a post's fixed position):
    log a new unit, bump the version of a changed one, push. Status never changes here."""
    if {"lat", "lon"} & set(changed) or (created and unit.has_position):
        unit.position_at = timezone.now()
    if created:
        unit.save()
        log_transition(unit, from_state="", to_state=unit.status, event="create", actor=acting_user(actor))
    else:
        # The form's copy may be old: the status and version come from the locked row.
        version, unit.status = Unit.objects.select_for_update().values_list("version", "status").get(pk=unit.pk)
        unit.version = version + 1
        fields = ["call_sign", "kind", "org", "capabilities", "ring_minutes", "lat", "lon", "position_at", "version"]
        unit.save(update_fields=fields)
    _unit_changed(unit)
    return unit


# --- Roster ---------------------------------------------------------------------------------------------


@transaction.atomic
def shift_add(
    *,
    actor: Any,
    person: Person,
    org: Org,
    starts_at: datetime,
    ends_at: datetime,
    unit: Unit | None = None,
    is_commander: bool = False,
    note: str = "",
) -> Shift:
    """Put a person on the roster (勤务) of `org`, optionally on a unit or as commander of the day."""
    orgs.require(actor, org, roles=ROSTER_ROLES)
    shift = Shift(
        person=person,
        org=org,
        unit=unit,
        starts_at=starts_at,
        ends_at=ends_at,
        is_commander=is_commander,
        note=note,
    )
    shift.full_clean()
    shift.save()
    return shift


# --- Orders ---------------------------------------------------------------------------------------------


def _lock_order(order_id: int, actor: Any, roles: Sequence[str]) -> tuple[DispatchOrder, Incident]:
    """Check the actor against the order's org, then lock its incident and the order, in that order."""
    brief = DispatchOrder.objects.select_related("org").get(pk=order_id)
    orgs.require(actor, brief.org, roles=roles)
    incident = transitions.lock(Incident, brief.incident_id)
    o = transitions.lock(DispatchOrder, order_id, related=["org", "unit", "dispatcher", "signed_by"])
    o.incident = incident
    return o, incident


def _release_unit(o: DispatchOrder, actor: Any, reason: str) -> None:
    """The order ended: its unit is free again."""
    if o.unit_id is None:
        return
    u = transitions.lock(Unit, o.unit_id, related=["org"])
    _move_unit(u, UnitEvent.RELEASE, actor, reason=reason)
    o.unit = u


def _sla(o: DispatchOrder, incident: Incident) -> incident_services.Sla:
    return incident_services.sla_for(incident.category_id, incident.level, o.ring_minutes)


@transaction.atomic
def order_dispatch(
    *,
    incident_id: int,
    actor: Any,
    unit_id: int | None = None,
    org_id: int | None = None,
    note: str = "",
    replaces: DispatchOrder | None = None,
) -> DispatchOrder:
    """Send a dispatch order (派警) for an incident to a unit or to a station.

    1. Check: exactly one of unit/org; the dispatcher's role on the incident; the target in their area.
    2. Lock the incident, then its org and the target's org; move the incident (incidents service): the
       first order makes it dispatched, later ones are reinforcements; a closed, merged or invalid incident
       refuses (409).
    3. Lock the unit and move it available → en_route (409 when it is not available).
    4. Create the order (addressed to the unit's org), log `sent`, start the sign clock, push.
    """
    if (unit_id is None) == (org_id is None):
        raise Refused("unit", _("Give a unit or an organisation."))
    seen = Incident.objects.select_related("org").get(pk=incident_id)
    orgs.require(actor, seen.org, roles=DISPATCH_ROLES)
    unit: Unit | None = None
    if unit_id is not None:
        unit = Unit.objects.select_related("org").filter(pk=unit_id).first()
        if unit is None or not orgs.can_act(actor, unit.org):
            raise Refused("unit", _("No such unit in your area."))
        target = unit.org
    else:
        found = Org.objects.filter(pk=org_id).first()
        if found is None or not orgs.can_act(actor, found):
            raise Refused("org", _("No such organisation in your area."))
        if found.kind != Org.Kind.POLICE or found.level not in (Org.Level.STATION, Org.Level.COMMUNITY):
            raise Refused("org", _("Dispatch orders go to a police station or a unit."))
        target = found
    now = timezone.now()
    incident = incident_hooks.incident_mark_dispatched(incident_id=incident_id, actor=actor, at=now)
    if unit is not None:
        unit = transitions.lock(Unit, unit.pk, related=["org"])
        _move_unit(unit, UnitEvent.DISPATCH, actor, reason=incident.number, at=now)
    first = (
        not DispatchOrder.objects.filter(incident_id=incident.pk)
        .exclude(state__in=[DispatchOrder.State.RETURNED, DispatchOrder.State.CANCELLED])
        .exists()
    )
    o = DispatchOrder(
        incident=incident,
        org=target,
        unit=unit,
        dispatcher=actor,
        kind=DispatchOrder.Kind.FIRST if first else DispatchOrder.Kind.REINFORCEMENT,
        note=note.strip(),
        ring_minutes=unit.ring_minutes if unit else None,
        sent_at=now,
        replaces=replaces,
    )
    o.sign_due_at = now + timedelta(seconds=_sla(o, incident).sign_s)
    o.save()
    log_transition(o, from_state="", to_state=o.state, event="send", actor=acting_user(actor))
    clocks.start(o, CLOCK_SIGN, due=o.sign_due_at, org=target)
    _order_changed(o, "sent", incident)
    return o


@transaction.atomic
def order_deliver(*, order_id: int, actor: Any) -> DispatchOrder:
    """The station's screen showed the order (called by the inbox when it displays it). The sign clock keeps
    running from sending: delivery is a receipt, not a reset."""
    o, incident = _lock_order(order_id, actor, STATION_ROLES)
    now = timezone.now()
    transitions.apply(o, ORDER, Event.DELIVER, actor)
    o.delivered_at = now
    transitions.save(o, "delivered_at")
    _order_changed(o, "delivered", incident)
    return o


@transaction.atomic
def order_sign(*, order_id: int, actor: Any) -> DispatchOrder:
    """签收: a named station officer takes the order. Meets the sign clock, starts the arrival clock (the
    unit's ring), and the first signature moves the incident to responding (已出警)."""
    o, incident = _lock_order(order_id, actor, STATION_ROLES)
    next_order_state(o.state, Event.SIGN)  # refuse (409) before touching the incident
    now = timezone.now()
    incident = incident_hooks.incident_mark_responding(incident_id=incident.pk, actor=actor, at=now)
    transitions.apply(o, ORDER, Event.SIGN, actor)
    o.signed_at, o.signed_by = now, acting_user(actor)
    o.delivered_at = o.delivered_at or now  # whoever signs has seen it
    o.arrive_due_at = now + timedelta(seconds=_sla(o, incident).arrive_s)
    transitions.save(o, "signed_at", "signed_by", "delivered_at", "arrive_due_at")
    clocks.meet(o, CLOCK_SIGN, at=now)
    clocks.start(o, CLOCK_ARRIVE, due=o.arrive_due_at, org=o.org)
    _order_changed(o, "signed", incident)
    return o


@transaction.atomic
def order_arrive(*, order_id: int, actor: Any) -> DispatchOrder:
    """到达现场. Meets the arrival clock, starts the report-back clock; the unit goes on scene and the first
    arrival moves the incident to on_scene."""
    o, incident = _lock_order(order_id, actor, ON_BEHALF_ROLES)
    next_order_state(o.state, Event.ARRIVE)  # refuse (409) before touching the incident
    now = timezone.now()
    incident = incident_hooks.incident_mark_on_scene(incident_id=incident.pk, actor=actor, at=now)
    transitions.apply(o, ORDER, Event.ARRIVE, actor)
    o.arrived_at = now
    o.feedback_due_at = now + timedelta(seconds=_sla(o, incident).feedback_s)
    transitions.save(o, "arrived_at", "feedback_due_at")
    clocks.meet(o, CLOCK_ARRIVE, at=now)
    clocks.start(o, CLOCK_FEEDBACK, due=o.feedback_due_at, org=o.org)
    if o.unit_id is not None:
        u = transitions.lock(Unit, o.unit_id, related=["org"])
        _move_unit(u, UnitEvent.ARRIVE, actor, reason=incident.number, at=now)
        o.unit = u
    _order_changed(o, "arrived", incident)
    return o


@transaction.atomic
def order_done(*, order_id: int, actor: Any, note: str = "") -> DispatchOrder:
    """The unit reports back that its part is finished (反馈): meets the report-back clock and frees the
    unit. The incident's written feedback (反馈单) and scene clearing are the incidents app's actions."""
    o, incident = _lock_order(order_id, actor, ON_BEHALF_ROLES)
    now = timezone.now()
    transitions.apply(o, ORDER, Event.DONE, actor, reason=note.strip())
    o.done_at = now
    transitions.save(o, "done_at")
    clocks.meet(o, CLOCK_FEEDBACK, at=now)
    _release_unit(o, actor, incident.number)
    _order_changed(o, "done", incident)
    return o


@transaction.atomic
def order_return(*, order_id: int, actor: Any, reason: str) -> DispatchOrder:
    """退单: the station sends the order back before signing (not its area, no one free), with a reason.
    Cancels the order's clocks and frees its unit; the command center dispatches again."""
    if not reason.strip():
        raise Refused("reason", _("Say why the order is returned."))
    o, incident = _lock_order(order_id, actor, STATION_ROLES)
    now = timezone.now()
    transitions.apply(o, ORDER, Event.RETURN, actor, reason=reason.strip())
    o.returned_at, o.return_reason = now, reason.strip()
    transitions.save(o, "returned_at", "return_reason")
    clocks.cancel(o, breached=True)  # a broken sign clock leaves the board with the order (the breach stays)
    _release_unit(o, actor, reason.strip())
    _order_changed(o, "returned", incident)
    _maybe_waiting_again(o, now)
    return o


@transaction.atomic
def order_cancel(*, order_id: int, actor: Any, reason: str, rewait: bool = True) -> DispatchOrder:
    """撤派: the command center calls the order off (before the unit is on scene), saying why. Cancels its
    clocks, frees its unit. When it was the incident's last live order and no one had signed, the call waits
    for a unit again: its dispatch clock runs again (incidents.hooks.incident_waiting_again)."""
    if not reason.strip():
        raise Refused("reason", _("Say why the order is called off."))
    o, incident = _lock_order(order_id, actor, DISPATCH_ROLES)
    now = timezone.now()
    transitions.apply(o, ORDER, Event.CANCEL, actor, reason=reason.strip())
    o.cancelled_at, o.cancel_reason = now, reason.strip()
    transitions.save(o, "cancelled_at", "cancel_reason")
    clocks.cancel(o, breached=True)  # broken clocks too: nothing will meet them now (the breach stays)
    _release_unit(o, actor, reason.strip())
    _order_changed(o, "cancelled", incident)
    if rewait:
        _maybe_waiting_again(o, now)
    return o


def _maybe_waiting_again(o: DispatchOrder, now: datetime) -> None:
    """An order ended before its unit got there: if the incident has no live order left, it waits again."""
    if not DispatchOrder.objects.filter(incident_id=o.incident_id, state__in=LIVE_ORDER_STATES).exists():
        incident_hooks.incident_waiting_again(incident_id=o.incident_id, since=now)


@transaction.atomic
def order_reassign(
    *, order_id: int, actor: Any, reason: str, unit_id: int | None = None, org_id: int | None = None
) -> DispatchOrder:
    """改派: call the order off (撤派, with the reason) and send the incident to another unit or station in the
    same transaction — the call never shows as waiting in between, and the new order `replaces` the old one
    (its instructions carried over). Refused (409) once the unit is on scene, as a cancel is."""
    if not reason.strip():
        raise Refused("reason", _("Say why the order is reassigned."))
    if (unit_id is None) == (org_id is None):
        raise Refused("unit", _("Give a unit or an organisation."))
    old = DispatchOrder.objects.filter(pk=order_id).values("unit_id", "org_id").first()
    if old is not None and unit_id is not None and old["unit_id"] == unit_id:
        raise Refused("unit", _("The order is with this unit already."))
    if old is not None and org_id is not None and old["unit_id"] is None and old["org_id"] == org_id:
        raise Refused("org", _("The order is with this station already."))
    cancelled = order_cancel(order_id=order_id, actor=actor, reason=reason, rewait=False)
    return order_dispatch(
        incident_id=cancelled.incident_id,
        actor=actor,
        unit_id=unit_id,
        org_id=org_id,
        note=cancelled.note,
        replaces=cancelled,
    )


def orders_cancel_for_merged(*, incident_id: int, actor_id: int) -> int:
    """The incident was merged into another (a duplicate): its orders still out are called off, so no
    station signs for or drives to a duplicate, and their units are free again. A hook listener
    (command_center/hooks.py): runs after the merge commits, and again changes nothing."""
    incident = Incident.objects.select_related("merged_into").filter(pk=incident_id).first()
    if incident is None or not incident.is_merged:
        return 0
    actor = get_user_model().objects.get(pk=actor_id)
    reason = _("Merged into %(number)s") % {"number": incident.merged_into.number if incident.merged_into else "-"}
    S = DispatchOrder.State
    live = DispatchOrder.objects.filter(incident_id=incident_id, state__in=[S.SENT, S.DELIVERED, S.SIGNED])
    cancelled = 0
    for order_id in live.order_by("pk").values_list("pk", flat=True):
        order_cancel(order_id=order_id, actor=actor, reason=reason)
        cancelled += 1
    return cancelled


__all__ = [
    "CLOCK_ARRIVE",
    "CLOCK_FEEDBACK",
    "CLOCK_SIGN",
    "LIVE_ORDER_STATES",
    "PositionReport",
    "PositionResult",
    "order_arrive",
    "order_cancel",
    "order_deliver",
    "order_dispatch",
    "order_done",
    "order_reassign",
    "order_return",
    "order_sign",
    "orders_cancel_for_merged",
    "register_clocks",
    "shift_add",
    "unit_report_position",
    "unit_report_positions",
    "unit_save_details",
    "unit_set_status",
]
