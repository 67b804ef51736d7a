"""Beat as one leader: any number of `celery beat` processes may run, and only the one holding the lease in
Redis sends anything (settings.CELERY_BEAT_SCHEDULER names `LeaderScheduler`).

Why: every periodic task (the clock sweep, housekeeping, bulletins, report drafts) is sent by beat, and two
beats — a second one started by mistake, or a standby kept warm on another machine — would send each of them
twice. The sweep itself is safe with any number of runs (SKIP LOCKED), but a bulletin or a feed pull is not
meant to run twice as often.

How, step by step:
1. The lease is one key, `<prefix>:beat:lease`, holding the leader's identity (host:pid:random), with a time
   to live of `BEAT_LEASE_S`. A beat without it tries `SET key identity NX PX` every `BEAT_LEASE_S / 3`
   seconds and sends nothing meanwhile (standby).
2. The leader renews it at least that often with a compare-and-renew script (PEXPIRE only if the key still
   holds its identity); a renewal that finds another identity, or none, means the lease was lost (this beat
   stalled longer than the lease): it logs that and goes back to standby.
3. Each task the leader sends is fenced: one script checks that the key still holds its identity, renews it
   and records the entry's run time in `<prefix>:beat:last_run` (a hash, entry name → epoch seconds) — and
   only when it did is the message published. A beat that lost the lease therefore sends nothing more,
   however long it slept. (A leader paused *between* that script and the publish, for longer than the
   lease, could still send one message after a successor started; the lease's seconds make that window
   small, it is not zero.)
4. A beat that takes the lease adopts the leader's last runs from that hash before its first tick, so the
   schedule goes on where the old leader left it: no run is repeated at a takeover and none skipped (a
   bulletin at 08:00 that the dead leader did not send is sent by its successor).
5. On shutdown (SIGTERM, SIGINT) the leader deletes the key if it still holds it (compare-and-delete), so a
   standby takes over at its next try instead of after the lease. A killed leader's lease simply expires:
   a standby leads within `BEAT_LEASE_S` + `BEAT_LEASE_S / 3` — unless the holder ran on this machine
   (its host name) and its process is gone (`make run` starting beat again after a SIGKILL): then the
   lease is deleted (compare-and-delete) and taken at once. A holder elsewhere is never presumed dead.

Each beat still keeps the schedule file that celery's PersistentScheduler keeps (`-s`, or
CELERY_BEAT_SCHEDULE_FILENAME), under an exclusive lock: the file is a `dbm.dumb` database here, which two
processes writing at once would corrupt. A second beat finding the file locked keeps its schedule in memory
and says so — the last runs that matter are in Redis anyway.

The leader writes the `beat` heartbeat (heartbeat.py) at every renewal; /metrics reports its age.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import secrets
import shelve
import socket
import time
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from celery import signals
from celery.beat import PersistentScheduler, ScheduleEntry
from django.conf import settings

from . import heartbeat
from . import redis as kredis

log = logging.getLogger(__name__)

# KEYS[1] the lease; ARGV[1] our identity, ARGV[2] the lease in ms. 1: renewed; 0: not ours (lost).
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return 1
end
return 0
"""
# The fence before each send: KEYS[1] the lease, KEYS[2] the last runs; ARGV[1] identity, ARGV[2] ms,
# ARGV[3] the entry's name, ARGV[4] its run time (epoch seconds). 1: go ahead; 0: the lease is not ours.
_FENCE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])
    return 1
