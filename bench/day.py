"""A whole simulated day: a city of 15,000 incidents a day played through the HTTP API at 20× real time
while 100 board clients watch.

The platform as `make run` serves it (`devstack.stack.children`: gunicorn for HTTP with WEB_WORKERS
processes, daphne for `/ws/`, a Celery worker and beat; no simulator) on a fresh database with the demo
city (12 stations, 2 partners) and BENCH_DAY_UNITS units per station.

The calls are the simulator's (`simulation.calls.CallMaker`: its daily curve, category mix, regular
callers and duplicate reports), with the evening peak set so that a whole day brings BENCH_DAY_INCIDENTS.
Every step of every call goes through the API with token auth, as the people of the simulator
(`simulation/simulator.py`) would do it, with its delays and shares, in simulated seconds:
- the desk (a call-taker of the city) takes the call (`POST /api/incidents/`), then invalidates, diverts
  (`divert/`), settles it on the phone (`self-handle/`, `feedback/`, `close/`) or asks for the recommended
  units and dispatches the nearest (or the station when no unit is free; serious calls get a
  reinforcement); a second report of the same event is taken and merged (`merge/`);
- each station's officer delivers and signs (`orders/{id}/deliver|sign/`) — a share BENCH_DAY_LATE_SIGN of
  the orders only after 32–75 real seconds, so their 30-second sign clocks break on the boards (the SLA
  clocks run in real time, so at 20× everything else is in time) — now and then returns one (the desk
  sends another), records the arrival, finishes the orders, clears the scene, files the feedback and
  closes; units drive (batches of positions every 15 simulated seconds, `units/positions/`);
- partners find their diversions in their inbox (`GET /api/diversions/`), accept, complete or send back;
- the desk calls back (`callback/`), mostly satisfied callers.

Meanwhile BENCH_DAY_CLIENTS board clients (a tenth at the city, three tenths at the counties, the rest at
the stations; in a process of their own) follow `/ws/board/` as the screens do (`static/js/live.js`):
on connect and on every `seq` gap they load their screen's state over REST (`GET /api/board/`, or
`/api/board/inbox/` for station officers) and apply the pushes after it.

Measured:
- intake p99: `POST /api/incidents/` from the moment the desk wants to send it to the answer (also every
  other action's latency, and how late the calls were launched against the simulated clock);
- push p99: commit to receipt on the board clients (the envelope's `at`, stamped on commit by the process
  that pushed, to the client's clock on receipt: the same machine clock), by event and by level;
- breach lag p99: a deadline's due time → its breach recorded (`breached_at`), → its push sent
  (`pushed_at`), and → the `deadlines.breached` message on a board;
- CPU seconds and peak memory (RSS, and PSS: shared pages counted once) of each process role — web, ws,
  worker, beat, PostgreSQL (this database's backends, and the whole server), Redis, the driver and the
  board clients — over the day;
- the database's growth per 1,000 incidents (`pg_database_size`), and the biggest tables';
- hour by hour (simulated): calls, intake p99, push p99.
Baselines in the same run, before the day starts: pgbench's single-row INSERT on the same database, the
Redis PUBLISH → subscriber round trip and redis-benchmark's PUBLISH on the same Redis.

Environment: BENCH_DAY_SPEED (20), BENCH_DAY_INCIDENTS (15,000 a day), BENCH_DAY_CLIENTS (100; quick 20),
BENCH_DAY_HOURS (24; quick 0.5), BENCH_DAY_START (simulated start, HH:MM; 00:00, quick 19:00),
BENCH_DAY_UNITS (per station, 40), BENCH_DAY_LATE_SIGN (0.05), BENCH_DAY_SEED (1), BENCH_DAY_DRAIN_S
(real seconds the stories under way may take after the last call, 600; quick 90), BENCH_DAY_IN_FLIGHT
(requests the driver has open at once at most, 64), BENCH_DAY_POSITIONS_S (simulated seconds between two
batches of unit positions, 15: at 20× a batch every 0.75 s, one push per station to its groups and their
ancestors'). The whole day at 20× is 72 minutes.
Targets: intake p99 ≤ 100 ms (issue 3), push p99 ≤ 150 ms (issue 4), breach lag p99 ≤ 1.5 s (issue 2).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import multiprocessing as mp
import os
import random
import subprocess
import sys
import time
import traceback
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from _boards import boards_process
from _common import ROOT, db_baseline, free_port, http_json, machine, push_baseline, ratio, setup_django, size, summary
from _measure import (
    ProcessWatch,
    Role,
    breach_lags,
    database_sizes,
    growth,
    postgres_roles,
    redis_role,
    table_rows,
    tree,
)

SPEED = size("BENCH_DAY_SPEED", 20.0, 20.0)
INCIDENTS = size("BENCH_DAY_INCIDENTS", 15000, 15000)
CLIENTS = size("BENCH_DAY_CLIENTS", 100, 20)
HOURS = size("BENCH_DAY_HOURS", 24.0, 0.5)
START = size("BENCH_DAY_START", "00:00", "19:00")
UNITS = size("BENCH_DAY_UNITS", 40, 40)
LATE_SIGN = size("BENCH_DAY_LATE_SIGN", 0.05, 0.05)
SEED = size("BENCH_DAY_SEED", 1, 1)
DRAIN_S = size("BENCH_DAY_DRAIN_S", 600.0, 90.0)
IN_FLIGHT = size("BENCH_DAY_IN_FLIGHT", 64, 64)
PREFIX = "ccbench_day"
DB_NAME = "cc_bench_day"
POSITION_EVERY_S = size("BENCH_DAY_POSITIONS_S", 15.0, 15.0)  # simulated s between two batches (as the simulator)
LATE_SIGN_REAL_S = (32.0, 75.0)  # a late signature, in real seconds: the sign clock (30 s) breaks
T_START = time.monotonic()


def note(msg: str) -> None:
    """Progress on stderr (stdout carries the one JSON object)."""
    print(f"[day {time.monotonic() - T_START:7.1f} s] {msg}", file=sys.stderr, flush=True)


def settings_used() -> dict[str, Any]:
    return {
        "speed": SPEED,
        "incidents_per_day": INCIDENTS,
        "clients": CLIENTS,
        "hours": HOURS,
        "start": START,
        "units_per_station": UNITS,
        "late_sign_share": LATE_SIGN,
        "seed": SEED,
        "drain_s": DRAIN_S,
        "in_flight": IN_FLIGHT,
        "positions_every_s": POSITION_EVERY_S,
        "web_workers": int(os.environ.get("WEB_WORKERS") or 2 * (os.cpu_count() or 1)),
    }


def start_seconds(hhmm: str) -> float:
    h, _, m = hhmm.partition(":")
    return int(h) * 3600 + int(m or 0) * 60


def peak_per_minute(incidents_per_day: float) -> float:
    """The evening peak (calls a minute) that makes a whole day bring `incidents_per_day` intakes: the
    curve's mean over the day is the mean of its hourly points (it is linear between them), and a share
    of the dispatched calls is reported a second time (duplicates are intakes too)."""
    from simulation.calls import DISPATCH, DUPLICATED_PREFIXES, HOURLY, TYPES

    total = sum(t.share for t in TYPES)
    dup = sum(t.share for t in TYPES if t.handling == DISPATCH and t.code.startswith(DUPLICATED_PREFIXES)) / total
    mean = sum(HOURLY) / len(HOURLY)
    return incidents_per_day / (1440 * mean * (1 + 0.06 * dup * 0.92))


def plan_calls(maker: Any, start_s: float, hours: float) -> list[tuple[float, Any]]:
    """The calls of `hours` from `start_s` (seconds after midnight) on the simulator's curve: (simulated
    seconds from the start, call), drawn by `maker` (a calls.CallMaker)."""
    t, end = 0.0, hours * 3600
    out: list[tuple[float, Any]] = []
    while True:
        t += maker.gap(start_s + t)
        if t > end:
            return out
        out.append((t, maker.make()))


# --- Setup (synchronous Django, before the day) ----------------------------------------------------------


@dataclass
class City:
    desk: str  # token of the call-taker
    officers: dict[int, str]  # org id -> token of its station officer
    partners: list[tuple[int, str, str]]  # (org id, name, token of its agent)
    stations: list[Any]  # calls.Station
    categories: set[str]
    results: list[str]
    units: dict[int, dict[str, Any]]  # id -> {kind, home: (lat, lon), pos}
    boards: list[dict[str, Any]]  # {level, org, session, screen}


def setup(env: dict[str, str]) -> City:
    import importlib

    from django.conf import settings
    from django.contrib.auth.models import Group, User
    from django.db import connection, transaction
    from django.utils import timezone

    from command_center import codes, demo, tokens
    from command_center.audit import log_transition
    from command_center.models import Category, HandlingResult, Org, Person, Role
    from dispatch.demo import SLOTS
    from dispatch.models import Unit
    from simulation.calls import Station

    codes.load_defaults()
    city = demo.load_orgs()
    groups = {g.name: g for g in Group.objects.all()}

    def person(username: str, org: Org, *roles: str) -> User:
        u = User.objects.create(username=username)
        u.set_unusable_password()
        u.save(update_fields=["password"])
        Person.objects.create(user=u, org=org, display_name=username)
        u.groups.set([groups[r] for r in roles])
        return u

    def token(u: User) -> str:
        return tokens.token_issue(user=u, name="bench")[1]

    stations = list(
        city.subtree()
        .filter(level=Org.Level.STATION, kind=Org.Kind.POLICE, lat__isnull=False, lon__isnull=False)
        .order_by("path")
    )
    counties = list(Org.objects.filter(level=Org.Level.COUNTY).order_by("path"))
    desk = token(person("day-desk", city, Role.CALL_TAKER, Role.DUTY_OFFICER))
    officers = {s.pk: token(person(f"day-station-{s.pk}", s, Role.STATION_OFFICER)) for s in stations}
    partners = [
        (p.pk, p.name, token(person(f"day-partner-{p.pk}", p, Role.PARTNER)))
        for p in Org.objects.filter(kind=Org.Kind.PARTNER).order_by("path")
    ]

    rnd = random.Random(SEED)
    now = timezone.now()
    units: dict[int, dict[str, Any]] = {}
    with transaction.atomic():
        for station in stations:
            short = station.name.removesuffix("派出所")
            for n in range(UNITS):
                letter, kind, ring, caps = SLOTS[n % len(SLOTS)]
                lat = float(station.lat or 0) + rnd.uniform(-0.012, 0.012)
                lon = float(station.lon or 0) + rnd.uniform(-0.015, 0.015)
                unit = Unit.objects.create(
                    call_sign=f"{short}{letter}{n + 1}",
                    kind=kind,
                    org=station,
                    ring_minutes=ring,
                    capabilities=caps,
                    status=Unit.Status.AVAILABLE,
                    status_changed_at=now,
                    lat=lat,
                    lon=lon,
                    position_at=now,
                )
                log_transition(unit, from_state="", to_state=unit.status, event="create", reason="bench")
                home = (float(station.lat or 0), float(station.lon or 0))
                units[unit.pk] = {"kind": kind, "home": home, "pos": (lat, lon)}

    # Board clients, logged in (a session each, as the login page makes it).
    store = importlib.import_module(settings.SESSION_ENGINE).SessionStore
    n_city = max(1, CLIENTS // 10)
    n_county = max(1, CLIENTS * 3 // 10) if CLIENTS > 2 else 0
    n_station = max(0, CLIENTS - n_city - n_county)
    placed = (
        [("city", city)] * n_city
        + [("county", counties[k % len(counties)]) for k in range(n_county)]
        + [("station", stations[k % len(stations)]) for k in range(n_station)]
    )
    boards = []
    for k, (level, org) in enumerate(placed):
        role = Role.STATION_OFFICER if level == "station" else Role.DUTY_OFFICER
        u = person(f"day-board-{k:03d}", org, role)
        s = store()
        s["_auth_user_id"] = str(u.pk)
        s["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
        s["_auth_user_hash"] = u.get_session_auth_hash()
        s.create()
        screen = "/api/board/inbox/" if level == "station" else "/api/board/"
        boards.append({"level": level, "org": org.pk, "session": s.session_key, "screen": screen})

    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    return City(
        desk=desk,
        officers=officers,
        partners=partners,
        stations=[Station(s.pk, s.name, float(s.lat or 0), float(s.lon or 0)) for s in stations],
        categories=set(Category.objects.filter(active=True).values_list("code", flat=True)),
        results=list(HandlingResult.objects.filter(active=True).order_by("code").values_list("code", flat=True)),
        units=units,
        boards=boards,
    )


# --- The platform, as `make run` starts it ----------------------------------------------------------------


def start_platform(env: dict[str, str]) -> tuple[dict[str, subprocess.Popen[bytes]], int, int]:
    from devstack import stack

    web_port, ws_port = free_port(), free_port()
    workers = env.get("WEB_WORKERS") or str(2 * (os.cpu_count() or 1))
    run = ROOT / ".run" / "bench"
    run.mkdir(parents=True, exist_ok=True)
    (ROOT / ".run" / "static").mkdir(parents=True, exist_ok=True)
    plan = stack.children({**env, "SIMULATE": "0"}, port=str(web_port), ws_port=str(ws_port), workers=workers)
    procs = {}
    for name, child in plan.items():
        argv = list(child.argv)
        if "-s" in argv:  # beat's schedule file: one of its own, not `make run`'s
            argv[argv.index("-s") + 1] = str(run / f"day-beat-{web_port}")
        log = (run / f"day-{name}.log").open("w")
        procs[name] = subprocess.Popen(argv, env=child.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"http://127.0.0.1:{web_port}/healthz", timeout=2) as r,
        ):
            if r.status == 200:
                return procs, web_port, ws_port
        time.sleep(0.5)
    stop_platform(procs, web_port)
    raise RuntimeError("the platform did not become healthy in 90 s (see .run/bench/day-*.log)")


def stop_platform(procs: dict[str, subprocess.Popen[bytes]], web_port: int) -> None:
    for p in reversed(list(procs.values())):
        if p.poll() is None:
            p.terminate()
    for p in procs.values():
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()
    for f in (ROOT / ".run" / "bench").glob(f"day-beat-{web_port}*"):
        f.unlink(missing_ok=True)


# --- The day's driver ---------------------------------------------------------------------------------------


class Api:
    """The people's HTTP calls, with every call's latency and status recorded by action."""

    def __init__(self, port: int, limit: int, day: Day):
        self.port, self.day = port, day
        self.gate = asyncio.Semaphore(limit)
        self.ms: dict[str, list[float]] = defaultdict(list)
        self.waited_ms: list[float] = []
        self.status: dict[str, Counter[int]] = defaultdict(Counter)
        self.intake_by_hour: dict[int, list[float]] = defaultdict(list)
        self.intake_sent_ms: list[float] = []  # from sending (a slot free) to the answer: the server's part
        self.failures: list[str] = []

    async def call(self, label: str, method: str, path: str, token: str, body: Any = None) -> tuple[int, Any]:
        t0 = time.perf_counter()
        async with self.gate:
            t1 = time.perf_counter()
            try:
                status, data = await http_json(
                    self.port, method, path, body, headers={"Authorization": f"Token {token}"}, timeout=120
                )
            except (OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
                status, data = 0, None
                if len(self.failures) < 5:
                    self.failures.append(f"{label}: {exc!r}")
        ms = (time.perf_counter() - t0) * 1000
        self.waited_ms.append((t1 - t0) * 1000)
        self.ms[label].append(ms)
        self.status[label][status] += 1
        if label == "intake":
            self.intake_by_hour[self.day.sim_hour()].append(ms)
            self.intake_sent_ms.append(ms - (t1 - t0) * 1000)
        return status, data


@dataclass
class Case:
    call: Any  # calls.Call
    incident: dict[str, Any]
    orders: dict[int, str] = field(default_factory=dict)  # order id -> state
    order_org: dict[int, int] = field(default_factory=dict)
    units: dict[int, int] = field(default_factory=dict)  # order id -> unit id
    handling: bool = False


class Day:
    def __init__(self, city: City, port: int):
        from simulation.calls import CallMaker

        self.city = city
        self.rng = random.Random(SEED + 1)  # the people's choices; the calls have their own generator
        self.maker = CallMaker(
            random.Random(SEED), city.stations, city.categories, peak_per_minute=peak_per_minute(INCIDENTS)
        )
        self.api = Api(port, IN_FLIGHT, self)
        self.tasks: set[asyncio.Task[None]] = set()
        self.errors: list[str] = []
        self.error_count = 0
        self.launch_lag_s: list[float] = []
        self.trips: dict[int, Any] = {}
        self.t0 = 0.0
        self.start_s = start_seconds(START)
        self.tag = f"{time.time_ns() // 1_000_000:x}"
        self.intakes = Counter[str]()

    # Simulated time: SPEED simulated seconds per real second from the start.
    def now(self) -> float:
        return (asyncio.get_running_loop().time() - self.t0) * SPEED

    def sim_hour(self) -> int:
        return int((self.start_s + self.now()) // 3600)

    async def post(self, label: str, path: str, token: str, body: dict[str, Any]) -> tuple[int, Any]:
        return await self.api.call(label, "POST", path, token, body)

    async def wait(self, sim_s: float) -> None:
        await asyncio.sleep(max(0.0, sim_s) / SPEED)

    def spawn(self, coro: Coroutine[Any, Any, None], delay: float = 0.0) -> None:
        task = asyncio.ensure_future(self._guard(coro, delay))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _guard(self, coro: Coroutine[Any, Any, None], delay: float) -> None:
        try:
            if delay:
                await self.wait(delay)
            await coro
        except asyncio.CancelledError:
            raise
        except Exception:
            self.error_count += 1
            if len(self.errors) < 5:
                self.errors.append(traceback.format_exc(limit=3))
        finally:
            coro.close()  # one cancelled while it waited to begin was never started

    def plan(self) -> list[tuple[float, Any]]:
        return plan_calls(self.maker, self.start_s, HOURS)

    async def run(self, plan: list[tuple[float, Any]], clock: Any) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        self.t0 = loop.time()
        clock[0] = time.time()  # the boards' clock for the hour buckets
        positions = asyncio.ensure_future(self.positions())
        for at, call in plan:
            delay = self.t0 + at / SPEED - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            self.launch_lag_s.append(max(0.0, -delay))
            self.spawn(self.call_story(call))
        calls_done = loop.time()
        note(f"last call launched ({len(plan)}); {len(self.tasks)} stories under way")
        while self.tasks and loop.time() - calls_done < DRAIN_S:
            await asyncio.sleep(0.5)
        cut = len(self.tasks)
        for task in list(self.tasks):
            task.cancel()
        positions.cancel()
        await asyncio.gather(*self.tasks, positions, return_exceptions=True)
        real_s, drain_s = round(loop.time() - self.t0, 1), round(loop.time() - calls_done, 1)
        return {"real_s": real_s, "drain_s": drain_s, "stories_cut_at_end": cut}

    # --- A call's story (simulation/simulator.py, through the API) ---------------------------------------------

    async def intake(self, call: Any) -> dict[str, Any] | None:
        body = {
            "call_id": f"DAY{self.tag}-{call.seq:06d}",
            "source": call.source,
            "caller_phone": call.caller_phone,
            "caller_name": call.caller_name,
            "caller_lat": call.caller_lat,
            "caller_lon": call.caller_lon,
            "address": call.address,
            "lat": call.lat,
            "lon": call.lon,
            "category": call.category,
            "level": call.level,
            "narrative": call.narrative,
        }
        status, data = await self.api.call("intake", "POST", "/api/incidents/", self.city.desk, body)
        if status not in (200, 201) or not isinstance(data, dict):
            return None
        self.intakes["created" if status == 201 else "repeated"] += 1
        return data

    def officer(self, org_id: int) -> str:
        return self.city.officers.get(org_id, self.city.desk)

    async def call_story(self, call: Any) -> None:
        from simulation.calls import DISPATCH, DIVERT, INVALID, INVALID_REASONS

        incident = await self.intake(call)
        if incident is None:
            return
        case = Case(call, incident)
        if call.duplicate_of is None and self.maker.wants_duplicate(call):
            self.spawn(self.duplicate_story(case), self.rng.uniform(60, 240))
        t = call.type
        i = incident["id"]
        if t.handling == INVALID:
            await self.wait(self.rng.uniform(10, 45))
            reason = INVALID_REASONS.get(call.category[:4], "无效警情")
            await self.post("invalidate", f"/api/incidents/{i}/invalidate/", self.city.desk, {"reason": reason})
        elif t.handling == DIVERT:
            await self.wait(self.rng.uniform(30, 120))
            await self.diversion(case)
        elif t.handling == DISPATCH and self.rng.random() < t.p_dispatch:
            await self.wait(self.rng.uniform(15, 60))
            if not await self.send(case):
                await self.self_handled(case)
                return
            if call.level <= 2 and self.rng.random() < 0.6:
                await self.wait(self.rng.uniform(60, 180))
                await self.send(case, reinforcement=True)
        else:
            await self.wait(self.rng.uniform(60, 240))
            await self.self_handled(case)

    async def duplicate_story(self, master: Case) -> None:
        incident = await self.intake(self.maker.duplicate(master.call))
        if incident is None:
            return
        await self.wait(self.rng.uniform(20, 60))
        await self.post(
            "merge", f"/api/incidents/{incident['id']}/merge/", self.city.desk, {"into": master.incident["id"]}
        )

    async def feedback(self, incident_id: int, token: str, code: str, text: str) -> None:
        result = code if code in self.city.results else self.city.results[0]
        await self.post("feedback", f"/api/incidents/{incident_id}/feedback/", token, {"text": text, "result": result})

    async def close(self, case: Case, token: str) -> None:
        status, _ = await self.api.call("close", "POST", f"/api/incidents/{case.incident['id']}/close/", token, {})
        if status == 200:
            self.spawn(self.callback(case), self.rng.uniform(600, 5400))

    async def self_handled(self, case: Case) -> None:
        from simulation.calls import SELF_FEEDBACK

        i, desk = case.incident["id"], self.city.desk
        status, _ = await self.post("self_handle", f"/api/incidents/{i}/self-handle/", desk, {"reason": "电话处置"})
        if status != 200:
            return
        await self.wait(self.rng.uniform(60, 300))
        code, text = self.rng.choice(SELF_FEEDBACK)
        await self.feedback(i, desk, code, text)
        await self.wait(self.rng.uniform(30, 180))
        await self.close(case, desk)

    async def diversion(self, case: Case) -> None:
        want = case.call.type.partner
        partner = next(
            (p for p in self.city.partners if want in p[1]), self.city.partners[0] if self.city.partners else None
        )
        if partner is None:
            await self.self_handled(case)
            return
        pid, _name, agent = partner
        i = case.incident["id"]
        status, _ = await self.post(
            "divert", f"/api/incidents/{i}/divert/", self.city.desk, {"partner": pid, "note": "非警务警情，请协调处理"}
        )
        if status != 200:
            return
        # The partner's inbox: its pushed diversions; it takes this one.
        await self.wait(self.rng.uniform(60, 900))
        status, page = await self.api.call("partner_inbox", "GET", "/api/diversions/?state=pushed&page_size=500", agent)
        rows = page.get("results", []) if status == 200 and isinstance(page, dict) else []
        d = next((r["id"] for r in rows if (r.get("incident") or {}).get("id") == i), None)
        if d is None:
            return
        status, _ = await self.api.call("diversion_accept", "POST", f"/api/diversions/{d}/accept/", agent, {})
        if status != 200:
            return
        if self.rng.random() < 0.06:
            await self.wait(self.rng.uniform(300, 1800))
            status, _ = await self.post(
                "diversion_return", f"/api/diversions/{d}/return/", agent, {"reason": "经核实属警务事项，请公安处置"}
            )
            if status == 200:
                await self.wait(self.rng.uniform(60, 300))
                await self.self_handled(case)
            return
        await self.wait(self.rng.uniform(900, 5400))
        status, _ = await self.post(
            "diversion_complete",
            f"/api/diversions/{d}/complete/",
            agent,
            {"result": "已联系相关单位处理完毕，并答复来电人。"},
        )
        if status == 200:
            self.spawn(self.callback(case), self.rng.uniform(600, 5400))

    async def callback(self, case: Case) -> None:
        from simulation.calls import CALLBACK_TEXT

        if self.rng.random() > 0.92:
            return  # never reached: its callback clock breaks (after 24 h)
        satisfaction = self.rng.choices(["satisfied", "basically", "dissatisfied"], weights=[82, 12, 6])[0]
        channel = "phone" if self.rng.random() < 0.85 else "sms"
        await self.api.call(
            "callback",
            "POST",
            f"/api/incidents/{case.incident['id']}/callback/",
            self.city.desk,
            {"channel": channel, "satisfaction": satisfaction, "text": CALLBACK_TEXT[satisfaction]},
        )

    async def send(self, case: Case, *, exclude: frozenset[int] = frozenset(), reinforcement: bool = False) -> bool:
        """Dispatch the nearest suitable free unit (inside its ring if one is), else the station itself."""
        i, desk = case.incident["id"], self.city.desk
        status, rec = await self.api.call("recommend", "GET", f"/api/incidents/{i}/recommendations/?limit=5", desk)
        results = rec.get("results", []) if status == 200 and isinstance(rec, dict) else []
        recs = [r for r in results if r["unit"]["id"] not in exclude and r["distance_m"] < 6000]
        if reinforcement and not recs:
            return False
        pick = next((r for r in recs if r["within_ring"]), recs[0] if recs else None)
        order: Any = None
        if pick is not None:
            status, order = await self.post(
                "dispatch", f"/api/incidents/{i}/dispatch/", desk, {"unit": pick["unit"]["id"]}
            )
            travel = pick["eta_s"] * self.rng.uniform(0.8, 1.5)
            if status != 201:  # taken by another call meanwhile: the station goes
                pick = None
        if pick is None:
            status, order = await self.post(
                "dispatch", f"/api/incidents/{i}/dispatch/", desk, {"org": case.incident["org"]}
            )
            travel = self.rng.uniform(120, 480)
        if status != 201 or not isinstance(order, dict):
            return False
        oid = order["id"]
        case.orders[oid] = order["state"]
        case.order_org[oid] = order["org"]
        if pick is not None:
            case.units[oid] = pick["unit"]["id"]
        self.spawn(self.order_story(case, oid, travel))
        return True

    async def order_act(self, case: Case, oid: int, action: str, token: str, body: Any = None) -> str:
        _status, data = await self.api.call(action, "POST", f"/api/orders/{oid}/{action}/", token, body or {})
        if isinstance(data, dict) and isinstance(data.get("state"), str):
            case.orders[oid] = data["state"]
        return case.orders[oid]

    async def order_story(self, case: Case, oid: int, travel: float) -> None:
        """The station's side: deliver, sign (a share late, in real seconds) or return; the drive; arrival."""
        from simulation.calls import RETURN_REASONS

        rng, station = self.rng, self.officer(case.order_org[oid])
        x = rng.random()
        returns = x < 0.03
        late = not returns and rng.random() < LATE_SIGN
        sign_after = (
            rng.uniform(10, 40) if returns
            else rng.uniform(*LATE_SIGN_REAL_S) * SPEED if late
            else rng.uniform(4, 25) if x < 0.80
            else rng.uniform(25, 55) if x < 0.94
            else rng.uniform(55, 150)
        )  # fmt: skip
        deliver_after = rng.uniform(1, 6) if rng.random() < 0.85 else None
        waited = 0.0
        if deliver_after is not None and deliver_after < sign_after:
            await self.wait(deliver_after)
            waited = deliver_after
            if case.orders[oid] == "sent":
                await self.order_act(case, oid, "deliver", station)
        await self.wait(sign_after - waited)
        if case.orders[oid] in ("sent", "delivered"):
            if returns:
                state = await self.order_act(case, oid, "return", station, {"reason": rng.choice(RETURN_REASONS)})
                if state == "returned":
                    await self.wait(rng.uniform(10, 30))
                    unit = case.units.get(oid)
                    if not case.handling:
                        await self.send(case, exclude=frozenset({unit} if unit else set()))
                return
            await self.order_act(case, oid, "sign", station)
        if case.orders[oid] != "signed":
            if case.orders[oid] == "arrived":
                self.arrived(case)
            return
        unit = case.units.get(oid)
        lat, lon = case.incident.get("lat"), case.incident.get("lon")
        if unit is not None and lat is not None and lon is not None:
            self.drive(unit, (float(lat), float(lon)), travel)
        await self.wait(travel)
        if case.orders[oid] == "signed":
            await self.order_act(case, oid, "arrive", station)
        if case.orders[oid] == "arrived":
            self.arrived(case)

    def arrived(self, case: Case) -> None:
        if not case.handling:
            case.handling = True
            self.spawn(self.scene(case))

    async def scene(self, case: Case) -> None:
        """On scene for a while; every order finished (or called off), the scene cleared, the feedback filed
        and the incident closed by the responsible station."""
        from simulation.calls import FEEDBACK

        lo, hi = case.call.type.scene_min
        await self.wait(self.rng.uniform(lo, hi) * 60)
        i = case.incident["id"]
        officer = self.officer(case.incident["org"])
        arrived = False
        for oid, state in sorted(case.orders.items()):
            if state == "arrived":
                arrived = True
                done = await self.order_act(case, oid, "done", self.officer(case.order_org[oid]), {"note": "处置完毕"})
                if done == "done" and oid in case.units:
                    uid = case.units[oid]
                    self.drive(uid, self.city.units[uid]["home"], None)
            elif state in ("sent", "delivered", "signed"):
                await self.order_act(case, oid, "cancel", self.city.desk, {"reason": "现场已处置完毕"})
        if arrived:
            await self.api.call("clear_scene", "POST", f"/api/incidents/{i}/clear-scene/", officer, {})
        await self.wait(self.rng.uniform(60, 600))
        options = FEEDBACK.get(case.call.category[:2], (("99", "已处置完毕。"),))
        code, text = options[0] if self.rng.random() < 0.7 else self.rng.choice(options)
        await self.feedback(i, officer, code, text)
        await self.wait(self.rng.uniform(30, 300))
        await self.close(case, officer)

    # --- Units on the move --------------------------------------------------------------------------------

    def drive(self, unit_id: int, to: tuple[float, float], seconds: float | None) -> None:
        from simulation.calls import metres
        from simulation.simulator import SPEED_MS, Trip

        info = self.city.units[unit_id]
        frm = info["pos"]
        if seconds is None:  # back to the station, unhurried
            seconds = metres(frm, to) / (SPEED_MS.get(info["kind"], 5.0) * 0.6)
        now = self.now()
        self.trips[unit_id] = Trip(frm, to, now, now + seconds)

    async def positions(self) -> None:
        """Every POSITION_EVERY_S simulated seconds, one batch with every moving unit's position."""
        while True:
            await self.wait(POSITION_EVERY_S)
            now, batch = self.now(), []
            for uid in sorted(self.trips):
                trip = self.trips[uid]
                lat, lon = trip.at(now)
                self.city.units[uid]["pos"] = (lat, lon)
                batch.append({"unit": uid, "lat": lat, "lon": lon})
                if now >= trip.t1:
                    del self.trips[uid]
            if batch:
                self.spawn(self.api_positions(batch))

    async def api_positions(self, batch: list[dict[str, Any]]) -> None:
        await self.api.call("positions", "POST", "/api/units/positions/", self.city.desk, {"positions": batch})


