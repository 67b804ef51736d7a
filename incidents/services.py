"""Every write to an incident, a diversion, feedback or a callback.

Each service: lock the row, check the transition table, write the state with its log row, bump the
version (the kernel's step: command_center/transitions.py), start/meet/cancel clocks, queue pushes for after
commit — in one transaction. Each checks the actor's role and scope; what other apps do to an incident on
the strength of their own checks is in hooks.py.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from command_center import audit, clocks, hooks, memo, orgs, prepared, realtime, transitions
from command_center.audit import log_transition
from command_center.errors import Refused
from command_center.models import Category, Deadline, HandlingResult, Org, Role
from command_center.transitions import InvalidTransition

from . import selectors, webhooks
from .models import (
    CLOCK_DISPATCH,
    DEFAULT_DIVERSION_TERMS,
    Callback,
    Correction,
    Diversion,
    DiversionProposal,
    DiversionRule,
    DiversionTerms,
    Feedback,
    HandlingGuide,
    Incident,
    LinkType,
    PartnerWebhook,
    RepeatCluster,
    RepeatLink,
    Satisfaction,
    SlaPolicy,
    State,
)
from .payloads import clock_row, diversion_payload, incident_payload
from .transitions import DIVERSION, INCIDENT, Event

# Who may do what: the command center takes and closes calls; stations handle them.
INTAKE_ROLES = [Role.CALL_TAKER, Role.DUTY_OFFICER, Role.COMMANDER, Role.STATION_OFFICER]
COMMAND_ROLES = [Role.CALL_TAKER, Role.DUTY_OFFICER, Role.COMMANDER]
HANDLING_ROLES = [Role.DUTY_OFFICER, Role.COMMANDER, Role.STATION_OFFICER]
CALLBACK_ROLES = [Role.CALL_TAKER, Role.DUTY_OFFICER, Role.COMMANDER, Role.SUPERVISOR]

CLOCK_FEEDBACK = "incidents.feedback"
CLOCK_CALLBACK = "incidents.callback"
# CLOCK_DISPATCH (models.py): received → first dispatch order (派警), so no call waits unseen.
# A diversion's two clocks, answered for by the partner, both counted from the push (DiversionTerms).
CLOCK_DIVERSION_ACCEPT = "incidents.diversion.accept"
CLOCK_DIVERSION_FINISH = "incidents.diversion.finish"


# --- SLA ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sla:
    sign_s: int = 30
    arrive_s: int = 300
    feedback_s: int = 3600
    callback_s: int = 86400
    dispatch_s: int = 300


RING_ARRIVE_S = {1: 60, 3: 180, 5: 300}
# The dispatch clock when no policy sets one: the more urgent the level, the shorter the wait.
LEVEL_DISPATCH_S = {1: 60, 2: 120, 3: 300, 4: 600}


def sla_for(category_code: str, level: int, ring_minutes: int | None = None) -> Sla:
    """The most specific policy: a longer category prefix beats a shorter one, a set level or ring beats
    'any'. Without policies: sign 30 s, arrive by ring (1/3/5 min), feedback 1 h, callback 24 h; dispatch by
    level (LEVEL_DISPATCH_S), also when the best policy leaves its dispatch time empty."""
    best: tuple[tuple[int, int, int], SlaPolicy] | None = None
    # From process memory (memo.py; apps.py forgets it when a policy is saved): every intake asks.
    for p in memo.remember(("incidents.sla_policies",), lambda: list(SlaPolicy.objects.all())):
        if p.category_prefix and not category_code.startswith(p.category_prefix):
            continue
        if p.level is not None and p.level != level:
            continue
        if p.ring_minutes is not None and p.ring_minutes != ring_minutes:
            continue
        score = (len(p.category_prefix), p.level is not None, p.ring_minutes is not None)
        if best is None or score > best[0]:
            best = (score, p)
    by_level = LEVEL_DISPATCH_S.get(level, 300)
    if best:
        p = best[1]
        return Sla(p.sign_s, p.arrive_s, p.feedback_s, p.callback_s, p.dispatch_s or by_level)
    return Sla(arrive_s=RING_ARRIVE_S.get(ring_minutes or 5, 300), dispatch_s=by_level)


def register_clocks() -> None:
    clocks.register(CLOCK_FEEDBACK, label=gettext_lazy("Feedback due"))
    clocks.register(CLOCK_CALLBACK, label=gettext_lazy("Callback due"))
    clocks.register(CLOCK_DISPATCH, label=gettext_lazy("Dispatch due"))
    clocks.register(CLOCK_DIVERSION_ACCEPT, label=gettext_lazy("Accept due"), on_breach=on_diversion_breach)
    clocks.register(CLOCK_DIVERSION_FINISH, label=gettext_lazy("Finish due"), on_breach=on_diversion_breach)


def _start_dispatch_clock(i: Incident, *, since: datetime) -> dict[str, Any]:
    """Received → dispatched: due `dispatch_s` (SLA policy, by level and category) after `since` — the call
    (reported_at) at intake, the partner's return when a diversion comes back to the queue."""
    due = since + timedelta(seconds=sla_for(i.category_id, i.level).dispatch_s)
    return clock_row(clocks.start(i, CLOCK_DISPATCH, due=due, org=i.org), label=str(clocks.kind(CLOCK_DISPATCH).label))


# --- Pushes ---------------------------------------------------------------------------------------------


def _changed(i: Incident, event: str) -> None:
    realtime.broadcast_on_commit(i.org, f"incident.{event}", incident_payload(i))


# --- Intake ---------------------------------------------------------------------------------------------


@dataclass
class IntakeData:
    call_id: str
    source: str
    address: str
    category: Category
    level: int = 3
    caller_phone: str = ""
    caller_name: str = ""
    caller_lat: float | None = None
    caller_lon: float | None = None
    lat: float | None = None
    lon: float | None = None
    narrative: str = ""
    org: Org | None = None
    reported_at: datetime | None = None
    answered_at: datetime | None = None
    repeat_of: Incident | None = None
    link_type: str = LinkType.REPEAT


