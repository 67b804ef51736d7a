"""Faults survived: a worker killed while deadlines fall due, Redis gone for 10 s, PostgreSQL restarted.

Each test drives the isolated platform of conftest.py over HTTP and WebSocket and checks the database.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections import Counter
from typing import Any

import pytest
import websockets

from .conftest import Platform, intake_body, wait_until

pytestmark = [pytest.mark.faults, pytest.mark.timeout(300)]


class BoardListener:
    """A board client in a thread: keeps a WebSocket open (reconnecting with back-off, as the page does) and
    records every message. `connections` counts successful handshakes."""

    def __init__(self, platform: Platform, username: str):
        self.url = f"ws://127.0.0.1:{platform.ws_port}/ws/board/"
        self.cookie = f"sessionid={platform.session_cookie(username)}"
        self.messages: list[dict[str, Any]] = []
        self.connections = 0
        self.errors: list[str] = []
        self._stop = False
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    def __enter__(self) -> BoardListener:
        self._thread.start()
        deadline = time.monotonic() + 20
        while self.connections == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert self.connections, f"the board socket did not connect: {self.errors[-3:]}"
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop = True
        self._thread.join(10)

    async def _run(self) -> None:
        delay = 0.2
        while not self._stop:
            try:
                async with websockets.connect(
                    self.url, additional_headers={"Cookie": self.cookie, "Origin": "http://127.0.0.1"}
                ) as ws:
                    self.connections += 1
                    delay = 0.2
                    while not self._stop:
                        try:
                            raw = await asyncio.wait_for(ws.recv(), timeout=0.5)
                        except TimeoutError:
                            continue
                        self.messages.append(json.loads(raw))
            except Exception as exc:
                self.errors.append(repr(exc))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    def breached_ids(self) -> Counter[int]:
        return Counter(
            d["id"] for m in self.messages if m.get("event") == "deadlines.breached" for d in m["data"]["deadlines"]
        )


def open_feedback_clocks(p: Platform, token: str, n: int, tag: str) -> list[int]:
    """n incidents, each self-handled: a feedback clock 3 s long starts for each (SlaPolicy in conftest)."""
    ids = []
    for k in range(n):
        status, body = p.http("POST", "/api/incidents/", intake_body(f"{tag}-{k}"), token)
        assert status == 201, body
        status, body = p.http("POST", f"/api/incidents/{body['id']}/self-handle/", {"reason": "电话已劝解"}, token)
        assert status == 200, body
        ids.append(body["id"])
    return ids


def deadlines_of(p: Platform, incident_ids: list[int]) -> list[tuple[int, Any, Any]]:
    return p.sql(
        "SELECT d.id, d.breached_at, d.pushed_at FROM command_center_deadline d "
        "JOIN django_content_type ct ON ct.id = d.subject_type_id "
        "WHERE ct.app_label = 'incidents' AND ct.model = 'incident' AND d.kind = 'incidents.feedback' "
        "AND d.subject_id = ANY(%s)",
        [incident_ids],
    )


def test_a_worker_killed_while_deadlines_fall_due_loses_no_breach(platform: Platform) -> None:
    p = platform
    token = p.token("duty")
    with BoardListener(p, "duty") as board:
        incidents = open_feedback_clocks(p, token, 20, f"kill-{uuid.uuid4().hex[:6]}")
        p.kill("worker")  # SIGKILL, pool children included, before the clocks fall due
        time.sleep(5)  # they are all due now; nobody sweeps
        assert all(breached is None for _id, breached, _pushed in deadlines_of(p, incidents))
        p.start("worker")
        wait_until(
            lambda: all(b and pu for _i, b, pu in deadlines_of(p, incidents)), 60, "breaches recorded and pushed"
        )
        rows = deadlines_of(p, incidents)
        assert len(rows) == 20  # one clock each: recorded once, never a second row
        wait_until(lambda: set(board.breached_ids()) >= {r[0] for r in rows}, 20, "the board to hear every breach")
        heard = board.breached_ids()
        assert all(heard[r[0]] == 1 for r in rows), heard  # and once each


def test_redis_gone_for_ten_seconds_loses_no_incident_and_no_breach(platform: Platform) -> None:
    p = platform
    token = p.token("duty")
    tag = f"redis-{uuid.uuid4().hex[:6]}"
    answers: dict[str, tuple[int, Any]] = {}
    stop = threading.Event()

    def caller() -> None:
        k = 0
        while not stop.is_set():
            call_id = f"{tag}-{k}"
            try:
                answers[call_id] = p.http("POST", "/api/incidents/", intake_body(call_id), token, timeout=15)
            except OSError as exc:  # no answer at all counts against us below
                answers[call_id] = (0, str(exc))
            k += 1
            time.sleep(0.05)

    with BoardListener(p, "duty") as board:
        clocks = open_feedback_clocks(p, token, 5, f"{tag}-clock")  # due in 3 s: during the outage
        before = board.connections
        t = threading.Thread(target=caller)
        t.start()
        time.sleep(1)
        p.stop_redis()
        time.sleep(10)
        p.start_redis()
        time.sleep(2)
        stop.set()
        t.join(30)
        # Every call was answered: stored and acknowledged (201) or refused with a clear 503.
        codes = Counter(status for status, _body in answers.values())
        assert set(codes) <= {201, 503}, answers
        refused = [cid for cid, (status, _b) in answers.items() if status == 503]
        assert all("detail" in answers[cid][1] for cid in refused)
        stored = {r[0] for r in p.sql("SELECT call_id FROM incidents_incident WHERE call_id LIKE %s", [f"{tag}-%"])}
        assert {cid for cid, (status, _b) in answers.items() if status == 201} <= stored  # acknowledged = stored
        for cid in refused:  # a refused call, retried, is stored once
            status, _body = p.http("POST", "/api/incidents/", intake_body(cid), token)
            assert status in (200, 201)
        counts = p.sql(
            "SELECT call_id, count(*) FROM incidents_incident WHERE call_id LIKE %s GROUP BY call_id", [f"{tag}-%"]
        )
        assert all(n == 1 for _cid, n in counts)
        # The board came back, and hears what happens now.
        wait_until(lambda: board.connections > before, 30, "the board to reconnect")
        status, fresh = p.http("POST", "/api/incidents/", intake_body(f"{tag}-after"), token)
        assert status == 201
        wait_until(
            lambda: any(
                m.get("event") == "incident.created" and m["data"]["id"] == fresh["id"] for m in board.messages
            ),
            20,
            "the new incident on the board",
        )
        # The clocks that fell due while Redis was away were breached once each and pushed after all.
        wait_until(lambda: all(b and pu for _i, b, pu in deadlines_of(p, clocks)), 60, "breaches after the outage")
        assert len(deadlines_of(p, clocks)) == 5


def test_postgres_restart_is_a_clear_503_and_recovers_without_restarts(platform: Platform) -> None:
    p = platform
    token = p.token("duty")
    pids = {name: proc.pid for name, proc in p.procs.items()}
    assert p.http("GET", "/api/me/", token=token)[0] == 200
    p.stop_postgres()
    try:
        for path in ("/api/me/", "/api/incidents/"):
            status, body = p.http("GET", path, token=token)
            assert status == 503, (path, status, body)
            assert "database" in body["detail"].lower() or "数据库" in body["detail"]
        status, body = p.http("POST", "/api/incidents/", intake_body(f"pg-{uuid.uuid4().hex[:6]}"), token)
        assert status == 503, body
        assert p.http("GET", "/healthz")[0] == 503
    finally:
        p.start_postgres()
    wait_until(lambda: p.http("GET", "/api/me/", token=token)[0] == 200, 30, "the API to answer again")
    status, body = p.http("POST", "/api/incidents/", intake_body(f"pg-after-{uuid.uuid4().hex[:6]}"), token)
    assert status == 201, body
    assert {name: proc.pid for name, proc in p.procs.items()} == pids  # nothing was restarted
    assert all(proc.poll() is None for proc in p.procs.values())
