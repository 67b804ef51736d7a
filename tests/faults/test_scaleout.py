"""Scale-out: several of everything on one PostgreSQL and one Redis — two gunicorn, two daphne, two Celery
workers and two beats (conftest.launch) — and then the same behind PgBouncer in transaction mode.

One run per variant (the `run` fixture): for LOAD_S seconds (15), callers post incidents through BOTH web servers
(API tokens), half of them settled at once (self-handled), to the city and to two stations. The SLA policy
gives every call a dispatch clock of 3 s and every self-handled one a feedback clock of 3 s, and supervision
escalates a late feedback after 3 s (SUPERVISION_INCIDENT_ESCALATE_S): many deadlines of three kinds fall
due during the run. Boards follow /ws/board/ on EACH daphne (the city, and two stations' duty officers),
loading their state over REST on connect and on any `seq` gap, as the screens do (static/js/boardmodel.js,
bench/_boards.py), and keeping the part of it the test checks: the incidents of the queue with their states,
versions and broken clocks. A third of the way in, the beat that leads is frozen (SIGSTOP, as a paused
machine) until the other takes over by the lease's expiry, then thawed; at two thirds the new leader is
killed (SIGKILL) and the first, standing by, takes over again.

Then, once nothing is due any more, the tests check counts, order and equality (no timing):
- every board's seqs strictly increase on each connection, every gap was recovered by a reload, and what
  it shows equals the database (a fresh REST load; the city's also against SQL);
- every due deadline was breached once: no escalation retried (a second breach would trip the reminders'
  unique key), one reminder per late feedback, one 督办 per broken escalation clock, one push per breach on
  each board;
- the beats: the probe (BEAT_PROBE_S) was sent by one beat at a time, never twice in a period: by the
  first leader until it froze, by the other from its takeover to its death (the thawed one sent nothing),
  then by the first again; the sweeps went on (clocks due after the kill were breached).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import websockets

from .conftest import DEMO_PASSWORD, PGBOUNCER, Platform, intake_body, launch, wait_until

pytestmark = [pytest.mark.faults, pytest.mark.timeout(600)]

LOAD_S = 15.0  # how long callers post incidents
MAX_INCIDENTS = 300  # in all (the board's queue holds 500: dispatch/board.py MAX_INCIDENTS)
CALLERS = 4  # threads posting, half on each web server
PROBE_S = 1.0  # beat's probe period (settings.BEAT_PROBE_S)
LEASE_S = 3.0  # the beat lease (settings.BEAT_LEASE_S)
ENV = {
    "BEAT_PROBE_S": str(PROBE_S),
    "BEAT_LEASE_S": str(LEASE_S),
    "SUPERVISION_INCIDENT_ESCALATE_S": "3",
}
WORKING = {"received", "dispatched", "responding", "on_scene", "scene_cleared", "self_handled"}
DISPATCH_CLOCK = "incidents.dispatch"
STATIONS = {"sd1": "东湖派出所", "sd2": "西溪派出所"}  # station duty officers the test adds


# --- A board, as the screens keep it ---------------------------------------------------------------------


@dataclass
class Row:
    state: str
    version: int | None
    breached: dict[int, str] = field(default_factory=dict)  # the incident's broken clocks: deadline id → kind

    def view(self) -> tuple[str, int | None, list[int]]:
        return (self.state, self.version, sorted(self.breached))


def rows_of_state(state: dict[str, Any]) -> dict[int, Row]:
    """The checked part of GET /api/board/: the queue's incidents and their own broken, unmet clocks."""
    out = {}
    for i in state["incidents"]:
        if i.get("ended"):
            continue
        breached = {c["id"]: c["kind"] for c in i["clocks"] if c["order"] is None and c["breached_at"]}
        out[i["id"]] = Row(i["state"], i["version"], breached)
    return out