# The incident row, its first log row, its number and (but for another report of an event, which its master's
# dispatch answers) its dispatch clock, in one statement. The (region, day) sequence row is taken in the same
# statement and stays locked until the intake commits, so numbers are handed out in commit order and a
# rollback (a duplicate call_id, anything later) gives its number back: no gaps. The log row's and the
# clock's SQL come from the kernel (audit.log_insert_sql, clocks.start_insert_sql); the log's `at` is the
# database's. Prepared once per kept connection (command_center/prepared.py).
_INSERT_SQL: dict[bool, str] = {}
_INSERT_FIELDS: list[Any] = []


def _insert_sql(*, with_clock: bool) -> str:
    if with_clock not in _INSERT_SQL:
        fields = [f for f in Incident._meta.concrete_fields if f.attname not in ("id", "number")]
        _INSERT_FIELDS[:] = fields
        cols = ", ".join(connection.ops.quote_name(str(f.column)) for f in fields)
        vals = ", ".join(["%s"] * len(fields))
        log = audit.log_insert_sql(Incident, subject_sql="inc.id", from_sql="inc")
        clock = clocks.start_insert_sql(subject_sql="inc.id", from_sql="inc") if with_clock else "SELECT NULL AS id"
        _INSERT_SQL[with_clock] = f"""
            WITH seq AS (
                INSERT INTO incidents_incidentsequence (region, day, last) VALUES (%s, %s, 1)
                ON CONFLICT (region, day) DO UPDATE SET last = incidents_incidentsequence.last + 1
                RETURNING last
            ), inc AS (
                INSERT INTO incidents_incident (number, {cols})
                SELECT %s || lpad(seq.last::text, greatest(6, length(seq.last::text)), '0'), {vals} FROM seq
                RETURNING id, number
            ), log AS (
                {log}
            ), clock AS (
                {clock}
            )
            SELECT inc.id, inc.number, (SELECT id FROM clock) FROM inc
        """  # noqa: S608  # column names from the model, values are parameters
    return _INSERT_SQL[with_clock]


def _insert(incident: Incident, *, region: str, day: Any, actor: Any, clock: tuple[Deadline, list[Any]] | None) -> None:
    """Store a new incident with its number, its `received` log row and `clock` (clocks.start_insert_params),
    if any (sets the pks, the number and the clock's subject)."""
    sql = _insert_sql(with_clock=clock is not None)
    values = [f.get_db_prep_save(f.pre_save(incident, True), connection) for f in _INSERT_FIELDS]
    log = audit.log_insert_params(from_state="", to_state=incident.state, event="intake", actor=actor)
    params = [region, day, f"{region}{day:%Y%m%d}", *values, *log, *(clock[1] if clock else [])]
    with connection.cursor() as cur:
        name = "cc_incident_insert_clock" if clock else "cc_incident_insert"
        prepared.execute(cur, name, sql, params)
        row = cur.fetchone()
    assert row is not None
    incident.pk, incident.number, clock_id = row
    incident._state.adding = False
    incident._state.db = connection.alias
    if clock is not None:
        clock[0].pk, clock[0].subject_id = clock_id, incident.pk
        clock[0]._state.adding = False
        clock[0]._state.db = connection.alias


def incident_intake(*, actor: Any, data: IntakeData) -> tuple[Incident, bool]:
    """Store a call as an incident (接警). Returns (incident, created).

    The same source + call_id again returns the stored incident (created=False): a retried request never
    makes two, even when both retries run at once. The unique constraint decides (no read before the
    insert: most calls are new); the loser rolls back, with the number it took, and reads the winner's row.
    """
    try:
        return _intake(actor=actor, data=data), True
    except IntegrityError:
        existing = Incident.objects.filter(source=data.source, call_id=data.call_id, desk=_desk(actor)).first()
        if existing is None:
            raise
        # Taken at the caller's own desk, so normally in its area; if it was moved out since, it is not
        # theirs to read ("no such incident", as for any id outside the area).
        if not selectors.visible_incidents(actor).filter(pk=existing.pk).exists():
            raise Refused("call_id", _("This call id was already used for an incident outside your area.")) from None
        return existing, False


def _desk(actor: Any) -> Org:
    """The org taking the call: the person's, or the top of the tree for a superuser without one."""
    person = orgs.person_of(actor)
    home = person.org if person else Org.objects.filter(depth=1).order_by("path").first()
    if home is None:
        raise Refused("org", _("There is no organisation to take the call for."))
    return home


def _intake(*, actor: Any, data: IntakeData) -> Incident:
    """Steps: scope and routing from memory (the person came with the request, the org tree and stations are
    cached); one read of the earlier incidents nearby for the repeat ledger; one statement that stores the
    row, its log row, its number and its clock; ledger lines, a link or a diversion proposal only when the
    call needs them; push after commit.

    Most calls need nothing but that one statement, and a statement is atomic on its own: it then runs
    without BEGIN and COMMIT (two round trips fewer; README, "Levers of the second round"), its push sent
    once it has committed. A call that writes more, or an intake inside a caller's transaction, runs in a transaction
    (a savepoint inside the caller's, so a duplicate call id rolls back only its own work)."""
    home = _desk(actor)
    orgs.require(actor, home, roles=INTAKE_ROLES)
    org = data.org
    if org is None and data.lat is not None and data.lon is not None:
        org = selectors.nearest_station(actor, data.lat, data.lon)
    org = org or home
    if not orgs.can_act(actor, org):
        raise Refused("org", _("This organisation is outside your area."))
    now = timezone.now()
    intake_org = selectors.command_center_of(home)
    incident = Incident(
        source=data.source,
        call_id=data.call_id,
        caller_phone=data.caller_phone.strip(),
        phone_key=selectors.phone_key(data.caller_phone),
        caller_name=data.caller_name.strip() or "匿名",
        caller_lat=data.caller_lat,
        caller_lon=data.caller_lon,
        address=data.address.strip(),
        address_key=selectors.address_key(data.address),
        lat=data.lat,
        lon=data.lon,
        cell=selectors.cell_of(data.lat, data.lon),
        category=data.category,
        first_category=data.category,
        level=data.level,
        narrative=data.narrative,
        org=org,
        intake_org=intake_org,
        desk=home,
        taken_by=actor if getattr(actor, "pk", None) else None,
        reported_at=data.reported_at or now,
        answered_at=data.answered_at or data.reported_at or now,
        intake_done_at=now,
    )
    # Read before the insert: what was here before this call (nothing of it is stored yet).
    lines = _ledger_lines(incident, selectors.ledger_hints(incident))
    rule = selectors.rule_for(incident) if data.repeat_of is None else None
    region = (intake_org.region_code or "000000")[:6]
    # Received → dispatched, stored with the incident: due `dispatch_s` (SLA policy) after the call.
    clock = None
    if data.repeat_of is None:
        due = incident.reported_at + timedelta(seconds=sla_for(incident.category_id, incident.level).dispatch_s)
        clock = clocks.start_insert_params(Incident, CLOCK_DISPATCH, due=due, org=org)
    alone = data.repeat_of is None and not lines and rule is None and not connection.in_atomic_block
    with contextlib.nullcontext() if alone else transaction.atomic():
        _insert(incident, region=region, day=timezone.localdate(now), actor=actor, clock=clock)
        if data.repeat_of is not None:
            _link(incident, data.repeat_of, data.link_type, actor, _("Linked at intake"), field="repeat_of")
        _ledger(incident, lines)
        if data.repeat_of is None:
            _propose_diversion(incident, rule)
        _announce(incident, clock, data)
    return incident


