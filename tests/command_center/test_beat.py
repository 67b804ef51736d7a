"""Beat as one leader (command_center/beat.py): the lease on the real Redis, and two schedulers ticking side
by side in this process, publishing to the real broker; what they publish is read from Celery's own
before_task_publish signal. tests/faults/test_scaleout.py does the same with real beat processes."""

from __future__ import annotations

import itertools
import shelve
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from celery import signals
from celery.schedules import schedule

from command_center import beat, heartbeat
from command_center import redis as kredis
from command_center.celery import app

PROBE = "command_center.beat_probe"


@pytest.fixture(autouse=True)
def _clean() -> Iterator[None]:
    def wipe() -> None:
        kredis.client().delete(beat.lease_key(), beat.last_run_key())

    wipe()
    yield
    wipe()
    app.control.purge()  # what the schedulers published: nobody consumes it here


@pytest.fixture
def sent() -> Iterator[list[dict[str, Any]]]:
    """The headers of every probe published by a beat (stamped `beat`) while the test runs (the schedulers
    also carry the app's own entries: the sweep, the housekeeping)."""
    out: list[dict[str, Any]] = []

    def record(headers: dict[str, Any] | None = None, **kwargs: object) -> None:
        if headers and headers.get("beat") and headers.get("task") == PROBE:
            out.append(dict(headers))

    signals.before_task_publish.connect(record, weak=False)
    yield out
    signals.before_task_publish.disconnect(record)