class Board:
    """One screen on one daphne: connects (reconnecting when dropped), loads its state on each hello and on
    any seq gap, applies the pushes with a higher seq, and records every frame and every gap."""

    def __init__(self, p: Platform, name: str, ws_port: int, web_port: int, session: str, org_id: int) -> None:
        self.p, self.name, self.ws_port, self.web_port = p, name, ws_port, web_port
        self.cookie = f"sessionid={session}"
        self.org_id = org_id
        self.connections = 0
        self.seqs: list[list[int]] = []  # per connection, the seq of every push in arrival order
        self.gaps: list[tuple[int, int, int]] = []  # (last seq applied, seq received, seq of the reload after)
        self.reloads = 0
        self.breach_pushes: Counter[int] = Counter()  # deadline id → deadlines.breached entries heard
        self.model: dict[int, Row] = {}
        self.last = 0
        self.errors: list[str] = []

    def load(self) -> dict[str, Any]:
        status, state = self.p.http("GET", "/api/board/", port=self.web_port, headers={"Cookie": self.cookie})
        assert status == 200, (self.name, status, state)
        return dict(state)

    async def reload(self) -> None:
        state = await asyncio.to_thread(self.load)
        self.model = rows_of_state(state)
        self.last = int(state["seq"])
        self.reloads += 1

    def apply(self, env: dict[str, Any]) -> None:
        """boardmodel.js `apply`, for the incidents and their own clocks."""
        ev, d = env["event"], env.get("data") or {}
        if ev in ("incident.created", "incident.updated"):
            old = self.model.get(d["id"])
            if old and old.version is not None and d.get("version") is not None and d["version"] < old.version:
                return
            if d.get("master") is not None or d["state"] not in WORKING:
                self.model.pop(d["id"], None)
                return
            row = old or Row(d["state"], d.get("version"))
            row.state, row.version = d["state"], d.get("version")
            if "clocks" in d:
                row.breached = {c["id"]: c["kind"] for c in d["clocks"] if c.get("breached_at")}
            elif d["state"] != "received":  # the first order, or settling it, met the dispatch clock
                row.breached = {k: v for k, v in row.breached.items() if v != DISPATCH_CLOCK}
            self.model[d["id"]] = row
        elif ev == "deadlines.breached":
            for dl in d.get("deadlines", []):
                subject = dl.get("subject") or {}
                if subject.get("type") == "incidents.incident" and subject.get("id") in self.model:
                    self.model[subject["id"]].breached[dl["id"]] = dl["kind"]

    async def receive(self, env: dict[str, Any]) -> None:
        seq = env["seq"]
        if env["event"] == "deadlines.breached":
            self.breach_pushes.update(dl["id"] for dl in env["data"]["deadlines"])
        if seq <= self.last:
            return  # already in the state loaded
        if seq > self.last + 1:  # lost on the way: load the state again, as the screen does
            before = self.last
            while True:
                await self.reload()
                if self.last >= seq - 1:
                    break
            self.gaps.append((before, seq, self.last))
            if seq <= self.last:
                return
        self.apply(env)
        self.last = seq

    async def follow(self, stop: threading.Event) -> None:
        url = f"ws://127.0.0.1:{self.ws_port}/ws/board/"
        headers = {"Cookie": self.cookie, "Origin": "http://127.0.0.1"}
        while not stop.is_set():
            try:
                async with websockets.connect(url, additional_headers=headers, max_size=None) as ws:
                    self.connections += 1
                    self.seqs.append([])
                    while not stop.is_set():
                        try:
                            raw = await asyncio.wait_for(ws.recv(), timeout=0.5)
                        except TimeoutError:
                            continue
                        env = json.loads(raw)
                        if env.get("event") == "hello":
                            await self.reload()
                        elif isinstance(env.get("seq"), int):
                            self.seqs[-1].append(env["seq"])
                            await self.receive(env)
            except Exception as exc:
                self.errors.append(repr(exc))
                await asyncio.sleep(0.5)


class Boards:
    """All the boards in one thread with its own event loop."""

    def __init__(self, boards: list[Board]) -> None:
        self.boards = boards
        self.stop = threading.Event()
        self.thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    async def _run(self) -> None:
        await asyncio.gather(*(b.follow(self.stop) for b in self.boards))

    def __enter__(self) -> Boards:
        self.thread.start()
        wait_until(lambda: all(b.reloads for b in self.boards), 60, "every board to connect and load")
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(20)


# --- The run ----------------------------------------------------------------------------------------------


@dataclass
class Run:
    p: Platform
    variant: str
    boards: list[Board]
    answers: Counter[int]
    incidents: list[int]
    beats: dict[str, Any]  # first, frozen_at, second (led while first was frozen), killed (its name), killed_at
    orgs: dict[str, int]


