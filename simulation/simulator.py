"""A live simulator that plays a realistic day of a command center through the service layer only.

`manage.py simulate` runs it (demo only: refused where DEMO_ALLOWED=0). Calls arrive on the daily curve of
calls.py; the call-taker (the demo's `duty`) takes each one, then, as a real desk would, invalidates
the misdials, diverts the partners' business, settles some on the phone and dispatches the rest to the
nearest suitable unit (dispatch.selectors.recommend_for_incident), or to the station when no unit is
free. Stations deliver and sign (most within 30 s, some late, a few return the order), units drive to the
scene (positions interpolated and reported in batches), report back, the station clears the scene, files
the feedback and closes; the desk calls back (一警一回访), mostly to satisfied callers. Partners accept and
complete their diversions (now and then send one back). Everything goes through the services
(incidents.services, dispatch.services), so every move has its log row, its clocks and its pushes.

Time. A simulated clock runs `speed` times real time from `start` (default: now). Events are kept in a
heap by simulated time and run in that order; the loop sleeps until an event is due and, when it falls
behind (a slow machine, a high speed), runs them late but in the same order. Every random choice comes
from one seeded generator in event order, so a seed gives the same day (`--speed 3600 --hours 1 --seed 1`
plays an hour in seconds, the same way every time). The services stamp real times: at speed 1 those are
the simulated ones, which is what a demo shows; at higher speeds the 30-second signature clocks and the
arrival rings are met in a blink.

Robustness. A refused action (a 409 state, a 400 refusal, a 403, a row gone) is logged and skipped: a
person may have acted on the same incident from a browser. A database or Redis outage (OperationalError,
InterfaceError, a Redis connection error) closes the connection and retries the same action with
exponential back-off until it works or the simulator is stopped; stories re-read the rows they act on, so a
retried action that had in fact committed is noticed and the story goes on. Any other error ends that one
story (logged with its traceback), never the loop.

People. The desk is `duty` (any call-taker of the top command center will do). Each station acts through
its station officer (`station1`, `station2` in the demo); a station or partner without one gets a
simulated person (`sim-<region code or id>`, no usable password) the first time it needs one.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import math
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

import redis
from django.contrib.auth.models import Group, User
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.db import IntegrityError, InterfaceError, OperationalError, connection
from django.utils import timezone

from command_center import orgs
from command_center.errors import Refused
from command_center.models import Category, HandlingResult, Org, Person, Role
from command_center.transitions import InvalidTransition
from dispatch import selectors, services
from dispatch.models import DispatchOrder, Unit
from incidents import services as incident_services
from incidents.models import Callback, Diversion, Incident, Satisfaction
from incidents.models import State as IncidentState
from incidents.transitions import OPEN_STATES
from places import selectors as places_selectors

from .calls import (
    CALLBACK_TEXT,
    DIVERT,
    FEEDBACK,
    INVALID,
    INVALID_REASONS,
    RETURN_REASONS,
    SELF,
    SELF_FEEDBACK,
    Call,
    CallMaker,
    Spot,
    Station,
    metres,
    offset,
    type_of,
)

# Named as when the simulator lived in dispatch: logging configurations and log filters that name it keep working.
log = logging.getLogger("dispatch.simulator")
T = TypeVar("T")
Story = Generator[float, None, None]  # yields the simulated seconds to wait before it goes on

REFUSED = (InvalidTransition, Refused, PermissionDenied, ObjectDoesNotExist, ValidationError, IntegrityError)
OUTAGE = (OperationalError, InterfaceError, redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)

CALL_ID_PREFIX = "SIM"  # every simulated call's id starts with it (how a later run finds what is left open)
POSITION_EVERY_S = 15.0  # simulated seconds between two batches of unit positions
PATROL_EVERY_S = 300.0  # how often free units may set off on a patrol
HOURLY_SUMMARY_S = 3600.0
SPEED_MS: dict[str, float] = {  # metres per second when driving to a scene
    Unit.Kind.PATROL_CAR: 8.3,
    Unit.Kind.MOTORBIKE: 6.9,
    Unit.Kind.POST: 4.2,
    Unit.Kind.FOOT_PATROL: 1.4,
    Unit.Kind.OFFICER_GROUP: 1.4,
}
S = DispatchOrder.State
LIVE = (S.SENT, S.DELIVERED, S.SIGNED)


@dataclass
class Trip:
    """A unit driving from one point to another between two simulated times."""

    frm: tuple[float, float]
    to: tuple[float, float]
    t0: float
    t1: float

    def at(self, t: float) -> tuple[float, float]:
        f = 1.0 if self.t1 <= self.t0 else max(0.0, min(1.0, (t - self.t0) / (self.t1 - self.t0)))
        return (
            round(self.frm[0] + (self.to[0] - self.frm[0]) * f, 6),
            round(self.frm[1] + (self.to[1] - self.frm[1]) * f, 6),
        )


@dataclass
class UnitInfo:
    id: int
    kind: str
    home: tuple[float, float]
    pos: tuple[float, float]


@dataclass
class Case:
    """What the simulator remembers of an incident while it plays its story."""

    call: Call
    incident: Incident
    orders: list[int] = field(default_factory=list)
    units: dict[int, int] = field(default_factory=dict)  # order id -> unit id
    handling: bool = False  # the scene story started (a unit arrived)


@dataclass
class Stats:
    calls: int = 0
    done: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    errors: int = 0
    max_lag_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "done": dict(sorted(self.done.items())),
            "refused": dict(sorted(self.refused.items())),
            "retries": self.retries,
            "errors": self.errors,
            "max_lag_s": round(self.max_lag_s, 1),
        }


class Simulator:
    def __init__(
        self,
        *,
        speed: float = 1.0,
        hours: float | None = None,
        seed: int | None = None,
        peak_per_minute: float = 6.0,
        start: datetime | None = None,
        backoff: tuple[float, float] = (1.0, 30.0),
    ):
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self.hours = hours
        self.seed = seed if seed is not None else random.SystemRandom().randrange(1 << 30)
        self.rng = random.Random(self.seed)
        self.peak_per_minute = peak_per_minute
        self.start = timezone.localtime(start or timezone.now())
        self.backoff = backoff
        self.stats = Stats()
        self.now = 0.0  # simulated seconds since start
        self._heap: list[tuple[float, int, Story]] = []
        self._counter = itertools.count()
        self._stop = threading.Event()
        # Call ids must differ from every earlier run's (the intake is idempotent on them), whatever the seed.
        self._tag = f"{time.time_ns() // 1_000_000:x}"
        self.units: dict[int, UnitInfo] = {}
        self.trips: dict[int, Trip] = {}

    # --- Control ------------------------------------------------------------------------------------------

    def stop(self) -> None:
        """Ask the loop to end after the action under way (safe from a signal handler)."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def spawn(self, story: Story, delay: float = 0.0) -> None:
        heapq.heappush(self._heap, (self.now + max(0.0, delay), next(self._counter), story))

    def run(self) -> Stats:
        """Play until `hours` of simulated time have passed (or forever), or until stopped."""
        self._setup()
        log.info(
            "simulator: seed %s, speed %sx, %s, from %s; %d stations, %d units",
            self.seed,
            f"{self.speed:g}",
            f"{self.hours:g} h" if self.hours is not None else "until stopped",
            f"{self.start:%Y-%m-%d %H:%M}",
            len(self.stations),
            len(self.units),
        )
        for story in (self._leftovers(), self._calls(), self._positions(), self._patrols(), self._summaries()):
            self.spawn(story)
        end = self.hours * 3600.0 if self.hours is not None else math.inf
        real0 = time.monotonic()
        warned = -math.inf
        while self._heap and not self.stopping:
            due, _n, story = self._heap[0]
            if due > end:
                break
            ahead = (due - (time.monotonic() - real0) * self.speed) / self.speed  # real seconds until due
            if ahead > 0:
                self._stop.wait(min(ahead, 0.25))
                continue
            heapq.heappop(self._heap)
            self.stats.max_lag_s = max(self.stats.max_lag_s, -ahead)
            if -ahead > 30 and time.monotonic() - warned > 60:
                warned = time.monotonic()
                log.warning("simulator: %.0f s behind the simulated clock (too fast for this machine?)", -ahead)
            self.now = due
            try:
                wait = next(story)
            except StopIteration:
                continue
            except Exception:
                self.stats.errors += 1
                log.exception("simulator: a story failed; it is dropped, the day goes on")
                continue
            self.spawn(story, wait)
        log.info("simulator: stopped at %s; %s", f"{self.clock():%H:%M:%S}", self.stats.as_dict())
        return self.stats

    def clock(self) -> datetime:
        """The simulated local time."""
        return self.start + timedelta(seconds=self.now)

    # --- Acting: refusals skipped, outages retried --------------------------------------------------------

    def act(self, label: str, fn: Callable[..., T], /, **kwargs: Any) -> T | None:
        """Call a service. Refused → logged, None. Outage → retried with back-off until it works or we stop."""
        try:
            result = self._retrying(label, fn, kwargs)
        except REFUSED as exc:
            self.stats.refused[label] += 1
            log.warning("simulator: %s refused (%s: %s); skipped", label, type(exc).__name__, exc)
            return None
        if result is not None:
            self.stats.done[label] += 1
        return result

    def db(self, fn: Callable[..., T], /, **kwargs: Any) -> T | None:
        """A read, retried through an outage; None only when stopped meanwhile or the row is gone."""
        try:
            return self._retrying("read", fn, kwargs)
        except ObjectDoesNotExist:
            return None

    def _retrying(self, label: str, fn: Callable[..., T], kwargs: dict[str, Any]) -> T | None:
        delay = self.backoff[0]
        while not self.stopping:
            try:
                return fn(**kwargs)
            except OUTAGE as exc:
                self.stats.retries += 1
                log.warning(
                    "simulator: %s: database or Redis unavailable (%s); retrying in %.1f s",
                    label,
                    str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__,
                    delay,
                )
                # A broken connection is replaced on the next query; closing a dead one may fail too.
                with contextlib.suppress(Exception):
                    connection.close()
                self._stop.wait(delay)
                delay = min(delay * 2, self.backoff[1])
        return None

    # --- Setup --------------------------------------------------------------------------------------------

    def _setup(self) -> None:
        setup = self.db(self._load)
        if setup is None:
            raise RuntimeError("stopped before the simulator could read its city")

    def _load(self) -> bool:
        self.desk = desk_user()
        person = orgs.person_of(self.desk)
        assert person is not None
        self.root = person.org
        stations = list(
            self.root.subtree()
            .filter(level=Org.Level.STATION, kind=Org.Kind.POLICE, lat__isnull=False, lon__isnull=False)
            .order_by("path")
        )
        if not stations:
            raise RuntimeError("no police station with a position: run `manage.py load_demo` first")
        self.stations = [Station(s.pk, s.name, float(s.lat or 0), float(s.lon or 0)) for s in stations]
        self.partners = list(Org.objects.filter(kind=Org.Kind.PARTNER).order_by("path"))
        self.categories = {c.code: c for c in Category.objects.filter(active=True)}
        self.results = {r.code: r for r in HandlingResult.objects.filter(active=True)}
        if not self.categories or not self.results:
            raise RuntimeError("no code tables: run `manage.py load_codes` first")
        # The city's addresses by the station whose polygon holds them (none loaded: made-up streets).
        spots = {
            org_id: [Spot(c.name, c.lat, c.lon) for c in found]
            for org_id, found in places_selectors.places_by_org().items()
        }
        self.maker = CallMaker(
            self.rng, self.stations, set(self.categories), peak_per_minute=self.peak_per_minute, spots=spots
        )
        self.actors: dict[int, User] = {}
        for u in Unit.objects.filter(org__in=stations).select_related("org").order_by("id"):
            self._remember_unit(u)
        return True

    def _remember_unit(self, u: Unit) -> UnitInfo:
        home = (float(u.org.lat or u.lat or 0), float(u.org.lon or u.lon or 0))
        pos = (float(u.lat), float(u.lon)) if u.lat is not None and u.lon is not None else home
        info = self.units.get(u.pk)
        if info is None:
            info = self.units[u.pk] = UnitInfo(u.pk, u.kind, home, pos)
        return info

    def actor_for(self, org_id: int, role: str) -> User:
        """The person who acts for a station (station officer) or a partner (partner agent)."""
        if org_id not in self.actors:
            user = self.db(actor_of, org_id=org_id, role=role)
            if user is None:  # stopped during an outage: nothing will act any more
                return self.desk
            self.actors[org_id] = user
        return self.actors[org_id]

    # --- Background stories -------------------------------------------------------------------------------

    def _calls(self) -> Story:
        while True:
            c = self.clock()
            yield self.maker.gap(c.hour * 3600 + c.minute * 60 + c.second + c.microsecond / 1e6)
            self.spawn(self._call(self.maker.make()))

    def _positions(self) -> Story:
        """Every POSITION_EVERY_S, one batch with every moving unit's interpolated position."""
        while True:
            yield POSITION_EVERY_S
            reports = []
            for uid in sorted(self.trips):
                trip = self.trips[uid]
                pos = trip.at(self.now)
                self.units[uid].pos = pos
                reports.append(services.PositionReport(uid, pos[0], pos[1]))
                if self.now >= trip.t1:
                    del self.trips[uid]
            if reports:
                self.act("positions", services.unit_report_positions, actor=self.desk, reports=reports)

    def _patrols(self) -> Story:
        """Free cars, motorbikes and foot patrols cruise near their station."""
        while True:
            yield PATROL_EVERY_S
            free = self.db(
                lambda: list(
                    Unit.objects.filter(status=Unit.Status.AVAILABLE, org__in=[s.id for s in self.stations])
                    .exclude(kind=Unit.Kind.POST)
                    .select_related("org")
                    .order_by("id")
                )
            )
            for u in free or []:
                if u.pk in self.trips or self.rng.random() > 0.3:
                    continue
                info = self._remember_unit(u)
                a, r = self.rng.uniform(0, 2 * math.pi), self.rng.uniform(200, 1200)
                to = offset(info.home[0], info.home[1], r * math.cos(a), r * math.sin(a))
                self._drive(info, to, speed_factor=0.6)

    def _summaries(self) -> Story:
        last = Stats()
        while True:
            yield HOURLY_SUMMARY_S
            calls = self.stats.calls - last.calls
            moves = self.stats.done - last.done
            log.info(
                "simulator: %s, last hour: %d calls, %d dispatch orders, %d closed, %d refused, %d retries",
                f"{self.clock():%H:%M}",
                calls,
                moves["dispatch"],
                moves["close"] + moves["diversion_complete"],
                sum((self.stats.refused - last.refused).values()),
                self.stats.retries - last.retries,
            )
            last = Stats(self.stats.calls, Counter(self.stats.done), Counter(self.stats.refused), self.stats.retries)

    def _drive(
        self, info: UnitInfo, to: tuple[float, float], *, seconds: float | None = None, speed_factor: float = 1.0
    ) -> None:
        frm = self.trips[info.id].at(self.now) if info.id in self.trips else info.pos
        if seconds is None:
            seconds = metres(frm, to) / (SPEED_MS.get(info.kind, 1.4) * speed_factor)
        self.trips[info.id] = Trip(frm, to, self.now, self.now + max(seconds, 1.0))

    # --- What an earlier run left open ----------------------------------------------------------------------

    def _leftovers(self) -> Story:
        """Pick up the simulator's incidents an earlier run left open (`make run` keeps its data): without
        this their units would stay en route for ever and the board would fill with stale rows."""
        left = self.db(
            lambda: list(
                Incident.objects.filter(call_id__startswith=CALL_ID_PREFIX, state__in=OPEN_STATES)
                .select_related("org")
                .order_by("id")
            )
        )
        if left:
            log.info("simulator: picking up %d incidents an earlier run left open", len(left))
        for incident in left or []:
            self.spawn(self._resume(incident), self.rng.uniform(5, 300))
        yield from ()

    def _recall(self, i: Incident) -> Call:
        station = next((s for s in self.stations if s.id == i.org_id), self.stations[0])
        return Call(
            seq=0,
            source=i.source,
            caller_phone=i.caller_phone,
            caller_name=i.caller_name,
            station=station,
            address=i.address,
            lat=i.lat if i.lat is not None else station.lat,
            lon=i.lon if i.lon is not None else station.lon,
            caller_lat=i.caller_lat,
            caller_lon=i.caller_lon,
            category=i.category_id,
            type=type_of(i.category_id),
            level=i.level,
            narrative=i.narrative,
        )

    def _resume(self, incident: Incident) -> Story:
        fresh = self.db(lambda: Incident.objects.select_related("org").get(pk=incident.pk))
        if fresh is None:
            return
        case = Case(self._recall(fresh), fresh)
        state = fresh.state
        if state == IncidentState.RECEIVED:
            yield from self._handle(case)
        elif state == IncidentState.DIVERTED:
            d = self.db(
                lambda: Diversion.objects.filter(
                    incident=fresh, state__in=[Diversion.State.PUSHED, Diversion.State.ACCEPTED]
                ).last()
            )
            if d is not None:
                yield from self._partner_side(case, d)
        elif state in (IncidentState.SELF_HANDLED, IncidentState.SCENE_CLEARED):
            actor = (
                self.desk if state == IncidentState.SELF_HANDLED else self.actor_for(fresh.org_id, Role.STATION_OFFICER)
            )
            if not self.db(lambda: fresh.feedback.exists()):
                code, text = SELF_FEEDBACK[0] if state == IncidentState.SELF_HANDLED else ("99", "已处置完毕。")
                self._feedback(fresh.pk, actor, code, text)
            yield self.rng.uniform(30, 180)
            if self.act("close", incident_services.incident_close, incident_id=fresh.pk, actor=actor) is not None:
                self.spawn(self._callback(case), self.rng.uniform(600, 5400))
        else:  # dispatched, responding, on scene: take its orders on from where they are
            orders = self.db(
                lambda: list(DispatchOrder.objects.filter(incident=fresh).select_related("unit__org").order_by("id"))
            )
            live = False
            for o in orders or []:
                if o.state not in (*LIVE, S.ARRIVED):
                    continue
                case.orders.append(o.pk)
                if o.unit is not None:
                    case.units[o.pk] = self._remember_unit(o.unit).id
                if o.state in LIVE:
                    live = True
                    self.spawn(self._order(case, o.pk, o.org_id, self.rng.uniform(60, 300)))
            if state == IncidentState.ON_SCENE or len(case.orders) > live:
                self._arrived(case)
            elif not live:
                self._send(case)

    # --- A call's story -----------------------------------------------------------------------------------

    def _call(self, call: Call) -> Story:
        incident = self._intake(call)
        if incident is None:
            return
        case = Case(call, incident)
        if call.duplicate_of is None and self.maker.wants_duplicate(call):
            self.spawn(self._duplicate(case), self.rng.uniform(60, 240))
        yield from self._handle(case)

    def _handle(self, case: Case) -> Story:
        """What the desk does with a call it has taken (state received)."""
        t = case.call.type
        if t.handling == INVALID:
            yield self.rng.uniform(10, 45)
            reason = INVALID_REASONS.get(case.call.category[:4], "无效警情")
            self.act(
                "invalidate",
                incident_services.incident_invalidate,
                incident_id=case.incident.pk,
                actor=self.desk,
                reason=reason,
            )
        elif t.handling == DIVERT:
            yield self.rng.uniform(30, 120)
            yield from self._diversion(case)
        elif t.handling != SELF and self.rng.random() < t.p_dispatch:
            yield self.rng.uniform(15, 60)
            yield from self._dispatch(case)
        else:
            yield self.rng.uniform(60, 240)
            yield from self._self_handled(case)

    def _intake(self, call: Call) -> Incident | None:
        self.stats.calls += 1
        data = incident_services.IntakeData(
            call_id=f"{CALL_ID_PREFIX}{self._tag}-{call.seq:06d}",
            source=call.source,
            address=call.address,
            category=self.categories[call.category],
            level=call.level,
            caller_phone=call.caller_phone,
            caller_name=call.caller_name,
            caller_lat=call.caller_lat,
            caller_lon=call.caller_lon,
            lat=call.lat,
            lon=call.lon,
            narrative=call.narrative,
        )
        got = self.act("intake", incident_services.incident_intake, actor=self.desk, data=data)
        if got is None:
            return None
        incident = got[0]
        log.info(
            "simulator: %s %s %s %s %s",
            f"{self.clock():%H:%M:%S}",
            incident.number,
            call.category,
            incident.category.name,
            call.address,
        )
        return incident

    def _duplicate(self, master: Case) -> Story:
        """Someone else calls in the same event; the desk merges it into the first call."""
        incident = self._intake(self.maker.duplicate(master.call))
        if incident is None:
            return
        yield self.rng.uniform(20, 60)
        self.act(
            "merge",
            incident_services.incident_merge,
            incident_id=incident.pk,
            actor=self.desk,
            into_id=master.incident.pk,
        )

    def _self_handled(self, case: Case) -> Story:
        i = case.incident.pk
        handled = self.act(
            "self_handle", incident_services.incident_self_handle, incident_id=i, actor=self.desk, reason="电话处置"
        )
        if handled is None:
            return
        yield self.rng.uniform(60, 300)
        code, text = self.rng.choice(SELF_FEEDBACK)
        self._feedback(i, self.desk, code, text)
        yield self.rng.uniform(30, 180)
        if self.act("close", incident_services.incident_close, incident_id=i, actor=self.desk) is not None:
            self.spawn(self._callback(case), self.rng.uniform(600, 5400))

    def _diversion(self, case: Case) -> Story:
        want = case.call.type.partner
        partner = next((p for p in self.partners if want in p.name), self.partners[0] if self.partners else None)
        if partner is None:  # a city without partners: the desk settles it on the phone
            yield from self._self_handled(case)
            return
        d = self.act(
            "divert",
            incident_services.incident_divert,
            incident_id=case.incident.pk,
            actor=self.desk,
            partner=partner,
            note="非警务警情，请协调处理",
        )
        if d is not None:
            yield from self._partner_side(case, d)

    def _partner_side(self, case: Case, d: Diversion) -> Story:
        """The partner accepts, then completes (the incident closes) or, now and then, sends it back."""
        agent = self.actor_for(d.partner_id, Role.PARTNER)
        if d.state == Diversion.State.PUSHED:
            yield self.rng.uniform(60, 900)
            if self.act("diversion_accept", incident_services.diversion_accept, diversion_id=d.pk, actor=agent) is None:
                return
        if self.rng.random() < 0.06:
            yield self.rng.uniform(300, 1800)
            reason = "经核实属警务事项，请公安处置"
            returned = self.act(
                "diversion_return", incident_services.diversion_return, diversion_id=d.pk, actor=agent, reason=reason
            )
            if returned is not None:
                yield self.rng.uniform(60, 300)
                yield from self._self_handled(case)
            return
        yield self.rng.uniform(900, 5400)
        result = "已联系相关单位处理完毕，并答复来电人。"
        done = self.act(
            "diversion_complete", incident_services.diversion_complete, diversion_id=d.pk, actor=agent, result=result
        )
        if done is not None:
            self.spawn(self._callback(case), self.rng.uniform(600, 5400))

    def _callback(self, case: Case) -> Story:
        """一警一回访, by the desk; some are never reached (their callback clock breaks)."""
        if self.rng.random() > 0.92:
            return
        satisfaction = self.rng.choices(
            [Satisfaction.SATISFIED, Satisfaction.BASICALLY, Satisfaction.DISSATISFIED], weights=[82, 12, 6]
        )[0]
        channel = Callback.Channel.PHONE if self.rng.random() < 0.85 else Callback.Channel.SMS
        self.act(
            "callback",
            incident_services.incident_callback,
            incident_id=case.incident.pk,
            actor=self.desk,
            channel=channel,
            satisfaction=satisfaction,
            text=CALLBACK_TEXT[satisfaction],
        )
        yield from ()

    # --- Dispatch, orders, the scene ----------------------------------------------------------------------

    def _dispatch(self, case: Case) -> Story:
        if not self._send(case):
            yield from self._self_handled(case)  # nothing could be sent: the desk handles it on the phone
            return
        if case.call.level <= 2 and self.rng.random() < 0.6:
            yield self.rng.uniform(60, 180)  # well before the first unit can have finished on scene
            self._send(case, reinforcement=True)

    def _send(self, case: Case, *, exclude: frozenset[int] = frozenset(), reinforcement: bool = False) -> bool:
        """Dispatch the nearest suitable free unit (inside its ring if one is), else the station itself."""
        got = self.db(selectors.recommend_for_incident, user=self.desk, incident=case.incident, limit=5)
        recs = [
            r
            for r in (got[1] if got else [])
            if r.unit.pk not in exclude and r.distance_m is not None and r.distance_m < 6000
        ]
        if reinforcement and not recs:
            return False
        pick = next((r for r in recs if r.within_ring), recs[0] if recs else None)
        i = case.incident.pk
        if pick is not None:
            order = self.act("dispatch", services.order_dispatch, incident_id=i, actor=self.desk, unit_id=pick.unit.pk)
            travel = (pick.eta_s or 300) * self.rng.uniform(0.8, 1.5)
            if order is not None:
                info = self._remember_unit(pick.unit)
                case.units[order.pk] = info.id
        else:
            order = self.act(
                "dispatch", services.order_dispatch, incident_id=i, actor=self.desk, org_id=case.incident.org_id
            )
            travel = self.rng.uniform(120, 480)
        if order is None:
            return False
        case.orders.append(order.pk)
        self.spawn(self._order(case, order.pk, order.org_id, travel))
        return True

    def _order_state(self, order_id: int) -> str | None:
        return self.db(lambda: DispatchOrder.objects.values_list("state", flat=True).get(pk=order_id))

    def _order(self, case: Case, order_id: int, org_id: int, travel: float) -> Story:
        """The station's side: deliver, sign (mostly within 30 s) or return; the unit drives; arrival."""
        rng = self.rng
        station = self.actor_for(org_id, Role.STATION_OFFICER)
        x = rng.random()
        returns = x < 0.03
        sign_after = (
            rng.uniform(10, 40) if returns
            else rng.uniform(4, 25) if x < 0.80
            else rng.uniform(25, 55) if x < 0.94
            else rng.uniform(55, 150)
        )  # fmt: skip
        deliver_after = rng.uniform(1, 6) if rng.random() < 0.85 else None
        waited = 0.0
        if deliver_after is not None and deliver_after < sign_after:
            yield deliver_after
            waited = deliver_after
            if self._order_state(order_id) == S.SENT:
                self.act("deliver", services.order_deliver, order_id=order_id, actor=station)
        yield sign_after - waited
        state = self._order_state(order_id)
        if state in (S.SENT, S.DELIVERED):
            if returns:
                reason = rng.choice(RETURN_REASONS)
                if self.act("return", services.order_return, order_id=order_id, actor=station, reason=reason):
                    yield rng.uniform(10, 30)
                    unit = case.units.get(order_id)
                    if not case.handling:
                        self._send(case, exclude=frozenset({unit} if unit else set()))
                return
            self.act("sign", services.order_sign, order_id=order_id, actor=station)
            state = self._order_state(order_id)
        if state != S.SIGNED:
            if state == S.ARRIVED:  # someone else recorded the arrival
                self._arrived(case)
            return
        unit = case.units.get(order_id)
        scene = (case.incident.lat, case.incident.lon)
        if unit is not None and scene[0] is not None and scene[1] is not None:
            self._drive(self.units[unit], (float(scene[0]), float(scene[1])), seconds=travel)
        yield travel
        if self._order_state(order_id) == S.SIGNED:
            self.act("arrive", services.order_arrive, order_id=order_id, actor=station)
        if self._order_state(order_id) == S.ARRIVED:
            self._arrived(case)

    def _arrived(self, case: Case) -> None:
        if not case.handling:
            case.handling = True
            self.spawn(self._scene(case))

    def _scene(self, case: Case) -> Story:
        """On scene for a while; then every order is finished (done, or cancelled if it never got there),
        the scene is cleared, the feedback filed and the incident closed — by the responsible station."""
        lo, hi = case.call.type.scene_min
        yield self.rng.uniform(lo, hi) * 60
        i = case.incident.pk
        officer = self.actor_for(case.incident.org_id, Role.STATION_OFFICER)
        # Every order of the incident, also those someone else sent from a browser: none stays live.
        orders = self.db(
            lambda: list(
                DispatchOrder.objects.filter(incident_id=i, state__in=[*LIVE, S.ARRIVED])
                .order_by("id")
                .values_list("id", "state", "org_id", "unit_id")
            )
        )
        for order_id, order_state, org_id, unit_id in orders or []:
            if order_state == S.ARRIVED:
                actor = self.actor_for(org_id, Role.STATION_OFFICER)
                done = self.act("done", services.order_done, order_id=order_id, actor=actor, note="处置完毕，已返回")
                if done is not None and unit_id in self.units:
                    info = self.units[unit_id]
                    self._drive(info, info.home, speed_factor=0.6)
            else:
                self.act("cancel", services.order_cancel, order_id=order_id, actor=self.desk, reason="现场已处置完毕")
        if self.db(lambda: Incident.objects.values_list("state", flat=True).get(pk=i)) == IncidentState.ON_SCENE:
            self.act("clear_scene", incident_services.incident_clear_scene, incident_id=i, actor=officer)
        yield self.rng.uniform(60, 600)
        options = FEEDBACK.get(case.call.category[:2], (("99", "已处置完毕。"),))
        code, text = options[0] if self.rng.random() < 0.7 else self.rng.choice(options)
        self._feedback(i, officer, code, text)
        yield self.rng.uniform(30, 300)
        if self.act("close", incident_services.incident_close, incident_id=i, actor=officer) is not None:
            self.spawn(self._callback(case), self.rng.uniform(600, 5400))

    def _feedback(self, incident_id: int, actor: User, code: str, text: str) -> None:
        result = self.results.get(code) or next(iter(self.results.values()))
        self.act(
            "feedback",
            incident_services.incident_feedback,
            incident_id=incident_id,
            actor=actor,
            text=text,
            result=result,
        )