# --- Report -------------------------------------------------------------------------------------------------


def played(day: Day, plan: list[tuple[float, Any]], timing: dict[str, Any]) -> dict[str, Any]:
    api = day.api
    by_handling = Counter(call.type.handling for _t, call in plan)
    return {
        "simulated_hours": HOURS,
        "calls_planned": len(plan),
        "calls_by_handling": dict(by_handling),
        "peak_calls_per_minute": round(peak_per_minute(INCIDENTS), 2),
        "intakes": dict(day.intakes),
        **timing,
        "launch_lag_s": summary(day.launch_lag_s),
        "client_wait_for_a_free_slot_ms": summary(api.waited_ms),
        "story_errors": day.error_count,
        "story_error_examples": day.errors[:3],
        "connection_failures": api.failures,
        "actions": {
            label: {
                "n": len(ms),
                "p50_ms": round(summary(ms)["p50"], 1),
                "p99_ms": round(summary(ms)["p99"], 1),
                "statuses": {str(k): v for k, v in sorted(api.status[label].items())},
            }
            for label, ms in sorted(api.ms.items(), key=lambda x: -len(x[1]))
        },
    }


def hourly(day: Day, boards: dict[str, Any]) -> list[dict[str, Any]]:
    hours = sorted(set(day.api.intake_by_hour) | {int(h) for h in boards.get("by_hour_p99", {}) if int(h) >= 0})
    return [
        {
            "hour": h % 24,
            "calls": len(day.api.intake_by_hour.get(h, [])),
            "intake_p99_ms": round(summary(day.api.intake_by_hour[h])["p99"], 1)
            if day.api.intake_by_hour.get(h)
            else None,
            "push_p99_ms": boards.get("by_hour_p99", {}).get(h),
        }
        for h in hours
    ]