def setup_people(p: Platform) -> dict[str, Any]:
    """The station duty officers, everyone's board session, and the org ids (one manage.py shell)."""
    out = p.shell(
        "import json;"
        "from django.contrib.auth import get_user_model, SESSION_KEY, BACKEND_SESSION_KEY, HASH_SESSION_KEY;"
        "from django.contrib.auth.models import Group;"
        "from django.contrib.sessions.backends.db import SessionStore;"
        "from command_center.models import Org, Person, Role;"
        "from incidents.models import SlaPolicy;"
        "SlaPolicy.objects.filter(name='faults').update(dispatch_s=3);"
        f"stations = {STATIONS!r}; out = {{'orgs': {{}}, 'sessions': {{}}}};"
        "U = get_user_model()\n"
        "for name, org in stations.items():\n"
        f"    u = U.objects.create_user(name, password={DEMO_PASSWORD!r});"
        "    Person.objects.create(user=u, org=Org.objects.get(name=org), display_name=name);"
        "    u.groups.set(Group.objects.filter(name=Role.DUTY_OFFICER.value))\n"
        "for name in ['duty', *stations]:\n"
        "    u = U.objects.get(username=name); s = SessionStore();"
        "    s[SESSION_KEY] = str(u.pk); s[BACKEND_SESSION_KEY] = 'django.contrib.auth.backends.ModelBackend';"
        "    s[HASH_SESSION_KEY] = u.get_session_auth_hash(); s.create();"
        "    out['sessions'][name] = s.session_key; out['orgs'][name] = u.person.org_id\n"
        "print(json.dumps(out))"
    )
    return dict(json.loads(out))


def leader_identity(p: Platform) -> str | None:
    import redis

    raw = redis.Redis(port=p.redis_port, decode_responses=True).get("ccfaults:beat:lease")
    return str(raw) if raw else None


def probe_records(p: Platform) -> list[tuple[float, str]]:
    """The probes the worker recorded (command_center.tasks.beat_probe), in time order: (the run of the
    schedule it was, the beat that sent it)."""
    import redis

    records = []
    for raw in redis.Redis(port=p.redis_port, decode_responses=True).lrange("ccfaults:beat:probe", 0, -1):
        sender, run_at = str(raw).rsplit(" ", 1)
        records.append((float(run_at), sender))
    return sorted(records)


def beat_named(p: Platform, identity: str) -> str:
    pid = int(identity.split(":")[1])
    return next(name for name, proc in p.procs.items() if name.startswith("beat") and proc.pid == pid)


def load(p: Platform, orgs: dict[str, int], stop_at: float, events: list[Any]) -> tuple[Counter[int], list[int]]:
    """CALLERS threads post incidents through both web servers until `stop_at` (or MAX_INCIDENTS), paced
    evenly over the LOAD_S seconds so that a fast machine does not post them all in the first few; every
    other one is self-handled at once through the other server. The `events` run one after the other while
    they post, the first a third of the way in, the next at two thirds (or when the one before ended)."""
    start = stop_at - LOAD_S
    token = p.token("duty")
    tag = uuid.uuid4().hex[:6]
    answers: Counter[int] = Counter()
    ids: list[int] = []
    lock = threading.Lock()
    counter = iter(range(MAX_INCIDENTS))
    targets = [None, orgs["sd1"], orgs["sd2"]]

    def caller(n: int) -> None:
        while time.monotonic() < stop_at:
            with lock:
                k = next(counter, None)
            if k is None:
                return
            time.sleep(max(0.0, start + k * LOAD_S / MAX_INCIDENTS - time.monotonic()))
            port, other = p.web_ports[(n + k) % 2], p.web_ports[(n + k + 1) % 2]
            body = intake_body(
                f"scale-{tag}-{k}", caller_phone=f"139{k:08d}", address=f"扩容测试路{k}号", org=targets[k % 3]
            )
            status, created = p.http("POST", "/api/incidents/", body, token, timeout=30, port=port)
            with lock:
                answers[status] += 1
            if status != 201:
                continue
            with lock:
                ids.append(created["id"])
            if k % 2:
                status, _b = p.http(
                    "POST", f"/api/incidents/{created['id']}/self-handle/", {"reason": "电话已劝解"}, token,
                    timeout=30, port=other,
                )  # fmt: skip
                with lock:
                    answers[status] += 1
            time.sleep(0.05)

    threads = [threading.Thread(target=caller, args=(n,)) for n in range(CALLERS)]
    for t in threads:
        t.start()
    for n, event in enumerate(events, start=1):
        time.sleep(max(0.0, start + n * LOAD_S / (len(events) + 1) - time.monotonic()))
        event()
    for t in threads:
        t.join()
    return answers, ids