# --- People -----------------------------------------------------------------------------------------------


def desk_user() -> User:
    """The call-taker the simulator acts as: the demo's `duty`, else any call-taker of a top command center."""
    people = orgs.with_roles(Person.objects.select_related("user", "org").filter(org__is_command_center=True))
    candidates = [p for p in people.order_by("org__path", "user__username") if Role.CALL_TAKER in p.role_names]
    candidates.sort(key=lambda p: (p.user.username != "duty", len(p.org.path), p.user.username))
    if not candidates:
        raise RuntimeError("no call-taker at a command center: run `manage.py load_demo` first")
    return candidates[0].user


def actor_of(*, org_id: int, role: str) -> User:
    """A person with `role` at org `org_id`; a simulated one is made when the org has none."""
    org = Org.objects.get(pk=org_id)
    found = [
        p
        for p in orgs.with_roles(Person.objects.select_related("user").filter(org=org)).order_by("user__username")
        if role in p.role_names and p.user.is_active
    ]
    if found:
        return found[0].user
    username = f"sim-{org.region_code or org.pk}" if org.kind == Org.Kind.POLICE else f"sim-partner-{org.pk}"
    user, created = User.objects.get_or_create(username=username, defaults={"first_name": f"{org.name} 值守(模拟)"})
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
        log.info("simulator: made %s to act for %s", username, org.name)
    Person.objects.get_or_create(user=user, defaults={"org": org, "display_name": f"{org.name} 值守(模拟)"})
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    user.__dict__.pop("_cc_person", None)
    return user