def _announce(incident: Incident, clock: tuple[Deadline, list[Any]] | None, data: IntakeData) -> None:
    """The new call on the boards, once it has committed."""
    if data.repeat_of is None:
        assert clock is not None
        # The push carries the clock, so the boards count down a new call without a reload.
        row = clock_row(clock[0], label=str(clocks.kind(CLOCK_DISPATCH).label))
        realtime.broadcast_on_commit(incident.org, "incident.created", {**incident_payload(incident), "clocks": [row]})
    else:
        # Another report of its master, whose dispatch answers it: the boards list it under the master.
        link = {"master": data.repeat_of.pk, "link_type": data.link_type}
        realtime.broadcast_on_commit(incident.org, "incident.created", {**incident_payload(incident), **link})


def _propose_diversion(incident: Incident, rule: DiversionRule | None) -> None:
    """The auto-diversion rule for the new call, if one matches (selectors.rule_for): stored as a proposal
    (the rule's hit), which the desk confirms with one key (incident_divert with the rule) or ignores.
    The intake's answer shows it: kept on the incident (`intake_proposal`, None when no rule matched) so
    the view need not read it back."""
    proposal = None
    if rule is not None:
        proposal = DiversionProposal.objects.create(incident=incident, rule=rule, target=rule.target)
    incident.intake_proposal = proposal  # type: ignore[attr-defined]


def _link(incident: Incident, master: Incident, link_type: str, actor: Any, reason: str, *, field: str) -> RepeatLink:
    if master.pk == incident.pk:
        raise Refused(field, _("An incident cannot repeat itself."))
    if not orgs.can_act(actor, master.org):
        # As for an id that does not exist: another area's incident numbers are not the caller's to probe.
        raise Refused(field, _("No such incident."))
    return RepeatLink.objects.create(
        incident=incident, master=master, link_type=link_type, reason=reason, created_by=actor
    )


THEMES = {
    "0202": RepeatCluster.Theme.GAMBLING,
    "0206": RepeatCluster.Theme.DRUNKENNESS,
    "0205": RepeatCluster.Theme.NOISE,
    "0207": RepeatCluster.Theme.VENUE,
}


def _ledger_lines(incident: Incident, hints: list[selectors.Hint]) -> list[tuple[str, list[selectors.Earlier]]]:
    """The repeat ledger's lines the incident goes on (`hints`: selectors.ledger_hints), by kind: when it
    makes a place recurring, recurs after handling, or repeats an open event. Decided before the insert."""
    by_kind: dict[str, list[selectors.Earlier]] = {}
    for h in hints:
        by_kind.setdefault(h.kind, []).append(h.incident)
    K = RepeatCluster.Kind
    wanted: list[tuple[str, list[selectors.Earlier]]] = []
    if by_kind.get("same_event"):
        wanted.append((K.SAME_EVENT, by_kind["same_event"]))
    if by_kind.get("after_handling"):
        wanted.append((K.AFTER_HANDLING, by_kind["after_handling"]))
    recurring = by_kind.get("recurring", []) + by_kind.get("after_handling", [])
    if len(recurring) + 1 >= settings.REPEAT["cluster_min"]:
        wanted.append((K.RECURRING, recurring))
    return wanted


def _ledger(incident: Incident, lines: list[tuple[str, list[selectors.Earlier]]]) -> None:
    """Put the stored incident on its ledger lines (_ledger_lines): on the open line of the same kind for
    the same place and type, or on a new one."""
    type_prefix = incident.category_id[:4]
    for kind, others in lines:
        cluster = (
            RepeatCluster.objects.select_for_update()
            .filter(
                kind=kind,
                status__in=[RepeatCluster.Status.OPEN, RepeatCluster.Status.GOVERNED],
                category__code__startswith=type_prefix,
                incidents__in=[o.pk for o in others],
            )
            .order_by("pk")
            .first()
        )
        if cluster is None:
            cluster = RepeatCluster.objects.create(
                kind=kind,
                theme=THEMES.get(type_prefix, RepeatCluster.Theme.OTHER),
                org=incident.org,
                category=incident.category,
                address=incident.address,
                lat=incident.lat,
                lon=incident.lon,
                first_at=min([incident.reported_at, *(o.reported_at for o in others)]),
                last_at=incident.reported_at,
            )
        cluster.incidents.add(incident, *[o.pk for o in others])
        cluster.count = cluster.incidents.count()
        cluster.last_at = max(cluster.last_at, incident.reported_at)
        cluster.save(update_fields=["count", "last_at"])
        _cluster_push(cluster, incident)


# --- Transitions ----------------------------------------------------------------------------------------


@transaction.atomic
def incident_self_handle(*, incident_id: int, actor: Any, reason: str = "") -> Incident:
    """Settled on the phone or online (已自处)."""
    i = transitions.lock(Incident, incident_id, related=["org"])
    orgs.require(actor, i.org, roles=[*COMMAND_ROLES, Role.STATION_OFFICER])
    transitions.apply(i, INCIDENT, Event.SELF_HANDLE, actor, reason=reason)
    transitions.save(i)
    clocks.cancel(i, CLOCK_DISPATCH, breached=True)  # settled without an order: no dispatch is owed
    clocks.start(
        i, CLOCK_FEEDBACK, due=timezone.now() + timedelta(seconds=sla_for(i.category_id, i.level).feedback_s), org=i.org
    )
    _changed(i, "updated")
    return i