def pgbouncer_available() -> bool:
    return os.access(PGBOUNCER, os.X_OK)


@pytest.fixture(scope="module", params=["direct", "pgbouncer"])
def run(request: Any) -> Iterator[Run]:
    variant = request.param
    env = dict(ENV)
    if variant == "pgbouncer":
        if not pgbouncer_available() and not os.environ.get("CI"):
            pytest.skip(f"{PGBOUNCER} not installed (apt-get install -y pgbouncer)")
        env["DATABASE_POOL"] = "transaction"
    started = time.monotonic()
    with launch({"web": 2, "ws": 2, "worker": 2, "beat": 2}, env, pgbouncer=variant == "pgbouncer") as p:
        up_s = time.monotonic() - started
        people = setup_people(p)
        orgs, sessions = people["orgs"], people["sessions"]
        boards = [
            Board(p, f"{who}@ws{w}", ws_port, p.web_ports[w], sessions[who], orgs[who])
            for w, ws_port in enumerate(p.ws_ports)
            for who in ("duty", "sd1", "sd2")
        ]
        wait_until(lambda: leader_identity(p) is not None, 30, "a beat to take the lease")
        first = leader_identity(p)
        assert first is not None
        beats: dict[str, Any] = {"first": first}

        def freeze_the_leader() -> None:
            """SIGSTOP, as a paused machine: its lease expires, the other beat takes over; thawed, it must
            find the lease lost and send nothing."""
            identity = leader_identity(p)
            assert identity == first, (identity, first)  # one leader all along so far
            group = os.getpgid(p.procs[beat_named(p, first)].pid)
            beats["frozen_at"] = time.time()
            os.killpg(group, signal.SIGSTOP)
            try:
                wait_until(lambda: leader_identity(p) not in (None, first), 30, "the standby to take over")
            finally:
                os.killpg(group, signal.SIGCONT)
            beats["second"] = leader_identity(p)

        def kill_the_leader() -> None:
            """SIGKILL the new leader once it has sent a probe: the first one, thawed and standing by, takes
            over."""
            wait_until(
                lambda: any(s == beats["second"] for _t, s in probe_records(p)), 30, "the new leader to send a probe"
            )
            beats["killed"] = beat_named(p, beats["second"])
            beats["killed_at"] = time.time()
            p.kill(beats["killed"])
            wait_until(lambda: leader_identity(p) == first, 30, "the first beat to lead again")

        with Boards(boards):
            t0 = time.monotonic()
            answers, ids = load(p, orgs, t0 + LOAD_S, [freeze_the_leader, kill_the_leader])
            load_s = time.monotonic() - t0

            def quiet() -> bool:
                [(due_soon, unpushed)] = p.sql(
                    "SELECT count(*) FILTER (WHERE breached_at IS NULL AND met_at IS NULL AND cancelled_at IS NULL"
                    "  AND due_at < now() + interval '20 seconds'),"
                    " count(*) FILTER (WHERE breached_at IS NOT NULL AND pushed_at IS NULL)"
                    " FROM command_center_deadline"
                )
                return due_soon == 0 and unpushed == 0

            wait_until(quiet, 180, "every due deadline breached and pushed")
            drain_s = time.monotonic() - t0 - load_s
            import redis

            r = redis.Redis(port=p.redis_port)

            def caught_up() -> bool:
                return all(b.last == int(r.get(f"ccfaults:seq:org.{b.org_id}") or 0) for b in boards)

            wait_until(caught_up, 60, "every board to hear the last push of its group")
        # What the run did, for the reader of `pytest -s` (and docs/scale.md).
        [(breached,)] = p.sql("SELECT count(*) FROM command_center_deadline WHERE breached_at IS NOT NULL")
        print(
            f"\nscale-out [{variant}]: up in {up_s:.0f} s, {len(ids)} incidents in {load_s:.1f} s, quiet "
            f"{drain_s:.0f} s later; answers {dict(answers)}, "
            f"{breached} breaches; boards "
            + ", ".join(
                f"{b.name}: {sum(map(len, b.seqs))} pushes, {len(b.gaps)} gaps, {b.connections} connections"
                for b in boards
            )
        )
        yield Run(p, variant, boards, answers, ids, beats, orgs)


