"""Shared bench plumbing: a throw-away database on the same server, Django set up on it, child processes
(web, worker, beat) on it, and percentile helpers. Each bench prints one JSON object on stdout."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    xs = sorted(values)
    k = max(0, min(len(xs) - 1, round(p / 100 * (len(xs) - 1))))
    return xs[k]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50": round(pct(values, 50), 4),
        "p99": round(pct(values, 99), 4),
        "max": round(max(values), 4) if values else float("nan"),
        "mean": round(statistics.fmean(values), 4) if values else float("nan"),
    }


def bench_database(name: str) -> str:
    """Create (afresh) database `name` on DATABASE_URL's server; return its URL."""
    import psycopg2

    url = os.environ["DATABASE_URL"]
    parts = urlsplit(url)
    from environ import Env

    cfg = Env.db_url_config(url)
    from urllib.parse import unquote

    conn = psycopg2.connect(
        host=unquote(cfg["HOST"]) or None,
        port=cfg["PORT"] or None,
        user=cfg["USER"],
        password=cfg["PASSWORD"] or None,
        dbname="postgres",
    )
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    return urlunsplit(parts._replace(path=f"/{name}"))


def setup_django(db_name: str, redis_prefix: str) -> dict[str, str]:
    """Point this process at a fresh bench database, migrate it; returns the env for child processes."""
    env = dict(os.environ)
    env["DATABASE_URL"] = bench_database(db_name)
    env["REDIS_PREFIX"] = redis_prefix
    env["DJANGO_SETTINGS_MODULE"] = "command_center.settings"
    env.setdefault("DEBUG", "0")
    env["SECURE_SSL_REDIRECT"] = "0"
    env["LOG_LEVEL"] = "WARNING"
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def platform(env: dict[str, str], *, worker_concurrency: int = 2) -> Iterator[str]:
    """Start web (daphne), a Celery worker and beat on `env`; yield the base URL; stop them all."""
    port = free_port()
    bin_ = Path(sys.executable).parent
    run = ROOT / ".run" / "bench"
    run.mkdir(parents=True, exist_ok=True)
    schedule = run / f"beat-{port}"
    # Each child's output goes to .run/bench/<name>.log, to read when a number looks wrong.
    logs = {name: (run / f"{name}.log").open("w") for name in ("web", "worker", "beat")}
    procs = [
        subprocess.Popen(
            [str(bin_ / "daphne"), "-b", "127.0.0.1", "-p", str(port), "command_center.asgi:application"],
            env=env, cwd=ROOT, stdout=logs["web"], stderr=subprocess.STDOUT,
        ),
        subprocess.Popen(
            [str(bin_ / "celery"), "-A", "command_center", "worker", "-l", "WARNING", "-c", str(worker_concurrency),
             "-n", f"bench{port}@%h"],
            env=env, cwd=ROOT, stdout=logs["worker"], stderr=subprocess.STDOUT,
        ),
        subprocess.Popen(
            [str(bin_ / "celery"), "-A", "command_center", "beat", "-l", "WARNING", "-s", str(schedule), "--pidfile="],
            env=env, cwd=ROOT, stdout=logs["beat"], stderr=subprocess.STDOUT,
        ),
    ]  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            time.sleep(0.5)
        else:
            raise RuntimeError("the platform did not become healthy in 90 s")
        yield base
    finally:
        for p in procs:
            with contextlib.suppress(ProcessLookupError):
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
        for f in run.glob(f"beat-{port}*"):
            f.unlink(missing_ok=True)


def redis_pubsub_rtt(n: int = 500) -> list[float]:
    """Baseline: seconds from PUBLISH to the subscriber receiving it, on the same Redis."""
    import redis

    r = redis.Redis.from_url(os.environ["REDIS_URL"])
    sub = r.pubsub()
    chan = f"bench-rtt-{os.getpid()}"
    sub.subscribe(chan)
    sub.get_message(timeout=1)
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        r.publish(chan, b"x")
        while sub.get_message(timeout=1) is None:
            pass
        out.append(time.perf_counter() - t0)
    sub.close()
    return out


def db_single_row_commit(n: int = 500) -> list[float]:
    """Baseline: seconds for one single-row UPDATE in its own transaction (what a sweep does per row)."""
    from django.db import connection, transaction

    with connection.cursor() as cur:
        cur.execute("CREATE TEMP TABLE IF NOT EXISTS bench_row (id int primary key, v timestamptz)")
        cur.execute("INSERT INTO bench_row VALUES (1, now()) ON CONFLICT DO NOTHING")
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("UPDATE bench_row SET v = now() WHERE id = 1")
        out.append(time.perf_counter() - t0)
    return out


