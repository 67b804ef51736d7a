"""What the long benches measure besides latency: CPU seconds and peak memory of each process role while
they run (`ProcessWatch`), the database's growth and its biggest tables' (`database_sizes`, `growth`), and
how late the sweep breached and pushed the deadlines that fell due (`breach_lags`)."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from _common import summary


class Role:
    """A process role to watch: `procs()` lists its processes now (re-listed every sample: PostgreSQL
    backends come and go). With `root`, the CPU of processes that ended is read from the root's reaped
    children's times (exact); without, a process that ended keeps its last sampled CPU (the last interval
    of it, and processes shorter than one interval, are missed)."""

    def __init__(self, procs: Callable[[], list[Any]], root: Any = None, note: str = ""):
        self.procs, self.root, self.note = procs, root, note


def tree(pid: int) -> Callable[[], list[Any]]:
    """A process and its descendants, now."""
    import psutil

    def listed() -> list[Any]:
        try:
            p = psutil.Process(pid)
            return [p, *p.children(recursive=True)]
        except psutil.Error:
            return []

    return listed


def _cpu(p: Any) -> float:
    t = p.cpu_times()
    return float(t.user + t.system)


def _reaped(p: Any) -> float:
    t = p.cpu_times()
    return float(getattr(t, "children_user", 0.0) + getattr(t, "children_system", 0.0))


class ProcessWatch:
    """CPU seconds and peak memory by role while a bench runs, sampled every `interval` s in a thread.

    Memory: the peak over the samples of the role's summed RSS, and of its summed PSS (shared pages split
    among the processes sharing them: PostgreSQL's shared buffers or a forked worker's pages are counted
    once across the role, not once per process).
    """

    def __init__(self, roles: dict[str, Role], interval: float = 1.0):
        self.roles, self.interval = roles, interval
        self.first: dict[str, dict[int, float]] = {r: {} for r in roles}  # cpu at start, by pid
        self.last: dict[str, dict[int, float]] = {r: {} for r in roles}  # last sampled cpu, by pid
        self.alive: dict[str, set[int]] = {r: set() for r in roles}
        self.reaped0: dict[str, float] = {}
        self.peak_rss: dict[str, float] = dict.fromkeys(roles, 0.0)
        self.peak_pss: dict[str, float] = dict.fromkeys(roles, 0.0)
        self.seen: dict[str, set[int]] = {r: set() for r in roles}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="process-watch")
        self.t0 = self.t1 = 0.0

    def start(self) -> ProcessWatch:
        import psutil

        for name, role in self.roles.items():
            if role.root is not None:
                with contextlib.suppress(psutil.Error):
                    self.reaped0[name] = _reaped(role.root)
        self._sample(first=True)
        self.t0 = time.monotonic()
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def _sample(self, first: bool = False) -> None:
        import psutil

        for name, role in self.roles.items():
            rss = pss = 0.0
            alive = set()
            for p in role.procs():
                try:
                    cpu = _cpu(p)
                    mem = p.memory_full_info()
                except psutil.Error:
                    continue
                alive.add(p.pid)
                self.seen[name].add(p.pid)
                if first:
                    self.first[name][p.pid] = cpu
                self.last[name][p.pid] = cpu
                rss += mem.rss
                pss += getattr(mem, "pss", mem.rss)
            self.alive[name] = alive
            self.peak_rss[name] = max(self.peak_rss[name], rss)
            self.peak_pss[name] = max(self.peak_pss[name], pss)

    def stop(self) -> dict[str, dict[str, Any]]:
        import psutil

        self._stop.set()
        self._thread.join(10)
        self._sample()
        self.t1 = time.monotonic()
        wall = max(self.t1 - self.t0, 1e-9)
        out: dict[str, dict[str, Any]] = {}
        for name, role in self.roles.items():
            pids = self.alive[name] if role.root is not None else set(self.last[name])
            cpu = sum(self.last[name][p] - self.first[name].get(p, 0.0) for p in pids)
            if role.root is not None:
                with contextlib.suppress(psutil.Error):
                    cpu += _reaped(role.root) - self.reaped0.get(name, 0.0)
            out[name] = {
                "cpu_s": round(cpu, 1),
                "cores_avg": round(cpu / wall, 3),
                "peak_rss_mb": round(self.peak_rss[name] / 2**20, 1),
                "peak_pss_mb": round(self.peak_pss[name] / 2**20, 1),
                "processes": len(self.seen[name]),
            } | ({"note": role.note} if role.note else {})
        return out


def postgres_roles(dbname: str) -> dict[str, Role]:
    """The PostgreSQL server of the Django connection, when it runs on this machine: `postgres` = the
    backends serving `dbname` (sampled), `postgres_server` = the whole server (postmaster, background
    processes, every backend of every database, exact through the postmaster's reaped children)."""
    import psutil
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        backend = int(cur.fetchone()[0])
    try:
        postmaster = psutil.Process(psutil.Process(backend).ppid())
    except psutil.Error:
        return {}

    def ours() -> list[Any]:
        found = []
        for p in postmaster.children():
            with contextlib.suppress(psutil.Error):
                if dbname in " ".join(p.cmdline()).split():
                    found.append(p)
        return found

    return {
        "postgres": Role(ours, note=f"backends of database {dbname} (sampled each second; a connection shorter "
                         "than that is missed: see postgres_server)"),
        "postgres_server": Role(tree(postmaster.pid), root=postmaster,
                                note="the whole server: every database's backends and the background processes"),
    }  # fmt: skip


def redis_role() -> dict[str, Role]:
    """The Redis server of REDIS_URL, when it runs on this machine (INFO's process_id)."""
    import psutil
    import redis

    try:
        pid = int(redis.Redis.from_url(os.environ["REDIS_URL"]).info("server")["process_id"])
        psutil.Process(pid)
    except (psutil.Error, KeyError, redis.RedisError):
        return {}
    return {"redis": Role(tree(pid), note="the whole server (every client of it)")}


# --- The database -------------------------------------------------------------------------------------------


def database_sizes() -> dict[str, Any]:
    """The database's size and its tables' (with indexes and TOAST), and their rows."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT pg_database_size(current_database())")
        total = int(cur.fetchone()[0])
        cur.execute(
            "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname = 'public'"
        )
        tables = {name: int(b) for name, b in cur.fetchall()}
    return {"total": total, "tables": tables}


def table_rows(names: list[str]) -> dict[str, int]:
    from django.db import connection

    out = {}
    with connection.cursor() as cur:
        for name in names:
            cur.execute(f'SELECT count(*) FROM "{name}"')  # noqa: S608 - names from pg_class
            out[name] = int(cur.fetchone()[0])
    return out


def growth(before: dict[str, Any], after: dict[str, Any], incidents: int, top: int = 12) -> dict[str, Any]:
    """Database growth over the day, in total and for the `top` biggest-growing tables, per 1,000 incidents."""
    per = 1000 / max(incidents, 1)
    grown = {t: b - before["tables"].get(t, 0) for t, b in after["tables"].items()}
    biggest = sorted(grown, key=lambda t: -grown[t])[:top]
    return {
        "incidents": incidents,
        "size_before_mb": round(before["total"] / 2**20, 1),
        "size_after_mb": round(after["total"] / 2**20, 1),
        "mb_per_1000_incidents": round((after["total"] - before["total"]) / 2**20 * per, 2),
        "tables": [
            {
                "table": t,
                "mb_after": round(after["tables"][t] / 2**20, 2),
                "mb_per_1000_incidents": round(grown[t] / 2**20 * per, 3),
            }
            for t in biggest
        ],
    }


def breach_lags() -> dict[str, Any]:
    """Due → breach recorded and due → breach pushed, of every deadline breached in this database."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "SELECT kind, EXTRACT(EPOCH FROM breached_at - due_at), EXTRACT(EPOCH FROM pushed_at - due_at) "
            "FROM command_center_deadline WHERE breached_at IS NOT NULL"
        )
        rows = cur.fetchall()
        cur.execute("SELECT kind, count(*) FROM command_center_deadline GROUP BY kind ORDER BY kind")
        started = dict(cur.fetchall())
    kinds = Counter(k for k, _b, _p in rows)
    return {
        "recorded_s": summary([float(b) for _k, b, _p in rows]),
        "pushed_s": summary([float(p) for _k, _b, p in rows if p is not None]),
        "never_pushed": sum(1 for _k, _b, p in rows if p is None),
        "breached_by_kind": dict(sorted(kinds.items())),
        "clocks_started_by_kind": started,
    }