# --- The checks -------------------------------------------------------------------------------------------


def test_every_call_was_taken_through_both_web_servers(run: Run) -> None:
    assert set(run.answers) <= {200, 201}, run.answers
    assert len(run.incidents) >= 30, "too little load to prove anything"
    stored = run.p.sql("SELECT count(*) FROM incidents_incident WHERE id = ANY(%s)", [run.incidents])
    assert stored == [(len(run.incidents),)]


def test_boards_on_either_daphne_saw_every_push_in_order(run: Run) -> None:
    for b in run.boards:
        assert b.connections >= 1
        for seqs in b.seqs:  # each connection's pushes, in arrival order
            assert all(x < y for x, y in itertools.pairwise(seqs)), (b.name, seqs)
        for before, received, reloaded in b.gaps:  # each gap was filled by a reload that covers it
            assert reloaded >= received - 1, (b.name, before, received, reloaded)
        assert sum(map(len, b.seqs)) > 0, b.name
    # The city's queue holds every incident of the run (received, or self-handled), on both daphnes.
    for b in run.boards:
        if b.name.startswith("duty@"):
            assert set(run.incidents) <= set(b.model), b.name


def test_what_each_board_shows_equals_the_database(run: Run) -> None:
    for b in run.boards:
        fresh = rows_of_state(b.load())
        assert {i: r.view() for i, r in b.model.items()} == {i: r.view() for i, r in fresh.items()}, b.name
    # The city's board against SQL itself: every incident of the queue, its state and version, its broken clocks.
    rows = run.p.sql(
        "SELECT i.id, i.state, i.version FROM incidents_incident i WHERE i.state = ANY(%s)"
        " AND NOT EXISTS (SELECT 1 FROM incidents_repeatlink l WHERE l.incident_id = i.id)",
        [sorted(WORKING)],
    )
    clocks = run.p.sql(
        "SELECT d.subject_id, d.id FROM command_center_deadline d JOIN django_content_type ct"
        " ON ct.id = d.subject_type_id WHERE ct.app_label = 'incidents' AND ct.model = 'incident'"
        " AND d.breached_at IS NOT NULL AND d.met_at IS NULL AND d.cancelled_at IS NULL"
    )
    broken: dict[int, list[int]] = {}
    for subject, deadline in clocks:
        broken.setdefault(subject, []).append(deadline)
    db = {i: (state, version, sorted(broken.get(i, []))) for i, state, version in rows}
    for b in run.boards:
        if b.name.startswith("duty@"):
            assert {i: r.view() for i, r in b.model.items()} == db, b.name