end
return 0
"""
# KEYS[1] the lease; ARGV[1] our identity. Deletes it only if it is still ours.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""

# The beat sending right now and the run it sends (its identity, the entry's run time), stamped on the
# message's headers (`beat`, `beat_at`) by the before_task_publish receiver below: a worker (and the
# scale-out test) can tell which beat sent a task, for which run of its schedule.
_sending: ContextVar[tuple[str, float] | None] = ContextVar("beat_sending", default=None)


def lease_key() -> str:
    return kredis.key("beat", "lease")


def last_run_key() -> str:
    return kredis.key("beat", "last_run")


def leader() -> str | None:
    """The identity of the beat holding the lease now, or None."""
    raw = kredis.client().get(lease_key())
    return raw.decode() if isinstance(raw, bytes) else raw


class Lease:
    """The lease itself, apart from Celery: acquire / renew / fence / release for one identity."""

    def __init__(self, identity: str, seconds: float) -> None:
        self.identity = identity
        self.ms = max(int(seconds * 1000), 1)
        client = kredis.client()
        self._renew = client.register_script(_RENEW)
        self._fence = client.register_script(_FENCE)
        self._release = client.register_script(_RELEASE)

    def acquire(self) -> bool:
        """Take the lease if nobody holds it."""
        return bool(kredis.client().set(lease_key(), self.identity, nx=True, px=self.ms))

    def renew(self) -> bool:
        """Extend the lease if it is still ours; False: it is not (expired, or another beat holds it)."""
        return bool(self._renew(keys=[lease_key()], args=[self.identity, self.ms]))

    def fence(self, name: str, run_at: float) -> bool:
        """Before sending entry `name`: still ours? Then renew it and record the run; False: send nothing."""
        return bool(self._fence(keys=[lease_key(), last_run_key()], args=[self.identity, self.ms, name, repr(run_at)]))

    def release(self) -> bool:
        return bool(self._release(keys=[lease_key()], args=[self.identity]))

    def take_from_the_dead(self) -> str | None:
        """Take the lease if its holder was a process of this host that no longer exists; returns that
        holder's identity when it did, else None."""
        holder = leader()
        if holder is None or not _dead_here(holder):
            return None
        if self._release(keys=[lease_key()], args=[holder]) and self.acquire():
            return holder
        return None


def _dead_here(identity: str) -> bool:
    """Was `identity` (host:pid:random) a process of this host that is gone now?"""
    host, _, rest = identity.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # alive, someone else's (PermissionError)
        return False
    return False


def last_runs() -> dict[str, float]:
    """Entry name → the epoch seconds of its last run, as recorded by whichever beat led."""
    raw = kredis.client().hgetall(last_run_key())
    out = {}
    for k, v in raw.items():
        with contextlib.suppress(ValueError):
            out[k.decode() if isinstance(k, bytes) else k] = float(v)
    return out


