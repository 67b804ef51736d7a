"""Intake through the real HTTP API: token auth, validation, repeat check, gapless number, push.

For each serving mode of the project (ASGI: daphne, uvicorn; WSGI: gunicorn) it posts incidents at a
fixed concurrency and reports incidents/s, p50 and p99; the baseline is pgbench's single-row INSERT on the
same database in the same run (tps with 4 clients; one insert's latency with 1), and the ratios read the
intake against it. Environment: BENCH_INTAKE_N (3,000; quick 300), BENCH_INTAKE_CONCURRENCY (16),
BENCH_INTAKE_MODES (all five; quick: gunicorn-sync-4). `statements_per_intake`: the SQL statements one intake
sends, counted in this process through the WSGI handler.
Target (issue 3): ≥ 300 incidents/s and p99 ≤ 100 ms.
"""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any

from _common import (
    CpuSampler,
    db_baseline,
    free_port,
    http_load,
    http_request,
    machine,
    ratio,
    serve,
    setup_django,
    size,
    stop,
    summary,
    wait_ready,
)

N = size("BENCH_INTAKE_N", 3000, 300)
CONCURRENCY = size("BENCH_INTAKE_CONCURRENCY", 16, 16)
ALL_MODES = "daphne,uvicorn-2,gunicorn-sync-4,gunicorn-gthread-2x4"
MODES = size("BENCH_INTAKE_MODES", ALL_MODES, "gunicorn-sync-4").split(",")


def analyze() -> None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("ANALYZE incidents_incident")


def statements_per_intake(token: str, body: dict[str, Any]) -> dict[str, Any]:
    """The SQL statements one intake sends (BEGIN and COMMIT included), through Django's WSGI handler in
    this process: the middleware, DRF and the service as the server runs them. The kept connection's health
    check sends nothing on a live connection (command_center/pgbackend)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_AUTHORIZATION=f"Token {token}", HTTP_ACCEPT="application/json", HTTP_HOST="127.0.0.1")
    # another caller at another address: the counted call is no repeat of it (a repeat writes ledger lines)
    warm = {**body, "call_id": "count-0", "caller_phone": "13900000002", "address": "另一路9号"}
    warm["lat"] = body["lat"] + 0.005  # 550 m off: the same station (its lineage in memory), not the same place
    first = client.post("/api/incidents/", json.dumps(warm), content_type="application/json")
    assert first.status_code == 201, first.content[:300]  # the first fills the process's memory (memo.py)
    with CaptureQueriesContext(connection) as q:
        r = client.post("/api/incidents/", json.dumps(body), content_type="application/json")
    assert r.status_code == 201, r.content[:300]
    sent = [" ".join(x["sql"].split())[:100] for x in q.captured_queries]
    return {"count": len(sent), "statements": sent}


def main() -> None:
    env = setup_django("cc_bench_intake", "ccbench")
    from django.contrib.auth.models import Group, User

    from command_center import codes, demo, tokens
    from command_center.models import Category, Person

    codes.load_defaults()
    city = demo.load_orgs()
    user = User.objects.create_user("bench-duty", password="bench-pass-123")
    Person.objects.create(user=user, org=city)
    user.groups.set(Group.objects.filter(name__in=["call_taker", "duty_officer"]))
    _row, token = tokens.token_issue(user=user, name="bench")
    cats = list(Category.objects.filter(level__gte=2).values_list("code", flat=True))
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json", "Accept": "application/json"}
    baseline = db_baseline()
    pg_tps = baseline["pgbench_single_row_insert"].get("tps")
    pg_p99 = baseline["pgbench_single_row_insert_1_client"].get("latency_ms", {}).get("p99")

    rnd = random.Random(7)
    statements = statements_per_intake(
        token,
        {"call_id": "count-1", "source": "110", "caller_phone": "13900000001", "address": "示范路1号", "lat": 30.25,
         "lon": 120.1, "category": cats[0], "level": 3, "narrative": "报警人称现场有纠纷，请求出警。"},
    )  # fmt: skip
    results: dict[str, dict[str, Any]] = {}
    for m, mode in enumerate(MODES):
        port = free_port()
        proc = serve(env, mode, port)
        try:
            wait_ready(port, "/api/me/", {"Authorization": f"Token {token}"})
            reqs = []
            for k in range(N + 200):
                body = {
                    "call_id": f"{mode}-{k}",
                    "source": "110",
                    "caller_phone": f"139{rnd.randrange(10**8):08d}",
                    # each mode its own 500 addresses: a mode run later does not meet the earlier ones'
                    # calls as repeats at the same address
                    "address": f"示范{m + 1}路{rnd.randrange(500)}号",
                    "lat": 30.2 + rnd.random() * 0.15,
                    "lon": 120.05 + rnd.random() * 0.2,
                    "category": rnd.choice(cats),
                    "level": rnd.randint(1, 4),
                    "narrative": "报警人称现场有纠纷，请求出警。",
                }
                reqs.append(http_request("POST", "/api/incidents/", json.dumps(body).encode(), headers))
            asyncio.run(http_load(port, reqs[:200], CONCURRENCY))  # warm-up
            analyze()  # a production table has statistics; a fresh bench table has none until autovacuum
            with CpuSampler(proc.pid, "cc_bench_intake") as sampler:
                lat, codes_, wall = asyncio.run(http_load(port, reqs[200:], CONCURRENCY))
            cpu = sampler.ms_per(len(lat))
        finally:
            stop(proc)
        s = summary([x * 1000 for x in lat])
        results[mode] = {
            "incidents_per_s": round(len(lat) / wall, 1),
            "p50_ms": s["p50"],
            "p99_ms": s["p99"],
            "non_201": sum(1 for c in codes_ if c != 201),
            # server + postgres (the bench database's backends) + redis: the incident's own cost
            "cpu_ms_per_incident": {**cpu, "total": round(cpu["server"] + cpu["postgres"] + cpu["redis"], 2)},
        }
    best = max(results, key=lambda m: results[m]["incidents_per_s"])
    out = {
        "bench": "intake",
        "machine": machine(),
        "requests": N,
        "concurrency": CONCURRENCY,
        "statements_per_intake": statements,
        "modes": results,
        "fastest_mode": best,
        "baseline": baseline,
        "ratios": {
            "incidents_per_s_over_pgbench_tps": {m: ratio(r["incidents_per_s"], pg_tps, 3) for m, r in results.items()},
            "p99_over_pgbench_1_client_p99": {m: ratio(r["p99_ms"], pg_p99, 1) for m, r in results.items()},
        },
        "target": {
            "incidents_per_s": 300,
            "p99_ms": 100,
            "met_by": [m for m, r in results.items() if r["incidents_per_s"] >= 300 and r["p99_ms"] <= 100],
        },
    }
    print(json.dumps(out, ensure_ascii=False))
    from django.db import connection

    connection.close()


if __name__ == "__main__":
    main()