def test_every_due_deadline_was_breached_exactly_once(run: Run) -> None:
    p = run.p
    [(due_open, retried, breached, unpushed)] = p.sql(
        "SELECT count(*) FILTER (WHERE breached_at IS NULL AND met_at IS NULL AND cancelled_at IS NULL"
        "  AND due_at < now()),"
        " count(*) FILTER (WHERE attempts > 0 OR last_error <> ''),"
        " count(*) FILTER (WHERE breached_at IS NOT NULL),"
        " count(*) FILTER (WHERE breached_at IS NOT NULL AND pushed_at IS NULL)"
        " FROM command_center_deadline"
    )
    assert due_open == 0 and unpushed == 0
    # A deadline breached twice would run its escalation twice, and the second reminder would break the
    # reminders' unique key: the escalation fails and is retried (attempts, last_error). None was.
    assert retried == 0
    kinds = dict(
        p.sql("SELECT kind, count(*) FROM command_center_deadline WHERE breached_at IS NOT NULL GROUP BY kind")
    )
    assert kinds.get(DISPATCH_CLOCK, 0) > 0 and kinds.get("incidents.feedback", 0) > 0, kinds
    assert kinds.get("supervision.incident.escalate", 0) > 0, kinds
    # One reminder (催办) per late feedback, one 督办 per broken escalation clock.
    reminders = p.sql(
        "SELECT d.id, count(r.id) FROM command_center_deadline d"
        " LEFT JOIN supervision_reminder r ON r.deadline_id = d.id"
        " WHERE d.kind = 'incidents.feedback' AND d.breached_at IS NOT NULL GROUP BY d.id"
    )
    assert reminders and all(n == 1 for _d, n in reminders), [r for r in reminders if r[1] != 1]
    orders = p.sql(
        "SELECT d.id, count(o.id) FROM command_center_deadline d"
        " LEFT JOIN supervision_supervisionorder o ON o.deadline_id = d.id"
        " WHERE d.kind = 'supervision.incident.escalate' AND d.breached_at IS NOT NULL GROUP BY d.id"
    )
    assert orders and all(n == 1 for _d, n in orders), [o for o in orders if o[1] != 1]
    # The boards: one push per breach. The city hears them all; a station those of its own clocks.
    by_org = p.sql("SELECT id, org_id FROM command_center_deadline WHERE breached_at IS NOT NULL")
    assert len(by_org) == breached
    for b in run.boards:
        expected = {d for d, org in by_org if b.name.startswith("duty@") or org == b.org_id}
        heard = b.breach_pushes
        assert all(n == 1 for n in heard.values()), (b.name, [d for d, n in heard.items() if n != 1])
        assert set(heard) <= expected, b.name
        if b.connections == 1 and not b.gaps:  # nothing lost on the way: it heard every one
            assert set(heard) == expected, (b.name, sorted(expected - set(heard))[:10])


def test_one_beat_sent_at_a_time_and_the_standby_took_over(run: Run) -> None:
    b = run.beats
    first, second, frozen_at, killed_at = b["first"], b["second"], b["frozen_at"], b["killed_at"]
    assert second not in (None, first)
    records = probe_records(run.p)
    # One beat at a time: the first until it froze, the second from its takeover until it was killed (the
    # first, thawed meanwhile, sent nothing: its lease was lost), then the first again.
    expected = [first if t < frozen_at or t > killed_at else second for t, _s in records]
    assert [s for _t, s in records] == expected, Counter(s for _t, s in records)
    assert Counter(expected)[second] > 0
    assert any(t > killed_at for t, _s in records)
    # Never two runs in one period (two beats would send each probe twice), across the takeovers too: the
    # new leader went on from the last run the old one recorded.
    gaps = [y - x for (x, _s), (y, _t) in itertools.pairwise(records)]
    assert min(gaps) >= PROBE_S / 2, sorted(gaps)[:5]
    # The sweeps went on: clocks that fell due after the kill were breached too.
    [(later,)] = run.p.sql(
        "SELECT count(*) FROM command_center_deadline WHERE breached_at IS NOT NULL AND due_at > to_timestamp(%s)",
        [killed_at + 1],
    )
    assert later > 0
    assert b["killed"] not in run.p.procs


def test_the_variant_ran_as_named(run: Run) -> None:
    """The pgbouncer run went through PgBouncer (its admin console counts the transactions it carried)."""
    if run.variant != "pgbouncer":
        assert run.p.pgbouncer_port == 0
        return
    import psycopg2

    assert run.p.env["DATABASE_URL"] == f"postgres://postgres@127.0.0.1:{run.p.pgbouncer_port}/cc"
    conn = psycopg2.connect(host="127.0.0.1", port=run.p.pgbouncer_port, user="postgres", dbname="pgbouncer")
    conn.autocommit = True  # the console takes no transactions
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW STATS")
            names = [c.name for c in cur.description]
            stats = {row[names.index("database")]: dict(zip(names, row, strict=True)) for row in cur.fetchall()}
            cur.execute("SHOW CONFIG")
            config = {row[0]: row[1] for row in cur.fetchall()}
    finally:
        conn.close()
    assert config["pool_mode"] == "transaction"
    assert stats["cc"]["total_xact_count"] > len(run.incidents)