def report(
    day: Day,
    plan: list[tuple[float, Any]],
    timing: dict[str, Any],
    boards: dict[str, Any],
    processes: dict[str, Any],
    db: dict[str, Any],
    breaches: dict[str, Any],
    baseline: dict[str, Any],
    machine_info: dict[str, Any],
) -> dict[str, Any]:
    intake = summary(day.api.ms.get("intake", []))
    push = boards["commit_to_receipt_ms"]
    on_board = boards["breach_due_to_board_s"]
    pg_p99 = baseline["pgbench_single_row_insert_1_client"].get("latency_ms", {}).get("p99")
    rtt_p99 = baseline["redis_pubsub_rtt_ms"]["p99"]
    lag = breaches["recorded_s"]
    pushed = breaches["pushed_s"]
    statuses = day.api.status["intake"]
    return {
        "bench": "day",
        "machine": machine_info,
        "settings": settings_used(),
        "played": played(day, plan, timing),
        "intake_ms": intake | {"non_2xx": sum(v for k, v in statuses.items() if k not in (200, 201))},
        "intake_sent_to_answer_ms": summary(day.api.intake_sent_ms),
        "push": {k: v for k, v in boards.items() if k not in ("by_hour_p99", "breach_due_to_board_s")},
        "breach_lag": breaches | {"due_to_each_board_s": on_board},
        "hourly": hourly(day, boards),
        "processes": processes,
        "database": db,
        "baseline": baseline,
        "ratios": {
            "intake_p99_over_pgbench_1_client_p99": ratio(intake["p99"], pg_p99, 1),
            "push_p99_over_redis_pubsub_rtt_p99": ratio(push["p99"], rtt_p99, 1),
            "breach_recorded_p99_over_pgbench_1_client_p99": ratio(lag["p99"] * 1000, pg_p99, 1) if lag["n"] else None,
        },
        "target": {
            "intake_p99_ms": 100,
            "push_p99_ms": 150,
            "breach_lag_p99_s": 1.5,
            "met": {
                "intake": bool(intake["n"] and intake["p99"] <= 100),
                "push": bool(push["n"] and push["p99"] <= 150),
                "breach": bool(lag["n"] and max(lag["p99"], pushed["p99"] if pushed["n"] else math.inf) <= 1.5),
            },
        },
    }