def wait_until(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def test_one_lease_holder_at_a_time() -> None:
    a, b = beat.Lease("a", 5), beat.Lease("b", 5)
    assert a.acquire()
    assert not b.acquire()
    assert beat.leader() == "a"
    assert a.renew()
    assert not b.renew()  # compare-and-renew: b never extends a's lease
    assert not b.release()  # nor deletes it
    assert beat.leader() == "a"
    assert a.release()
    assert beat.leader() is None
    assert b.acquire()
    assert not a.renew()  # a lost it: its renewal says so instead of stealing it back


def test_an_expired_lease_passes_to_the_next_and_fences_the_old_holder() -> None:
    a, b = beat.Lease("a", 0.2), beat.Lease("b", 5)
    assert a.acquire()
    assert a.fence("sweep", 100.0)
    wait_until(lambda: beat.leader() is None, 5, "the lease to expire")
    assert b.acquire()
    assert not a.renew()
    assert not a.fence("sweep", 200.0)  # the old holder may send nothing more
    assert beat.last_runs() == {"sweep": 100.0}  # and recorded nothing
    assert b.fence("sweep", 300.0)
    assert beat.last_runs() == {"sweep": 300.0}


def scheduler(tmp_path: Path, name: str, every: float = 0.1, file: str = "schedule") -> beat.LeaderScheduler:
    """A LeaderScheduler (`name` for the reader) with one entry: the probe every `every` seconds."""
    s = beat.LeaderScheduler(app=app, schedule_filename=str(tmp_path / file), max_interval=0.05)
    s.update_from_dict({"probe": {"task": PROBE, "schedule": schedule(every)}})
    return s


def tick_for(schedulers: list[beat.LeaderScheduler], until: Any, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not until():
        assert time.monotonic() < deadline, "timed out ticking the schedulers"
        for s in schedulers:
            s.tick()
        time.sleep(0.01)


def test_two_schedulers_send_once_and_the_standby_takes_over(
    tmp_path: Path, settings: Any, sent: list[dict[str, Any]]
) -> None:
    settings.BEAT_LEASE_S = 2  # renewed every 0.67 s: a leader loses it only if this process stalls that long
    a = scheduler(tmp_path, "a", file="a")
    b = scheduler(tmp_path, "b", file="b")
    try:
        tick_for([a, b], lambda: len(sent) >= 8)
        assert {h["beat"] for h in sent} == {a.identity}  # b stood by and sent nothing
        assert a.leading and not b.leading
        assert heartbeat.age(heartbeat.BEAT) is not None
        # a stops (killed: it neither ticks nor releases); b leads once the lease expired.
        before = len(sent)
        tick_for([b], lambda: len(sent) >= before + 5)
        assert b.leading
        assert {h["beat"] for h in sent[before:]} == {b.identity}
        runs = [h["beat_at"] for h in sent]
        assert all(y - x > 0.05 for x, y in itertools.pairwise(runs))  # one run per period (0.1 s), at most
        # a comes back to life: its first renewal finds b's lease, it stands by and sends nothing.
        a_sent = len([h for h in sent if h["beat"] == a.identity])
        tick_for([a, b], lambda: len(sent) >= before + 10)
        assert not a.leading
        assert len([h for h in sent if h["beat"] == a.identity]) == a_sent
    finally:
        a.close()
        b.close()


@pytest.mark.parametrize(("ago", "sends"), [(1.0, False), (40.0, True)])
def test_a_new_leader_goes_on_from_the_last_recorded_run(
    tmp_path: Path, sent: list[dict[str, Any]], ago: float, sends: bool
) -> None:
    """The last leader ran the 30 s probe `ago` seconds ago: the new one waits out the rest of the period
    (no repeat at the takeover), or, when a run is overdue, makes it up at once (no run lost)."""
    recorded = time.time() - ago
    kredis.client().hset(beat.last_run_key(), "probe", repr(recorded))
    b = scheduler(tmp_path, "b", every=30)
    try:
        for _ in range(5):
            b.tick()
        assert b.leading
        if sends:
            assert [h["beat"] for h in sent] == [b.identity]
        else:
            assert sent == []
            adopted = b.schedule["probe"].last_run_at
            assert adopted is not None and adopted.timestamp() == pytest.approx(recorded)
    finally:
        b.close()


def test_a_lease_left_by_a_dead_process_of_this_host_is_taken_at_once(tmp_path: Path, settings: Any) -> None:
    """`make run` starts beat again a second after a SIGKILL: it need not wait out the old lease."""
    settings.BEAT_LEASE_S = 30
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    elsewhere = beat.Lease(f"another-host:{int(gone.stdout)}:abcdef", 30)
    assert elsewhere.acquire()
    assert beat.Lease("x", 30).take_from_the_dead() is None  # a holder elsewhere is never presumed dead
    assert elsewhere.release()
    dead = f"{socket.gethostname()}:{int(gone.stdout)}:abcdef"
    assert beat.Lease(dead, 30).acquire()
    b = scheduler(tmp_path, "b")
    try:
        b.tick()
        assert b.leading
        assert beat.leader() == b.identity
    finally:
        b.close()
    alive = beat.Lease(f"{socket.gethostname()}:1:abcdef", 30)  # pid 1 lives: its lease stays
    assert alive.acquire()
    c = scheduler(tmp_path, "c")
    try:
        c.tick()
        assert not c.leading
    finally:
        c.close()


def test_the_leader_releases_on_shutdown(tmp_path: Path, settings: Any) -> None:
    settings.BEAT_LEASE_S = 30  # an expiry would take half a minute: a quick takeover proves the release
    a = scheduler(tmp_path, "a", file="a")
    b = scheduler(tmp_path, "b", file="b")
    a.tick()
    assert a.leading
    b.tick()
    assert not b.leading
    a.close()
    assert beat.leader() is None
    b._next_check = 0  # its next try comes now rather than in 10 s
    b.tick()
    assert b.leading
    b.close()


def test_a_schedule_file_is_one_beats(tmp_path: Path) -> None:
    a = scheduler(tmp_path, "a", file="shared")
    b = scheduler(tmp_path, "b", file="shared")
    try:
        assert isinstance(getattr(a, "_store", None), shelve.DbfilenameShelf)  # the file, locked
        assert type(getattr(b, "_store", None)) is shelve.Shelf  # in memory: the file is a's
        assert (tmp_path / "shared.lock").read_text().strip().isdigit()
    finally:
        a.close()
        b.close()
    c = scheduler(tmp_path, "c", file="shared")  # a is gone: the file is free again
    try:
        assert isinstance(getattr(c, "_store", None), shelve.DbfilenameShelf)
    finally:
        c.close()