@transaction.atomic
def incident_divert(
    *, incident_id: int, actor: Any, partner: Org, note: str = "", rule: DiversionRule | None = None
) -> Diversion:
    """Hand a non-police incident to a partner agency or a community/village (分流). `rule`: the auto-diversion
    rule the desk confirmed (its target must be `partner`); the diversion names it, so it counts."""
    i = transitions.lock(Incident, incident_id, related=["org"])
    orgs.require(actor, i.org, roles=COMMAND_ROLES)
    if not selectors.is_diversion_target(partner):
        raise Refused("partner", _("Diversions go to partner agencies and communities only."))
    if partner.level == Org.Level.COMMUNITY and not orgs.can_act(actor, partner):
        raise Refused("partner", _("This community is outside your area."))
    if rule is not None and rule.target_id != partner.pk:
        raise Refused("rule", _("This rule diverts to another organisation."))
    transitions.apply(i, INCIDENT, Event.DIVERT, actor, reason=note)
    transitions.save(i)
    clocks.cancel(i, CLOCK_DISPATCH, breached=True)  # the partner's now; a return starts it again
    d = Diversion.objects.create(
        incident=i, partner=partner, note=note, pushed_by=actor, pushed_at=timezone.now(), rule=rule
    )
    log_transition(d, from_state="", to_state=d.state, event="push", actor=actor, reason=note)
    _start_diversion_clocks(d)
    _changed(i, "updated")
    realtime.broadcast_on_commit(partner, "diversion.pushed", diversion_payload(d))
    webhooks.diversion_event(d, PartnerWebhook.Event.PUSHED)  # the partner's own system, if it registered one
    return d


@transaction.atomic
def incident_invalidate(*, incident_id: int, actor: Any, reason: str) -> Incident:
    """A prank, a misdial, a silent line (无效警情)."""
    if not reason.strip():
        raise Refused("reason", _("Say why the call is invalid."))
    i = transitions.lock(Incident, incident_id, related=["org"])
    orgs.require(actor, i.org, roles=COMMAND_ROLES)
    transitions.apply(i, INCIDENT, Event.INVALIDATE, actor, reason=reason)
    transitions.save(i)
    clocks.cancel(i, breached=True)
    _changed(i, "updated")
    return i


@transaction.atomic
def incident_merge(*, incident_id: int, actor: Any, into_id: int) -> Incident:
    """This incident is a duplicate of `into`: it leaves the queue and links to the master."""
    if incident_id == into_id:
        raise Refused("into", _("An incident cannot be merged into itself."))
    # Lock both rows in id order, so two merges in opposite directions cannot deadlock.
    locked = {x.pk: x for x in transitions.lock_all(Incident, [incident_id, into_id], related=["org"])}
    if incident_id not in locked:
        raise Incident.DoesNotExist
    i = locked[incident_id]
    orgs.require(actor, i.org, roles=COMMAND_ROLES)
    master = locked.get(into_id)
    if master is None or not orgs.can_act(actor, master.org):
        # Another area's incident answers as one that does not exist: its id is not the caller's to probe.
        raise Refused("into", _("No such incident."))
    if master.state in (State.MERGED, State.INVALID):
        raise Refused("into", _("Merge into an incident that is still valid."))
    transitions.apply(i, INCIDENT, Event.MERGE, actor, reason=master.number)
    i.merged_into = master
    transitions.save(i, "merged_into")
    RepeatLink.objects.get_or_create(
        incident=i, master=master, defaults={"link_type": LinkType.REPEAT, "reason": _("Merged"), "created_by": actor}
    )
    clocks.cancel(i, breached=True)  # the duplicate's broken clocks leave the board (the master's run on)
    master.version += 1
    master.save(update_fields=["version"])
    # `master`: the boards list the duplicate under its master from now on (as a reload does).
    realtime.broadcast_on_commit(
        i.org, "incident.updated", {**incident_payload(i), "master": master.pk, "link_type": LinkType.REPEAT}
    )
    _changed(master, "updated")
    # A dispatched duplicate may still have orders out: dispatch calls them off after commit.
    hooks.emit_on_commit(hooks.INCIDENT_MERGED, incident_id=i.pk, actor_id=actor.pk)
    return i


@transaction.atomic
def incident_feedback(
    *,
    incident_id: int,
    actor: Any,
    text: str,
    result: HandlingResult,
    guide: HandlingGuide | None = None,
    ticked: list[int] | None = None,
    unticked_reason: str = "",
    **fields: Any,
) -> Feedback:
    """A feedback form (反馈单). The first one meets the feedback clock.

    `guide`: the handling guide's version the officer ticked (`ticked`: its items' numbers). It must be for
    the incident's category and level (a version since revised still counts: it is what they saw). A
    required item left unticked is refused, naming the items, unless `unticked_reason` says why. Without a
    guide the feedback carries no checklist (a client that shows none)."""
    i = transitions.lock(Incident, incident_id, related=["org"])
    # `via`: a station sent to another area's incident files its feedback too (orgs.add_reach).
    person = orgs.require(actor, i.org, roles=[*HANDLING_ROLES, Role.CALL_TAKER], via=i)
    transitions.apply(i, INCIDENT, Event.FEEDBACK, actor)
    ticks = sorted(set(ticked or []))
    reason = unticked_reason.strip()
    if guide is not None:
        _check_ticks(i, guide, ticks, reason)
    elif ticks:
        raise Refused("guide", _("Name the handling guide the items were ticked on."))
    fb = Feedback.objects.create(
        incident=i,
        author=actor,
        org=person.org if person else i.org,
        text=text,
        result=result,
        guide=guide,
        ticked=ticks,
        unticked_reason=reason if guide is not None else "",
        **fields,
    )
    transitions.save(i)
    clocks.meet(i, CLOCK_FEEDBACK)
    _changed(i, "updated")
    return fb