# --- Main ---------------------------------------------------------------------------------------------------


def main() -> None:
    import psutil
    import redis as redis_lib

    r = redis_lib.Redis.from_url(os.environ["REDIS_URL"])
    for key in r.scan_iter(f"{PREFIX}:*", count=1000):  # a crashed earlier run leaves groups and sequences
        r.delete(key)
    env = setup_django(DB_NAME, PREFIX)
    note(f"settings {settings_used()}")
    city = setup(env)
    note(f"city ready: {len(city.stations)} stations, {len(city.units)} units, {len(city.boards)} board users")
    baseline = {**db_baseline(), **push_baseline()}
    note("baselines measured")
    machine_info = machine()
    size0 = database_sizes()
    from django.db import connection

    connection.close()  # the day runs in asyncio; Django is used again after it

    procs, web_port, ws_port = start_platform(env)
    ctx = mp.get_context("spawn")
    ready, stop_evt, out = ctx.Event(), ctx.Event(), ctx.Queue()
    clock = ctx.Array("d", [0.0, SPEED, start_seconds(START)], lock=False)
    boards_proc = ctx.Process(
        target=boards_process,
        args=(city.boards, web_port, f"ws://127.0.0.1:{ws_port}/ws/board/", clock, ready, stop_evt, out),
        daemon=True,
    )
    try:
        boards_proc.start()
        if not ready.wait(300):
            raise RuntimeError("the boards did not connect and load in 300 s")
        note(f"{len(city.boards)} boards connected and loaded; the day starts")
        roles = {name: Role(tree(p.pid), root=psutil.Process(p.pid)) for name, p in procs.items()}
        roles |= postgres_roles(DB_NAME) | redis_role()
        roles["driver"] = Role(lambda: [psutil.Process()], note="this process: the people's HTTP calls")
        roles["boards"] = Role(tree(boards_proc.pid or 0), note="the board clients' process")
        connection.close()
        day = Day(city, web_port)
        plan = day.plan()
        note(f"{len(plan)} calls planned over {HOURS:g} simulated hours from {START} at {SPEED:g}x")
        psutil.cpu_percent(None)
        watch = ProcessWatch(roles).start()
        timing = asyncio.run(day.run(plan, clock))
        processes = watch.stop()
        busy = psutil.cpu_percent(None) / 100 * (os.cpu_count() or 1)
        time.sleep(3)  # the last pushes
        stop_evt.set()
        boards = out.get(timeout=600)
        boards_proc.join(30)
    finally:
        stop_evt.set()
        if boards_proc.is_alive():
            boards_proc.terminate()
        stop_platform(procs, web_port)
    ours = sum(v["cores_avg"] for k, v in processes.items() if k != "postgres")
    processes["machine"] = {
        "busy_cores_avg": round(busy, 2),
        "other_processes_cores_avg": round(max(0.0, busy - ours), 2),
    }
    from incidents.models import Incident

    incidents = Incident.objects.count()
    size1 = database_sizes()
    db = growth(size0, size1, incidents)
    db["rows"] = table_rows([t["table"] for t in db["tables"]])
    result = report(day, plan, timing, boards, processes, db, breach_lags(), baseline, machine_info)
    print(json.dumps(result, ensure_ascii=False))
    connection.close()
    for key in r.scan_iter(f"{PREFIX}:*", count=1000):
        r.delete(key)


if __name__ == "__main__":
    main()