def _lock(path: str) -> int | None:
    """An exclusive, non-blocking lock on `path` (the file descriptor), or None when another process has it.
    The kernel lets go when the process ends, however it ends."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


class LeaderScheduler(PersistentScheduler):
    """Celery's PersistentScheduler, sending only while it holds the lease (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Celery builds a scheduler lazily for introspection too (lazy=True): nothing here touches Redis.
        self.schedule_file: str = kwargs.get("schedule_filename") or ""
        self.identity = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self.lease_s = float(settings.BEAT_LEASE_S)
        self.leading = False
        self._lease: Lease | None = None
        self._next_check = 0.0  # monotonic time of the next acquire / renew
        self._file_tried = False
        self._file_lock: int | None = None  # the lock's descriptor; None: not tried yet, or another beat's file
        super().__init__(*args, **kwargs)

    # --- the lease ---

    @property
    def check_every(self) -> float:
        return self.lease_s / 3

    def lease(self) -> Lease:
        if self._lease is None:
            self._lease = Lease(self.identity, self.lease_s)
        return self._lease

    def check_lease(self) -> bool:
        """Renew the lease we hold, or try to take it; log every change. Redis unreachable: standby."""
        was = self.leading
        try:
            if self.leading:
                self.leading = self.lease().renew()
            else:
                self.leading = self.lease().acquire()
                if not self.leading:
                    dead = self.lease().take_from_the_dead()
                    if dead is not None:
                        log.warning("beat %s: the lease's holder %s is gone from this host", self.identity, dead)
                        self.leading = True
                if self.leading:
                    self._adopt_last_runs()
            if self.leading:
                heartbeat.beat(heartbeat.BEAT)
        except Exception as exc:
            self.leading = False
            log.warning("beat %s: cannot reach Redis for the lease (%s); sending nothing", self.identity, exc)
        if self.leading and not was:
            log.warning("beat %s: took the lease, leading now (lease %.1f s)", self.identity, self.lease_s)
        elif was and not self.leading:
            with contextlib.suppress(Exception):
                holder = leader()
                log.warning("beat %s: lost the lease (now held by %s); standing by", self.identity, holder)
        return self.leading

    def _adopt_last_runs(self) -> None:
        """Go on with the schedule where the last leader left it (step 4)."""
        runs = last_runs()
        tz = self.app.timezone
        for name, entry in self.schedule.items():
            if name in runs:
                entry.last_run_at = datetime.fromtimestamp(runs[name], tz=tz)
        self._heap = None  # rebuilt from the adopted times at the next tick

    def tick(self, *args: Any, **kwargs: Any) -> float:
        now = time.monotonic()
        if now >= self._next_check:
            self.check_lease()
            self._next_check = now + self.check_every
        until_check = max(self._next_check - time.monotonic(), 0.0)
        if not self.leading:
            return min(until_check, float(self.max_interval or until_check))
        delay = super().tick(*args, **kwargs)
        return until_check if delay is None else min(float(delay), until_check)

    def apply_async(self, entry: ScheduleEntry, producer: Any = None, advance: bool = True, **kwargs: Any) -> Any:
        """Send `entry` only if the fence says the lease is still ours (step 3)."""
        name = entry.name or ""
        current = self.schedule.get(name, entry)
        run_at = current.last_run_at.timestamp() if current.last_run_at else time.time()
        try:
            ours = self.lease().fence(name, run_at)
        except Exception as exc:
            log.warning("beat %s: cannot reach Redis to fence %s (%s); not sent", self.identity, entry.name, exc)
            ours = False
        if not ours:
            if self.leading:
                self.leading = False
                log.warning("beat %s: lost the lease before sending %s; standing by", self.identity, entry.name)
            return None
        token = _sending.set((self.identity, run_at))
        try:
            return super().apply_async(entry, producer=producer, advance=advance, **kwargs)
        finally:
            _sending.reset(token)

    def close(self) -> None:
        try:
            if self.leading and self._lease is not None:
                with contextlib.suppress(Exception):
                    self._lease.release()
                    log.warning("beat %s: released the lease", self.identity)
                self.leading = False
            super().close()
        finally:
            if self._file_lock is not None:
                os.close(self._file_lock)
                self._file_lock = None
                self._file_tried = False

    # --- the schedule file ---

    def _open_schedule(self) -> Any:
        if not self._file_tried:
            self._file_tried = True
            self._file_lock = _lock(self.schedule_file + ".lock")
            if self._file_lock is None:
                log.warning(
                    "beat %s: the schedule file %s is another beat's (locked); this one keeps its schedule in "
                    "memory. Give each beat its own file (-s) to keep it across restarts.",
                    self.identity,
                    self.schedule_file,
                )
        if self._file_lock is None:
            return shelve.Shelf({}, writeback=True)
        # As PersistentScheduler opens it: a pickle of our own, written by this process only (locked above).
        return shelve.open(self.schedule_file, writeback=True)  # noqa: S301

    @property
    def info(self) -> str:
        return f"{super().info}\n    . lease -> {lease_key()} ({self.lease_s:g} s) as {self.identity}"


@signals.before_task_publish.connect
def _stamp_sender(headers: dict[str, object] | None = None, **kwargs: object) -> None:
    sending = _sending.get()
    if sending is not None and headers is not None:
        headers["beat"], headers["beat_at"] = sending