def _check_ticks(i: Incident, guide: HandlingGuide, ticks: list[int], reason: str) -> None:
    """400 for a guide of another category or level, a tick naming no item, or a required item unticked
    without a reason (the items named by number and text)."""
    prefix_ok = not guide.category_prefix or i.category_id.startswith(guide.category_prefix)
    if not prefix_ok or (guide.level is not None and guide.level != i.level):
        raise Refused("guide", _("This handling guide is not for this incident's category and level."))
    numbers = {int(item["n"]) for item in guide.items}
    unknown = [n for n in ticks if n not in numbers]
    if unknown:
        raise Refused("ticked", _("No such item in the guide: %(n)s.") % {"n": ", ".join(map(str, unknown))})
    missing = [item for item in guide.items if item.get("required") and item["n"] not in ticks]
    if missing and not reason:
        names = "; ".join(f"{item['n']}. {item['text']}" for item in missing)
        raise Refused(
            "ticked",
            _("Required items not ticked: %(items)s. Tick them, or say why they were not done.") % {"items": names},
        )


@transaction.atomic
def incident_clear_scene(*, incident_id: int, actor: Any, at: datetime | None = None) -> Incident:
    i = transitions.lock(Incident, incident_id, related=["org"])
    orgs.require(actor, i.org, roles=HANDLING_ROLES)
    transitions.apply(i, INCIDENT, Event.CLEAR_SCENE, actor)
    i.scene_cleared_at = at or timezone.now()
    transitions.save(i, "scene_cleared_at")
    _changed(i, "updated")
    return i


@transaction.atomic
def incident_close(*, incident_id: int, actor: Any, reason: str = "") -> Incident:
    """警情处置完毕. Needs a feedback first (except when closed through a partner); starts the callback clock."""
    i = transitions.lock(Incident, incident_id, related=["org"])
    orgs.require(actor, i.org, roles=[*HANDLING_ROLES, Role.CALL_TAKER])
    if i.state in (State.SCENE_CLEARED, State.SELF_HANDLED) and not i.feedback.exists():
        raise Refused("feedback", _("File a feedback before closing."))
    transitions.apply(i, INCIDENT, Event.CLOSE, actor, reason=reason)
    _closed(i)
    return i


def _closed(i: Incident) -> None:
    i.closed_at = timezone.now()
    transitions.save(i, "closed_at")
    clocks.cancel(i, CLOCK_FEEDBACK)
    callback_s = sla_for(i.category_id, i.level).callback_s
    clocks.start(i, CLOCK_CALLBACK, due=i.closed_at + timedelta(seconds=callback_s), org=i.intake_org)
    _changed(i, "updated")


@transaction.atomic
def incident_callback(*, incident_id: int, actor: Any, channel: str, satisfaction: str, text: str = "") -> Callback:
    """回访. Dissatisfied marks the incident for rectification (the loop opens the task later)."""
    i = transitions.lock(Incident, incident_id, related=["org"])
    orgs.require(actor, i.intake_org, roles=CALLBACK_ROLES)
    if Callback.objects.filter(incident=i).exists():
        raise InvalidTransition(i.state, Event.CALLBACK, [])  # one callback per incident (一警一回访)
    transitions.apply(i, INCIDENT, Event.CALLBACK, actor, reason=satisfaction)
    cb = Callback.objects.create(incident=i, channel=channel, satisfaction=satisfaction, text=text, by=actor)
    i.needs_rectification = satisfaction == Satisfaction.DISSATISFIED
    transitions.save(i, "needs_rectification")
    clocks.meet(i, CLOCK_CALLBACK)
    _changed(i, "updated")
    if i.needs_rectification:
        # Hook for the loop (intel listens, see command_center/hooks.py): open a rectification task after commit.
        hooks.emit_on_commit(hooks.INCIDENT_DISSATISFIED, incident_id=i.pk)
    return cb


@transaction.atomic
def incident_link(*, incident_id: int, actor: Any, master_id: int, link_type: str, reason: str = "") -> RepeatLink:
    i = transitions.lock(Incident, incident_id, related=["org"])
    orgs.require(actor, i.org, roles=COMMAND_ROLES)
    master = Incident.objects.select_related("org").filter(pk=master_id).first()
    if master is None:
        raise Refused("master", _("No such incident."))
    link = _link(i, master, link_type, actor, reason, field="master")
    clocks.cancel(i, CLOCK_DISPATCH, breached=True)  # it rides under its master now, whose dispatch answers it
    i.version += 1
    i.save(update_fields=["version"])
    realtime.broadcast_on_commit(
        i.org, "incident.updated", {**incident_payload(i), "master": master.pk, "link_type": link_type}
    )
    return link


# --- Corrections (更正 / 重新定性) ---------------------------------------------------------------------

CORRECT_ROLES = [*COMMAND_ROLES, Role.STATION_OFFICER]
_KEEP: Any = object()  # "not given": a correction changes only the fields it names