async def http_load(
    port: int, requests: list[bytes], concurrency: int, timeout: float = 120.0
) -> tuple[list[float], list[int], float]:
    """Send pre-built HTTP/1.1 requests over `concurrency` keep-alive connections to 127.0.0.1:port.

    Returns (latencies in seconds, status codes, wall time). A plain asyncio client: no library between
    the bench and the socket, so what is measured is the server.
    """
    import asyncio

    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for r in requests:
        queue.put_nowait(r)
    lat: list[float] = []
    codes: list[int] = []

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while True:
                try:
                    req = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                t0 = time.perf_counter()
                if reader.at_eof():  # the server closed the connection after the last answer (no keep-alive)
                    writer.close()
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(req)
                await writer.drain()
                status_line = await reader.readline()
                length, chunked, close = 0, False, False
                while True:
                    line = await reader.readline()
                    if line in (b"\r\n", b""):
                        break
                    k, _, v = line.decode("latin-1").partition(":")
                    if k.lower() == "content-length":
                        length = int(v.strip())
                    elif k.lower() == "transfer-encoding" and "chunked" in v.lower():
                        chunked = True
                    elif k.lower() == "connection" and "close" in v.lower():
                        close = True
                if chunked:
                    while True:
                        size = int((await reader.readline()).strip(), 16)
                        await reader.readexactly(size + 2)
                        if size == 0:
                            break
                elif length:
                    await reader.readexactly(length)
                if close:
                    writer.close()
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                lat.append(time.perf_counter() - t0)
                codes.append(int(status_line.split()[1]) if status_line else 0)
        finally:
            writer.close()

    t0 = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(concurrency))), timeout)
    return lat, codes, time.perf_counter() - t0


def http_request(method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> bytes:
    head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: keep-alive"]
    for k, v in (headers or {}).items():
        head.append(f"{k}: {v}")
    if body or method in ("POST", "PUT", "PATCH"):
        head.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def pgbench_insert_tps(seconds: int = 5, clients: int = 4) -> float:
    """Baseline: pgbench, one single-row INSERT per transaction, on the bench's database."""
    import re
    import tempfile

    import pgserver
    from django.db import connection

    pgbench = Path(pgserver.__file__).parent / "pginstall" / "bin" / "pgbench"
    with connection.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS bench_insert (id bigserial primary key, at timestamptz, v text)")
    s = connection.settings_dict
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        f.write("INSERT INTO bench_insert (at, v) VALUES (now(), 'x');\n")
        script = f.name
    args = [str(pgbench), "-n", "-f", script, "-c", str(clients), "-j", "2", "-T", str(seconds), "-U", s["USER"]]
    if s.get("HOST"):
        args += ["-h", s["HOST"]]
    if s.get("PORT"):
        args += ["-p", str(s["PORT"])]
    args.append(s["NAME"])
    env = dict(os.environ, PGPASSWORD=s.get("PASSWORD") or "")
    out = subprocess.run(args, capture_output=True, text=True, env=env, check=True).stdout
    m = re.search(r"tps = ([\d.]+)", out)
    return float(m.group(1)) if m else float("nan")


def serve(env: dict[str, str], mode: str, port: int) -> subprocess.Popen[bytes]:
    """Start one HTTP serving mode of the project on `port`."""
    bin_ = Path(sys.executable).parent
    cmds = {
        "daphne": [str(bin_ / "daphne"), "-b", "127.0.0.1", "-p", str(port), "command_center.asgi:application"],
        "uvicorn-1": [str(bin_ / "uvicorn"), "command_center.asgi:application", "--port", str(port),
                      "--workers", "1", "--loop", "uvloop", "--http", "httptools", "--no-access-log",
                      "--log-level", "warning"],
        "uvicorn-2": [str(bin_ / "uvicorn"), "command_center.asgi:application", "--port", str(port),
                      "--workers", "2", "--loop", "uvloop", "--http", "httptools", "--no-access-log",
                      "--log-level", "warning"],
        "gunicorn-sync-4": [str(bin_ / "gunicorn"), "command_center.wsgi:application", "-b", f"127.0.0.1:{port}",
                            "-w", "4", "--log-level", "warning"],
        "gunicorn-gthread-2x4": [str(bin_ / "gunicorn"), "command_center.wsgi:application", "-b",
                                 f"127.0.0.1:{port}", "-w", "2", "--threads", "4", "-k", "gthread",
                                 "--log-level", "warning"],
    }  # fmt: skip
    (ROOT / ".run" / "static").mkdir(parents=True, exist_ok=True)
    (ROOT / ".run" / "bench").mkdir(parents=True, exist_ok=True)
    log = (ROOT / ".run" / "bench").joinpath(f"serve-{mode}.log").open("w")
    if mode.startswith("gunicorn"):
        env = {**env, "CONN_MAX_AGE": "60"}  # as make run and the image serve HTTP (see settings)
    return subprocess.Popen(cmds[mode], env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)


def cpu_snapshot(server_pid: int) -> dict[str, float]:
    """CPU seconds used so far by the server's process tree, by every PostgreSQL and Redis process on this
    machine, and by this (client) process: read before and after a load to see where its CPU went."""
    import psutil

    def used(p: psutil.Process) -> float:
        try:
            t = p.cpu_times()
            return float(t.user + t.system)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return 0.0

    out = {"server": 0.0, "postgres": 0.0, "redis": 0.0, "client": used(psutil.Process())}
    try:
        root = psutil.Process(server_pid)
        out["server"] = used(root) + sum(used(c) for c in root.children(recursive=True))
    except psutil.NoSuchProcess:
        pass
    for p in psutil.process_iter(["name"]):
        name = p.info["name"] or ""
        if name.startswith("postgres"):
            out["postgres"] += used(p)
        elif name.startswith("redis-server"):
            out["redis"] += used(p)
    return out


def cpu_ms_per(before: dict[str, float], after: dict[str, float], n: int) -> dict[str, float]:
    return {k: round((after[k] - before[k]) * 1000 / n, 2) for k in before}


def wait_ready(port: int, path: str, headers: dict[str, str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers)
            with urllib.request.urlopen(req, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"server on {port} not ready")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
