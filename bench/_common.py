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