@transaction.atomic
def incident_correct(
    *,
    incident_id: int,
    actor: Any,
    reason: str,
    category: Category | None = None,
    level: int | None = None,
    address: str | None = None,
    lat: Any = _KEEP,
    lon: Any = _KEEP,
    narrative: str | None = None,
) -> list[Correction]:
    """Correct what the call-taker wrote down: category (重新定性), level, address, position, narrative.

    Each changed field is a Correction row (old → new, as codes where there are codes) with the reason, and
    the incident's log gets one `reclassify` row; `first_category` keeps the first classification. A call
    still waiting for dispatch whose position moved goes to the station whose polygon holds the new point
    (logged as an `org` correction). New category or level re-times the running clocks their terms set —
    the dispatch clock (from when it started) and the incident's feedback clock — so the queue ranks the
    call by what it is; orders already out keep their clocks. A merged or invalid incident refuses (409).
    """
    reason = reason.strip()
    if not reason:
        raise Refused("reason", _("Say why it is corrected."))
    i = transitions.lock(Incident, incident_id, related=["org", "category"])
    orgs.require(actor, i.org, roles=CORRECT_ROLES)
    transitions.next_state(INCIDENT, i.state, Event.RECLASSIFY)  # 409 before anything is written
    F = Correction.Field
    changes: list[tuple[str, str, str]] = []
    if category is not None and category.pk != i.category_id:
        changes.append((F.CATEGORY, i.category_id, category.pk))
        i.category = category
    if level is not None and level != i.level:
        changes.append((F.LEVEL, str(i.level), str(level)))
        i.level = level
    if address is not None and address.strip() and address.strip() != i.address:
        changes.append((F.ADDRESS, i.address, address.strip()))
        i.address, i.address_key = address.strip(), selectors.address_key(address)
    if lat is not _KEEP and (lat, lon) != (i.lat, i.lon):
        old = "" if i.lat is None else f"{i.lat:.6f},{i.lon:.6f}"
        changes.append((F.POSITION, old, "" if lat is None else f"{lat:.6f},{lon:.6f}"))
        i.lat, i.lon, i.cell = lat, lon, selectors.cell_of(lat, lon)
    if narrative is not None and narrative != i.narrative:
        changes.append((F.NARRATIVE, i.narrative, narrative))
        i.narrative = narrative
    old_org = i.org
    if i.state == State.RECEIVED and i.lat is not None and i.lon is not None and lat is not _KEEP:
        owner = selectors.nearest_station(actor, i.lat, i.lon)
        if owner is not None and owner.pk != i.org_id:
            changes.append((F.ORG, str(i.org_id), str(owner.pk)))
            i.org = owner
    if not changes:
        raise Refused("reason", _("Nothing differs from what is stored: nothing to correct."))
    rows = Correction.objects.bulk_create(
        [Correction(incident=i, field=f, old=o, new=n, reason=reason, by=actor) for f, o, n in changes]
    )
    summary = "; ".join(f"{f}: {o or '∅'} → {n or '∅'}" for f, o, n in changes if f not in (F.NARRATIVE, F.ORG))
    transitions.apply(i, INCIDENT, Event.RECLASSIFY, actor, reason=f"{reason} ({summary})" if summary else reason)
    transitions.save(i, "category", "level", "address", "address_key", "lat", "lon", "cell", "narrative", "org")
    fields = {f for f, _o, _n in changes}
    if fields & {F.CATEGORY, F.LEVEL, F.ORG}:
        _retime(i)
    if i.org_id != old_org.pk:
        # The old area's boards drop it (it is not theirs to show any more); the new one's add it.
        realtime.broadcast_on_commit(old_org, "incident.updated", incident_payload(i))
    rows_ = [clock_row(d, label=str(clocks.kind(d.kind).label)) for d in clocks.unmet_for(i)]
    payload = {**incident_payload(i), "clocks": rows_}
    realtime.broadcast_on_commit(i.org, "incident.updated", payload)
    return rows


def _retime(i: Incident) -> None:
    """The incident's terms changed (category, level, org): its running dispatch and feedback clocks are due
    by the new terms, counted from when each started, and answered for by the incident's org."""
    sla = sla_for(i.category_id, i.level)
    for kind, seconds in ((CLOCK_DISPATCH, sla.dispatch_s), (CLOCK_FEEDBACK, sla.feedback_s)):
        clocks.retime(i, kind, due=partial(_after, seconds=seconds), org=i.org)


def _after(started: datetime, *, seconds: int) -> datetime:
    return started + timedelta(seconds=seconds)


# --- The repeat ledger's pushes (the loop moves a line: hooks.repeat_cluster_move) ----------------------


def _cluster_push(c: RepeatCluster, incident: Incident | None = None) -> None:
    """`repeat.cluster` to the boards of the line's org and its ancestors, each group told only what it may
    see: its count is of the line's incidents in its own subtree (a line can gather incidents of two
    areas), and a group for which the new `incident` is outside its subtree hears nothing of it."""
    members = list(c.incidents.values_list("pk", "org__path"))

    def payload_for(org: Org) -> dict[str, Any] | None:
        mine = {pk for pk, path in members if path.startswith(org.path)}
        if incident is not None and incident.pk not in mine:
            return None
        data = {"id": c.pk, "kind": c.kind, "status": c.status, "count": len(mine), "address": c.address}
        return {**data, "incident": incident.pk} if incident is not None else data

    realtime.broadcast_each_on_commit([c.org], "repeat.cluster", payload_for)


# --- Diversions (partner side) --------------------------------------------------------------------------


@transaction.atomic
def diversion_accept(*, diversion_id: int, actor: Any) -> Diversion:
    d = transitions.lock(Diversion, diversion_id, related=["partner"])
    orgs.require(actor, d.partner, roles=[Role.PARTNER])
    transitions.apply(d, DIVERSION, "accept", actor)
    d.accepted_at = timezone.now()
    transitions.save(d, "accepted_at")
    diversion_clock_step(d, "accept")
    _diversion_changed(d)
    return d


def _partner_finishes(
    *, diversion_id: int, actor: Any, event: str, field: str, text: str
) -> tuple[Diversion, Incident]:
    """The partner ends a diversion (return or complete): its text is required; both rows come back locked,
    the diversion first, then its incident."""
    d = transitions.lock(Diversion, diversion_id, related=["partner"])
    orgs.require(actor, d.partner, roles=[Role.PARTNER])
    transitions.apply(d, DIVERSION, event, actor, reason=text)
    setattr(d, field, text)
    d.finished_at = timezone.now()
    transitions.save(d, field, "finished_at")
    return d, transitions.lock(Incident, d.incident_id, related=["org"])


@transaction.atomic
def diversion_return(*, diversion_id: int, actor: Any, reason: str) -> Diversion:
    """退回: not ours. The incident goes back to the command center's queue."""
    if not reason.strip():
        raise Refused("reason", _("Say why it is returned."))
    d, i = _partner_finishes(diversion_id=diversion_id, actor=actor, event="return", field="return_reason", text=reason)
    diversion_clock_step(d, "return")
    transitions.apply(i, INCIDENT, Event.PARTNER_RETURNED, actor, reason=reason)
    transitions.save(i)
    clock = _start_dispatch_clock(i, since=d.finished_at or timezone.now())  # waiting again, from now
    realtime.broadcast_on_commit(i.org, "incident.updated", {**incident_payload(i), "clocks": [clock]})
    _diversion_changed(d)
    return d


@transaction.atomic
def diversion_complete(*, diversion_id: int, actor: Any, result: str) -> Diversion:
    """The partner's result comes back onto the incident, which closes."""
    if not result.strip():
        raise Refused("result", _("Say what was done."))
    d, i = _partner_finishes(diversion_id=diversion_id, actor=actor, event="complete", field="result", text=result)
    diversion_clock_step(d, "complete")
    transitions.apply(i, INCIDENT, Event.PARTNER_DONE, actor, reason=result)
    _closed(i)
    _diversion_changed(d)
    return d


def _diversion_changed(d: Diversion) -> None:
    """After any step of a diversion (a service that voids one calls this too): the partner's inbox and the
    incident's boards (a group both lineages share, the city, hears it once), and the partner's webhooks."""
    realtime.broadcast_on_commit(d.partner, "diversion.updated", diversion_payload(d), also=[d.incident.org])
    webhooks.diversion_event(d, PartnerWebhook.Event.UPDATED)


# --- Handling guides (处置指引) -------------------------------------------------------------------------


def guide_items(lines: list[tuple[str, bool]]) -> list[dict[str, Any]]:
    """(text, required) pairs as a guide's items, numbered from 1 in order; blank texts are dropped."""
    kept = [(t.strip(), r) for t, r in lines if t.strip()]
    if not kept:
        raise Refused("items", _("A guide needs at least one item."))
    return [{"n": n, "text": t, "required": bool(r)} for n, (t, r) in enumerate(kept, start=1)]


GUIDE_FIELDS = ("category_prefix", "level", "title", "items")


@transaction.atomic
def guide_create(
    *, actor: Any, category_prefix: str, level: int | None, title: str, items: list[tuple[str, bool]]
) -> HandlingGuide:
    """A new guide (version 1). The current guide of the same prefix and level is refused by the constraint:
    revise that one instead."""
    _require_admin(actor)
    if HandlingGuide.objects.filter(current=True, category_prefix=category_prefix, level=level).exists():
        raise Refused("category_prefix", _("A guide for this category and level exists: revise it."))
    return HandlingGuide.objects.create(
        category_prefix=category_prefix, level=level, title=title.strip(), items=guide_items(items), created_by=actor
    )


@transaction.atomic
def guide_revise(
    *, guide_id: int, actor: Any, category_prefix: str, level: int | None, title: str, items: list[tuple[str, bool]]
) -> HandlingGuide:
    """Edit a guide: the current version is retired (kept, read-only: feedback names it) and a new one of the
    same family with `version + 1` becomes current. A retired version cannot be revised (409-like 400)."""
    _require_admin(actor)
    old = HandlingGuide.objects.select_for_update().get(pk=guide_id)
    if not old.current:
        raise Refused("version", _("This version was revised already: edit the current one."))
    clash = HandlingGuide.objects.filter(current=True, category_prefix=category_prefix, level=level)
    if clash.exclude(pk=old.pk).exists():
        raise Refused("category_prefix", _("A guide for this category and level exists: revise it."))
    old.current = False
    old.save(update_fields=["current"])
    return HandlingGuide.objects.create(
        family=old.family,
        version=old.version + 1,
        category_prefix=category_prefix,
        level=level,
        title=title.strip(),
        items=guide_items(items),
        created_by=actor,
    )


def _require_admin(actor: Any) -> None:
    """Guides are the command center's rules: an administrator's (or a superuser's) to write."""
    if actor is None or getattr(actor, "is_superuser", False):
        return
    person = orgs.person_of(actor)
    if person is None or not person.has_role(Role.ADMIN):
        raise PermissionDenied(_("Your role does not allow this action."))


# The guides load_codes brings (incidents.apps codes_loader): (prefix, level, title, [(item, required)]).
# "!" marks a required item.
DEFAULT_GUIDES: list[tuple[str, int | None, str, list[str]]] = [
    (
        "0101",
        None,
        "盗窃警情处置指引",
        [
            "!保护现场，劝阻无关人员进入",
            "!询问报警人失窃物品、价值、发现时间",
            "调取周边视频监控",
            "!通知刑侦技术人员勘查（入室盗窃）",
            "告知报警人后续受案流程",
        ],
    ),
    (
        "0601",
        None,
        "家庭纠纷处置指引",
        [
            "!将双方隔离询问，先确认有无人员受伤",
            "!了解有无家庭暴力，需要时出具告诫书",
            "现场调解，无法调解的告知调解途径",
            "通知社区网格员跟进",
        ],
    ),
    (
        "06",
        None,
        "纠纷警情处置指引",
        [
            "!隔离双方，防止矛盾激化",
            "!核实双方身份信息",
            "了解纠纷起因与诉求",
            "现场调解或引导至调解组织、12345",
            "告知双方后续途径",
        ],
    ),
    (
        "0301",
        None,
        "交通事故处置指引",
        [
            "!设置警示标志，防止二次事故",
            "!确认伤亡情况，需要时呼叫120",
            "拍照固定现场，记录车辆及驾驶人信息",
            "疏导交通",
            "通知交警事故处理中队",
        ],
    ),
    (
        "0301",
        1,
        "重大交通事故处置指引",
        [
            "!设置警示区，封控现场",
            "!组织救治伤员，呼叫120、119",
            "!立即报告指挥中心和交警支队",
            "保护肇事车辆与痕迹物证",
            "查明肇事驾驶人，防止逃逸",
        ],
    ),
    (
        "0205",
        None,
        "噪音扰民处置指引",
        [
            "!核实噪音来源和持续时间",
            "!劝导噪音制造者立即停止",
            "告知相关规定，拒不改正的依法处理",
            "向报警人反馈处理情况",
        ],
    ),
    (
        "04",
        None,
        "火灾警情处置指引",
        [
            "!确认119已出动，报告火势与被困人员",
            "!疏散群众，设置警戒区",
            "维护现场秩序，保障消防通道",
            "保护起火现场，配合调查起火原因",
        ],
    ),
    (
        "05",
        None,
        "群众求助处置指引",
        [
            "!核实求助人身份与所需帮助",
            "!有生命危险的先救人，需要时呼叫120",
            "联系家属或所在社区",
            "移交相关部门的告知求助人去向",
        ],
    ),
    (
        "0501",
        None,
        "走失寻人处置指引",
        [
            "!询问走失人体貌特征、衣着、走失时间地点",
            "!通报周边警力和巡逻车协查",
            "调取走失地点周边视频",
            "联系家属，找到后确认身份再交还",
        ],
    ),
]


def load_defaults() -> dict[str, tuple[int, int]]:
    """The default handling guides (load_codes runs this): one per prefix and level not there yet; an
    administrator's guides and revisions are kept."""
    created = 0
    for prefix, level, title, items in DEFAULT_GUIDES:
        if HandlingGuide.objects.filter(category_prefix=prefix, level=level).exists():
            continue
        lines = [(t.lstrip("!"), t.startswith("!")) for t in items]
        HandlingGuide.objects.create(category_prefix=prefix, level=level, title=title, items=guide_items(lines))
        created += 1
    return {"handling guides": (created, 0)}


# --- Diversion clocks (受理时限, 办结时限) ----------------------------------------------------------------


def diversion_terms(partner: Org) -> tuple[int, int]:
    """(accept_min, finish_h): the partner's DiversionTerms row, else DEFAULT_DIVERSION_TERMS."""
    row = DiversionTerms.objects.filter(partner=partner).values_list("accept_min", "finish_h").first()
    return row or (DEFAULT_DIVERSION_TERMS["accept_min"], DEFAULT_DIVERSION_TERMS["finish_h"])


def _start_diversion_clocks(d: Diversion) -> None:
    """Both clocks start at the push and run side by side: accepting late does not move the finish line."""
    accept_min, finish_h = diversion_terms(d.partner)
    clocks.start(d, CLOCK_DIVERSION_ACCEPT, due=d.pushed_at + timedelta(minutes=accept_min), org=d.partner)
    clocks.start(d, CLOCK_DIVERSION_FINISH, due=d.pushed_at + timedelta(hours=finish_h), org=d.partner)


# What each step of the diversion table (transitions.DIVERSION) does to its clocks: (met, cancelled). A
# return answers the push (it meets the accept clock if that still runs, late if it broke) and ends the
# finish clock, whose breach stays recorded but leaves the open lists; a void (the desk withdraws) ends both.
DIVERSION_CLOCK_STEPS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "accept": ((CLOCK_DIVERSION_ACCEPT,), ()),
    "complete": ((CLOCK_DIVERSION_FINISH,), ()),
    "return": ((CLOCK_DIVERSION_ACCEPT,), (CLOCK_DIVERSION_FINISH,)),
    "void": ((), (CLOCK_DIVERSION_ACCEPT, CLOCK_DIVERSION_FINISH)),
}


def diversion_clock_step(d: Diversion, event: str) -> None:
    """Meet and cancel the diversion's clocks for `event`, in the transaction of the step (a service that
    voids a diversion calls this with "void")."""
    met, cancelled = DIVERSION_CLOCK_STEPS[event]
    for kind in met:
        clocks.meet(d, kind)
    for kind in cancelled:
        clocks.cancel(d, kind, breached=True)


def on_diversion_breach(deadline: Deadline) -> None:
    """A diversion clock broke. The sweep tells the partner's lineage (the clock's org); the desk that
    diverted it watches the incident's org or one of its ancestors, which need not be in that lineage (a
    county's desk: partners hang under the city). So the same `deadlines.breached` goes to the incident's
    lineage too, each group once: a group the sweep's push reaches already (the city) is left out."""
    d = Diversion.objects.select_related("incident__org", "partner").filter(pk=deadline.subject_id).first()
    if d is None:
        return
    told = {o.pk for o in d.partner.lineage()}
    payload = {"deadlines": [clocks.deadline_payload(deadline)]}
    realtime.broadcast_each_on_commit(
        [d.incident.org], "deadlines.breached", lambda org: None if org.pk in told else payload
    )


# --- Partner webhooks: a partner manages its own endpoints (webhooks.py sends to them) -----------------------


def _checked_url(url: str) -> str:
    try:
        webhooks.check_url(url)
    except ValidationError as e:
        raise Refused("url", e.messages[0]) from None
    return url


@transaction.atomic
def webhook_create(*, actor: Any, url: str, events: list[str]) -> PartnerWebhook:
    """A new endpoint for the actor's own org (a partner agency or a community, by a person with the partner
    role there), with a fresh signing secret: the caller shows it once."""
    person = orgs.person_of(actor)
    if person is None or not selectors.is_diversion_target(person.org):
        raise PermissionDenied
    orgs.require(actor, person.org, roles=[Role.PARTNER])
    return PartnerWebhook.objects.create(
        partner=person.org, url=_checked_url(url), events=events, secret=webhooks.new_secret()
    )


def _own_webhook(webhook_id: int, actor: Any) -> PartnerWebhook:
    hook = PartnerWebhook.objects.select_for_update(of=("self",)).select_related("partner").get(pk=webhook_id)
    orgs.require(actor, hook.partner, roles=[Role.PARTNER])
    return hook


@transaction.atomic
def webhook_update(
    *, webhook_id: int, actor: Any, url: str | None = None, events: list[str] | None = None, active: bool | None = None
) -> PartnerWebhook:
    """Change an endpoint's URL, events or switch it on or off; what is left out stays."""
    hook = _own_webhook(webhook_id, actor)
    if url is not None:
        hook.url = _checked_url(url)
    if events is not None:
        hook.events = events
    if active is not None:
        hook.active = active
    hook.save(update_fields=["url", "events", "active"])
    return hook


@transaction.atomic
def webhook_rotate_secret(*, webhook_id: int, actor: Any) -> PartnerWebhook:
    """A new signing secret, from the next attempt on (the caller shows it once)."""
    hook = _own_webhook(webhook_id, actor)
    hook.secret = webhooks.new_secret()
    hook.save(update_fields=["secret"])
    return hook


__all__ = [
    "CLOCK_DISPATCH",
    "CLOCK_DIVERSION_ACCEPT",
    "CLOCK_DIVERSION_FINISH",
    "IntakeData",
    "Refused",
    "diversion_accept",
    "diversion_clock_step",
    "diversion_complete",
    "diversion_return",
    "diversion_terms",
    "guide_create",
    "guide_revise",
    "incident_callback",
    "incident_clear_scene",
    "incident_close",
    "incident_correct",
    "incident_divert",
    "incident_feedback",
    "incident_intake",
    "incident_invalidate",
    "incident_link",
    "incident_merge",
    "incident_self_handle",
    "load_defaults",
    "sla_for",
    "webhook_create",
    "webhook_rotate_secret",
    "webhook_update",
]
