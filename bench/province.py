"""A province's year (issue 16): 12 months × 1,000,000 incidents over a province of 4 cities × 4 counties × 7
stations (112 stations), loaded by COPY (psycopg2 `copy_expert` from a generated stream, the secondary
indexes dropped during the load and built again after it, timed), with two transition-log rows each
(INSERT … SELECT), and the last full month's orders, feedback clocks and callbacks (as bench/kpis.py); then the
rollup rebuilt (`rollups.rebuild`, timed). Measured on the full table, each p50/p99:
- intake through the real service (`incident_intake`: routing, repeat ledger, gapless number, log row, clock,
  push) one call at a time, on the near-empty table first and on the 12-month table after, same run;
- repeat hints: phone, address, position + category, all three (`repeat_hints`);
- every KPI of the month for the province, a city and a county with the ranking under each
  (`kpis.rankings`), and a station's day (`kpis.compute`);
- load time, table and index sizes, bytes per incident, the database's size.
Then the partitioning question, measured on the same data (BENCH_PROVINCE_PARTITION=0 skips it): a copy of the
incident table and of its transition log, range-partitioned by month (13 partitions, the same indexes), against
the plain tables: a lookup by id (no date known), the log of one incident, the hint queries (the SQL
`repeat_hints` sends, replayed on either table), the month's count and GROUP BY, a single-row INSERT, VACUUM,
sizes, and retiring the oldest month (DELETE in a rolled-back transaction, over BENCH_PROVINCE_DELETE_DAYS days
of it and scaled to the month, against DETACH + DROP PARTITION).
Baselines in the same run: pgbench's single-row INSERT (`db_baseline`) and a primary-key SELECT.
Environment: BENCH_PROVINCE_PER_MONTH (1,000,000; quick 20,000), BENCH_PROVINCE_INTAKE (300; quick 60),
BENCH_PROVINCE_QUERIES (200; quick 30), BENCH_PROVINCE_DELETE_DAYS (3; quick 31), BENCH_KEEP=1 keeps the
database (cc_bench_province), else it is dropped at the end.
Targets (README): intake p99 ≤ 100 ms; hints p99 ≤ 20 ms; city month p99 ≤ 300 ms; station day p99 ≤ 50 ms.
"""

from __future__ import annotations

import functools
import io
import json
import os
import random
import re
import shutil
import sys
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

from _common import db_baseline, insert_life_rows, machine, ratio, setup_django, size, summary, timed

PER_MONTH = size("BENCH_PROVINCE_PER_MONTH", 1_000_000, 20_000)
MONTHS = 12
INTAKE = size("BENCH_PROVINCE_INTAKE", 300, 60)
QUERIES = size("BENCH_PROVINCE_QUERIES", 200, 30)
DELETE_DAYS = size("BENCH_PROVINCE_DELETE_DAYS", 3, 31)
PARTITION = size("BENCH_PROVINCE_PARTITION", 1, 1)
# The partitioned copies' indexes: "all" (every index of the plain table), or "hot": the primary key and the
# indexes the measured statements use (the incidents' Meta indexes; the log's by incident and by time).
PART_INDEXES = size("BENCH_PROVINCE_PART_INDEXES", "all", "all")
HOT = ("incident_org_state", "incident_reported", "incident_phone", "incident_address", "incident_cell",
       "incident_category", "(subject_id)", "(at)")  # fmt: skip
DB = "cc_bench_province"
CITIES, COUNTIES, STATIONS = 4, 4, 7
BATCH = 200_000
LAT0, LON0 = 29.0, 119.0  # the province's corner; a city spans 0.5°, a county 0.12°, a station 0.03°
COLS = (
    "number, source, call_id, caller_phone, phone_key, caller_name, address, address_key, lat, lon, cell, "
    "category_id, first_category_id, level, narrative, org_id, intake_org_id, desk_id, state, version, "
    "needs_rectification, reported_at, answered_at, intake_done_at, dispatched_at, closed_at"
)


def say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def sql(q: str, params: Any = None) -> list[tuple[Any, ...]]:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(q, params)
        return cur.fetchall() if cur.description else []


def one(q: str, params: Any = None) -> Any:
    return sql(q, params)[0][0]


def stopwatch(q: str, params: Any = None) -> float:
    t = time.perf_counter()
    sql(q, params)
    return round(time.perf_counter() - t, 2)


# --- The province ------------------------------------------------------------------------------------------


def province_orgs() -> tuple[Any, list[Any], list[Any], list[Any]]:
    from command_center.models import Org

    prov = Org.objects.add_root(
        create_kwargs={"name": "基准省", "level": "province", "region_code": "980000", "is_command_center": True,
                       "lat": LAT0 + 1, "lon": LON0 + 1}
    )  # fmt: skip
    cities, counties, stations = [], [], []
    for c in range(CITIES):
        clat, clon = LAT0 + 0.5 * (c // 2), LON0 + 0.5 * (c % 2)
        city = Org.objects.add_child(
            prov, create_kwargs={"name": f"市{c}", "level": "city", "region_code": f"98{c + 1:02d}00",
                                 "is_command_center": True, "lat": clat + 0.25, "lon": clon + 0.25}
        )  # fmt: skip
        cities.append(city)
        for k in range(COUNTIES):
            klat, klon = clat + 0.12 * (k // 2), clon + 0.12 * (k % 2)
            kw = {"name": f"县{c}-{k}", "level": "county", "region_code": f"98{c + 1:02d}{k + 1:02d}",
                  "is_command_center": True, "lat": klat + 0.06, "lon": klon + 0.06}  # fmt: skip
            county = Org.objects.add_child(city, create_kwargs=kw)
            counties.append(county)
            for s in range(STATIONS):
                code = f"98{c + 1:02d}{k + 1:02d}{s + 1:03d}"
                kw = {"name": f"所{c}-{k}-{s}", "level": "station", "region_code": code,
                      "lat": klat + 0.03 * (s // 3) + 0.015, "lon": klon + 0.03 * (s % 3) + 0.015}  # fmt: skip
                stations.append(Org.objects.add_child(county, create_kwargs=kw))
    prov.refresh_from_db()
    for o in (*cities, *counties):
        o.refresh_from_db()
    return prov, cities, counties, stations


# --- Intake through the service ----------------------------------------------------------------------------


def intake_calls(user: Any, cats: list[Any], n: int, tag: str, rnd: random.Random) -> list[float]:
    """`n` calls of the real intake service, one at a time (after 50 to warm up); ms each."""
    from django.db import connection

    from incidents.services import IntakeData, incident_intake

    def call(k: int) -> None:
        incident_intake(
            actor=user,
            data=IntakeData(
                call_id=f"{tag}-{k}",
                source="110",
                caller_phone=f"139{rnd.randrange(10**8):08d}",
                address=f"示范路{rnd.randrange(500)}号",
                category=rnd.choice(cats),
                level=rnd.randint(1, 4),
                lat=LAT0 + rnd.random(),
                lon=LON0 + rnd.random(),
                narrative="报警人称现场有纠纷，请求出警。",
            ),
        )

    for k in range(50):
        call(-k - 1)
    with connection.cursor() as cur:  # a production table has statistics; a fresh one none until autovacuum
        cur.execute("ANALYZE incidents_incident")
        cur.execute("ANALYZE incidents_incidenttransition")
    out = []
    for k in range(n):
        t = time.perf_counter()
        call(k)
        out.append((time.perf_counter() - t) * 1000)
    return out


def ledger_plan_ok(ledger: dict[str, Any]) -> bool:
    """The generic plan walks the cell and address indexes, no table scan, and is no slower than text (median)."""
    return (
        {"incident_cell", "incident_address"} <= set(ledger["generic_plan_indexes"])
        and ledger["generic_plan_seq_scans"] == 0
        and ledger["p50_generic_over_text"] <= 1.0
    )


_SCAN = re.compile(r"(?:Index Scan(?: Backward)? using|Index Only Scan(?: Backward)? using|Bitmap Index Scan on) (\w+)")


def ledger_plan(probes: list[tuple[str, float, float]]) -> dict[str, Any]:
    """The ledger read every intake sends (selectors.ledger_hints), prepared as the WSGI server prepares it:
    the generic plan PostgreSQL may keep after five runs (made without the cells and the window), forced, on
    the full table: which indexes it walks, and p50/p99 of its runs against the statement sent as text
    (planned at each call), for the same calls at (address, lat, lon) of the sample, `now` as at intake."""
    from django.db import connection
    from django.utils import timezone

    from command_center.prepared import _convert
    from incidents.models import Incident
    from incidents.selectors import _LEDGER_SQL, address_key, cell_of, ledger_params

    text, names, _count = _convert(_LEDGER_SQL)
    assert names is not None
    now = timezone.now()
    calls = [
        ledger_params(Incident(address_key=address_key(a), lat=lat, lon=lon, cell=cell_of(lat, lon), reported_at=now))
        for a, lat, lon in probes
    ]
    execute = f"EXECUTE bench_ledger({', '.join(['%s'] * len(names))})"
    rows = {"text": 0, "generic": 0}
    with connection.cursor() as cur:
        cur.execute(f"PREPARE bench_ledger AS {text}")
        cur.execute("SET plan_cache_mode = force_generic_plan")
        cur.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) " + execute, [calls[0][n] for n in names])
        plan = [r[0] for r in cur.fetchall()]
        values = [[c[n] for n in names] for c in calls]
        g: list[float] = []
        t: list[float] = []
        # Each call both ways, one after the other, the order alternating: the second run of a call finds
        # the pages the first read in memory, and each way is second half of the time.
        for k, (call, vals) in enumerate(zip(calls, values, strict=True)):
            for way in ("generic", "text") if k % 2 == 0 else ("text", "generic"):
                start = time.perf_counter()
                if way == "generic":
                    cur.execute(execute, vals)
                else:
                    cur.execute(_LEDGER_SQL, call)
                rows[way] += len(cur.fetchall())
                (g if way == "generic" else t).append((time.perf_counter() - start) * 1000)
        warm = min(30, len(calls) // 4)
        g, t = g[warm:], t[warm:]
        cur.execute("RESET plan_cache_mode")
        cur.execute("DEALLOCATE bench_ledger")
    assert rows["generic"] == rows["text"], rows  # the same calls, the same rows
    return {
        "generic_plan_indexes": sorted(set(_SCAN.findall("\n".join(plan)))),
        "generic_plan_seq_scans": sum("Seq Scan" in line for line in plan),
        "generic_plan": plan,
        "prepared_generic_ms": summary(g),
        "text_ms": summary(t),
        "rows_read": rows["text"],
        "p50_generic_over_text": ratio(summary(g)["p50"], summary(t)["p50"]),
        "p99_generic_over_text": ratio(summary(g)["p99"], summary(t)["p99"]),
    }


# --- The load ----------------------------------------------------------------------------------------------


def hint_profile(user: Any, probes: list[dict[str, Any]], warm: int = 30) -> dict[str, Any]:
    """`repeat_hints` for each probe (the first `warm` unmeasured): p50/p99 of the call and of its time in
    the database (an execute_wrapper round each statement), and the slowest call again under EXPLAIN
    (ANALYZE, BUFFERS): each statement's time, rows, and pages found in shared buffers or read (the second
    time round, so "read" counts what was still not cached; the pages touched are hit + read)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from incidents.selectors import repeat_hints

    in_db = [0.0]

    def clock(execute: Any, q: str, params: Any, many: bool, context: Any) -> Any:
        t = time.perf_counter()
        try:
            return execute(q, params, many, context)
        finally:
            in_db[0] += (time.perf_counter() - t) * 1000

    for kw in probes[:warm]:
        repeat_hints(user, **kw)
    calls, db = [], []
    with connection.execute_wrapper(clock):
        for kw in probes[warm:]:
            in_db[0] = 0.0
            t = time.perf_counter()
            repeat_hints(user, **kw)
            calls.append((time.perf_counter() - t) * 1000)
            db.append(in_db[0])
    worst = max(range(len(calls)), key=calls.__getitem__)
    with CaptureQueriesContext(connection) as captured:
        repeat_hints(user, **probes[warm + worst])
    statements = []
    for q in captured.captured_queries:
        [(plan,)] = sql("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + q["sql"])
        top = (json.loads(plan) if isinstance(plan, str) else plan)[0]
        node, where = top["Plan"], q["sql"][q["sql"].find(" WHERE ") + 1 :]
        statements.append({
            "where": where[:200], "ms": round(top["Execution Time"], 3), "rows": node["Actual Rows"],
            "shared_hit": node.get("Shared Hit Blocks"), "shared_read": node.get("Shared Read Blocks"),
        })  # fmt: skip
    return {**summary(calls), "db": summary(db), "slowest": {"ms": round(calls[worst], 3), "db_ms": round(db[worst], 3),
                                                                "statements": statements}}  # fmt: skip


def secondary_indexes(table: str) -> list[tuple[str, str]]:
    """(name, CREATE INDEX …) of the table's indexes that back no constraint."""
    return sql(
        """
        SELECT i.indexname, i.indexdef FROM pg_indexes i
        WHERE i.schemaname = 'public' AND i.tablename = %s
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
        ORDER BY i.indexname
        """,
        [table],
    )


def load(
    prov: Any, stations: list[Any], cats: list[str], user_id: int, ct: int, first: datetime, month: tuple[date, date]
) -> dict[str, Any]:
    from django.db import connection

    from command_center.models import Org
    from incidents.selectors import address_key, cell_of, phone_key

    rnd = random.Random(16)
    n = PER_MONTH * MONTHS
    span = (datetime.now(UTC) - first).total_seconds() - 3600  # up to an hour ago
    numbers = [f"1{rnd.randrange(30, 99)}{rnd.randrange(10**8):08d}" for _ in range(max(1000, n // 6))]
    phones = [(p, phone_key(p)) for p in numbers]
    texts = [
        f"省{rnd.randrange(4)}市{rnd.choice('东西南北中')}区{rnd.randrange(800)}路{rnd.randrange(1, 300)}号"
        for _ in range(max(1000, n // 24))
    ]
    addresses = [(a, address_key(a)) for a in texts]
    # Positions: around each station (a 0.03° square), 2,000 of them per station.
    spots: list[tuple[int, str, str, int | None]] = []
    for s in stations:
        for _ in range(2000):
            y, x = float(s.lat) - 0.015 + rnd.random() * 0.03, float(s.lon) - 0.015 + rnd.random() * 0.03
            spots.append((s.pk, f"{y:.6f}", f"{x:.6f}", cell_of(y, x)))
    city_of = {s.pk: Org.objects.get(path=s.path[: 2 * Org.steplen]).pk for s in stations}
    out: dict[str, Any] = {}
    indexes = secondary_indexes("incidents_incident")
    t0 = time.perf_counter()
    with connection.cursor() as cur:
        for name, _ in indexes:
            cur.execute(f'DROP INDEX "{name}"')
        cur.execute("SET session_replication_role = replica")  # triggers and FK checks off for the load
        base = first.timestamp()
        for start in range(0, n, BATCH):
            buf = io.StringIO()
            w = buf.write
            for g in range(start, min(n, start + BATCH)):
                phone, pkey = phones[rnd.randrange(len(phones))]
                addr, akey = addresses[rnd.randrange(len(addresses))]
                st, lat, lon, cell = spots[rnd.randrange(len(spots))]
                cat = cats[g * 31 % len(cats)]
                at_s = base + g * span / n
                at = datetime.fromtimestamp(at_s, UTC).isoformat()
                state = "invalid" if g % 50 == 0 else "handling" if g % 5 == 0 else "closed"
                disp = datetime.fromtimestamp(at_s + 10 + g * 7919 % 390, UTC).isoformat() if g % 10 else "\\N"
                closed = datetime.fromtimestamp(at_s + 10800, UTC).isoformat() if state == "closed" else "\\N"
                city = city_of[st]
                w(f"P{g:09d}\t110\tP{g}\t{phone}\t{pkey}\t匿名\t{addr}\t{akey}\t{lat}\t{lon}\t{cell}\t{cat}\t"
                  f"{cat}\t{1 + g % 4}\t\t{st}\t{city}\t{city}\t{state}\t1\tf\t{at}\t{at}\t{at}\t{disp}\t"
                  f"{closed}\n")  # fmt: skip
            buf.seek(0)
            cur.copy_expert(f"COPY incidents_incident ({COLS}) FROM STDIN", buf)
            say(f"copied {min(n, start + BATCH):,} incidents")
        out["copy_s"] = round(time.perf_counter() - t0, 1)
        t1 = time.perf_counter()
        cur.execute("SET maintenance_work_mem = '1GB'")
        for _name, ddl in indexes:
            cur.execute(ddl)
        out["index_build_s"] = round(time.perf_counter() - t1, 1)
        say(f"incident indexes built again in {out['index_build_s']} s")
        # Two log rows each: the intake, and its end (closed or invalid) or its dispatch.
        t1 = time.perf_counter()
        log_indexes = secondary_indexes("incidents_incidenttransition")
        for name, _ in log_indexes:
            cur.execute(f'DROP INDEX "{name}"')
        cur.execute(
            """
            INSERT INTO incidents_incidenttransition (subject_id, from_state, to_state, event, actor_id, at, reason)
            SELECT i.id, '', 'received', 'intake', NULL::int, i.reported_at, '' FROM incidents_incident i
            WHERE i.number LIKE 'P%'
            UNION ALL
            SELECT i.id, 'received', i.state, CASE i.state WHEN 'closed' THEN 'close' WHEN 'invalid' THEN 'invalidate'
                ELSE 'dispatch' END, NULL::int, coalesce(i.closed_at, i.dispatched_at, i.reported_at), ''
            FROM incidents_incident i WHERE i.number LIKE 'P%'
            """
        )
        for _name, ddl in log_indexes:
            cur.execute(ddl)
        out["transitions_s"] = round(time.perf_counter() - t1, 1)
        say(f"transition log loaded in {out['transitions_s']} s")
        # The measured month's orders, feedback clocks and callbacks (_common.insert_life_rows, as bench/kpis.py).
        t1 = time.perf_counter()
        mon: dict[str, Any] = {"lo": month[0], "hi": month[1] + timedelta(days=1)}
        in_month = "i.reported_at >= %(lo)s::date::timestamptz AND i.reported_at < %(hi)s::date::timestamptz"
        cur.execute("SET TIME ZONE 'Asia/Shanghai'")
        insert_life_rows(cur, user_id=user_id, ct=ct, where=in_month, params=mon)
        cur.execute("SET TIME ZONE 'UTC'")
        cur.execute("SET session_replication_role = DEFAULT")
        out["month_rows_s"] = round(time.perf_counter() - t1, 1)
    t1 = time.perf_counter()
    with connection.cursor() as cur:  # autocommit: VACUUM cannot run in a transaction block
        for t in ("incidents_incident", "incidents_incidenttransition", "dispatch_dispatchorder",
                  "command_center_deadline", "incidents_callback"):  # fmt: skip
            cur.execute(f"VACUUM ANALYZE {t}")
        out["vacuum_analyze_s"] = round(time.perf_counter() - t1, 1)
        cur.execute("CHECKPOINT")
    out["load_s"] = round(time.perf_counter() - t0, 1)
    say(f"loaded in {out['load_s']} s")
    return out


# --- Sizes -------------------------------------------------------------------------------------------------


def sizes(rows: int) -> dict[str, Any]:
    def rel(name: str) -> dict[str, Any]:
        heap, idx, total = sql(
            "SELECT pg_relation_size(%s), pg_indexes_size(%s), pg_total_relation_size(%s)", [name, name, name]
        )[0]
        return {"heap_mb": round(heap / 2**20, 1), "indexes_mb": round(idx / 2**20, 1),
                "total_mb": round(total / 2**20, 1)}  # fmt: skip

    inc, log = rel("incidents_incident"), rel("incidents_incidenttransition")
    db = one("SELECT pg_database_size(current_database())")
    return {
        "incidents": inc,
        "transitions": {**log, "rows": one("SELECT count(*) FROM incidents_incidenttransition")},
        "bytes_per_incident": round(inc["total_mb"] * 2**20 / rows),
        "bytes_per_incident_with_log": round((inc["total_mb"] + log["total_mb"]) * 2**20 / rows),
        "database_gb": round(db / 2**30, 2),
        "database_bytes_per_incident": round(db / rows),
        "disk_free_gb": round(shutil.disk_usage("/").free / 2**30, 1),
    }


# --- Partitioning: a month-partitioned copy against the plain tables ----------------------------------------


def months_between(lo: date, hi: date) -> list[date]:
    out, d = [], lo.replace(day=1)
    while d <= hi:
        out.append(d)
        d = (d.replace(day=28) + timedelta(days=4)).replace(day=1)
    return out


def partitioned_copy(table: str, copy: str, key: str, months: list[date]) -> dict[str, Any]:
    """`copy`: `table`'s columns, PARTITION BY RANGE (`key`), one partition a month (UTC bounds), the same
    indexes (the primary key and the unique ones with `key` added: PostgreSQL requires the partition key in
    them, so they no longer say what they said), filled by INSERT … SELECT. Timed."""
    t0 = time.perf_counter()
    sql(f"DROP TABLE IF EXISTS {copy}")
    sql(f"CREATE TABLE {copy} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS) PARTITION BY RANGE ({key})")
    for m in months:
        nxt = (m.replace(day=28) + timedelta(days=4)).replace(day=1)
        sql(f"CREATE TABLE {copy}_{m:%Y%m} PARTITION OF {copy} FOR VALUES FROM ('{m}+00') TO ('{nxt}+00')")
    sql(f"INSERT INTO {copy} SELECT * FROM {table}")  # noqa: S608
    fill = time.perf_counter() - t0
    t1 = time.perf_counter()
    sql("SET maintenance_work_mem = '1GB'")
    sql(f"ALTER TABLE {copy} ADD PRIMARY KEY (id, {key})")
    defs = sql("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = %s", [table])
    built = [f"{table}_pkey"]
    for name, ddl in defs:
        hot = name in HOT or any(ddl.endswith(f" {h}") for h in HOT)
        if name.endswith("_pkey") or (PART_INDEXES == "hot" and not hot):
            continue
        ddl = ddl.replace(f" ON public.{table} ", f" ON {copy} ").replace(f"INDEX {name} ", f"INDEX p_{name} ")
        if ddl.startswith("CREATE UNIQUE"):
            ddl = ddl[:-1] + f", {key})" if "WHERE" not in ddl else ddl.replace(") WHERE", f", {key}) WHERE")
        sql(ddl)
        built.append(name)
    build = time.perf_counter() - t1
    t1 = time.perf_counter()
    sql(f"VACUUM ANALYZE {copy}")
    vacuum = time.perf_counter() - t1
    plain = one("SELECT sum(pg_relation_size(n::regclass)) FROM unnest(%s::text[]) AS n", [built])
    return {"fill_s": round(fill, 1), "index_build_s": round(build, 1), "vacuum_analyze_s": round(vacuum, 1),
            "partitions": len(months), "indexes": PART_INDEXES, "indexes_built": len(built),
            "same_indexes_on_plain_mb": round(float(plain) / 2**20, 1)}  # fmt: skip


def part_size(copy: str) -> dict[str, float]:
    heap, idx, total = sql(
        "SELECT sum(pg_relation_size(relid)), sum(pg_indexes_size(relid)), sum(pg_total_relation_size(relid)) "
        "FROM pg_partition_tree(%s) WHERE isleaf",
        [copy],
    )[0]
    heap, idx, total = int(heap), int(idx), int(total)  # sum() of bigint is numeric
    return {"heap_mb": round(heap / 2**20, 1), "indexes_mb": round(idx / 2**20, 1), "total_mb": round(total / 2**20, 1)}


def partitioning(user: Any, probes: dict[str, list[dict[str, Any]]], month: tuple[date, date]) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from incidents.selectors import repeat_hints

    lo, hi = sql("SELECT min(reported_at)::date, max(reported_at)::date FROM incidents_incident")[0]
    months = months_between(lo, hi)
    out: dict[str, Any] = {}
    say("partitioning: building the month-partitioned copies")
    out["build"] = {
        "incidents": partitioned_copy("incidents_incident", "pinc", "reported_at", months),
        "transitions": partitioned_copy("incidents_incidenttransition", "plog", "at", months),
    }
    out["size"] = {
        "incidents": {"plain": sizes_of("incidents_incident"), "partitioned": part_size("pinc")},
        "transitions": {"plain": sizes_of("incidents_incidenttransition"), "partitioned": part_size("plog")},
    }
    rnd = random.Random(3)
    ids = [r[0] for r in sql("SELECT id FROM incidents_incident TABLESAMPLE SYSTEM (1) LIMIT 5000")]

    def both(q: str, args: Any, n: int = QUERIES, warm: int = 10) -> dict[str, Any]:
        """The same statement on the plain table and on the partitioned copy, alternating calls."""
        a: list[float] = []
        b: list[float] = []
        for k in range(n + warm):
            p = args() if callable(args) else args
            for table, acc in ((q, a), (part_sql(q), b)):
                t = time.perf_counter()
                sql(table, p)
                if k >= warm:
                    acc.append((time.perf_counter() - t) * 1000)
        sa, sb = summary(a), summary(b)
        return {"plain": sa, "partitioned": sb, "p99_ratio": ratio(sb["p99"], sa["p99"])}

    ml, mh = month[0].isoformat() + " 00:00+08", (month[1] + timedelta(days=1)).isoformat() + " 00:00+08"
    q: dict[str, Any] = {}
    q["incident_by_id"] = both("SELECT * FROM incidents_incident WHERE id = %s", lambda: [rnd.choice(ids)])
    q["log_of_one_incident"] = both(
        "SELECT * FROM incidents_incidenttransition WHERE subject_id = %s ORDER BY at, id", lambda: [rnd.choice(ids)]
    )
    q["month_count"] = both(
        "SELECT count(*) FROM incidents_incident WHERE reported_at >= %s AND reported_at < %s", [ml, mh], 10, 2
    )
    q["month_by_org"] = both(
        "SELECT org_id, state, count(*) FROM incidents_incident WHERE reported_at >= %s AND reported_at < %s "
        "GROUP BY 1, 2",
        [ml, mh],
        10,
        2,
    )
    # The hints: the SQL repeat_hints sends for each probe, replayed as it was on either table.
    for kind, calls in probes.items():
        stmts = []
        for kw in calls:
            with CaptureQueriesContext(connection) as ctx:
                repeat_hints(user, **kw)
            stmts.append([x["sql"] for x in ctx.captured_queries if "incidents_incident" in x["sql"]])
        a: list[float] = []
        b: list[float] = []
        for k, batch in enumerate(stmts + stmts[:5]):
            for acc, rewrite in ((a, False), (b, True)):
                t = time.perf_counter()
                with connection.cursor() as cur:
                    for s in batch:
                        cur.execute(part_sql(s) if rewrite else s)
                if k >= 5:
                    acc.append((time.perf_counter() - t) * 1000)
        sa, sb = summary(a), summary(b)
        q[f"hints_{kind}"] = {"plain": sa, "partitioned": sb, "p99_ratio": ratio(sb["p99"], sa["p99"])}
    # One row in: a copy of a row with a new id, number and call id, now.
    sql("CREATE TEMP TABLE tmpl AS SELECT * FROM incidents_incident LIMIT 1")
    seq = [10**9]

    def fresh() -> list[Any]:
        seq[0] += 1
        sql("UPDATE tmpl SET id = %s, number = %s, call_id = %s, reported_at = now(), eido_tracking_id = NULL",
            [seq[0], f"X{seq[0]}", f"X{seq[0]}"])  # fmt: skip
        return []

    q["single_row_insert"] = both("INSERT INTO incidents_incident SELECT * FROM tmpl", fresh, QUERIES, 5)
    out["queries_ms"] = q
    # VACUUM reading every page (what an anti-wraparound VACUUM does): the whole plain table against the
    # month being written (a partitioned table's older months are frozen once and never read again).
    cur_month = months[-1]
    out["vacuum_every_page_s"] = {
        "plain_table": stopwatch("VACUUM (DISABLE_PAGE_SKIPPING) incidents_incident"),
        "partitioned_all": stopwatch("VACUUM (DISABLE_PAGE_SKIPPING) pinc"),
        "partitioned_current_month": stopwatch(f"VACUUM (DISABLE_PAGE_SKIPPING) pinc_{cur_month:%Y%m}"),
    }
    # Retiring the oldest month: DELETE (log rows first: they reference the incidents), in a transaction rolled
    # back, over DELETE_DAYS days of it, scaled to the month; against DETACH + DROP of the month's partitions.
    oldest = months[0]
    nxt = (oldest.replace(day=28) + timedelta(days=4)).replace(day=1)
    span_lo = max(lo, oldest)
    span_hi = min(nxt, span_lo + timedelta(days=DELETE_DAYS))
    in_month = one("SELECT count(*) FROM incidents_incident WHERE reported_at >= %s AND reported_at < %s",
                   [f"{oldest}+00", f"{nxt}+00"])  # fmt: skip
    say(f"partitioning: DELETE of {span_lo}..{span_hi} (rolled back)")
    with connection.cursor() as cur:
        cur.execute("BEGIN")
        cur.execute("SET LOCAL session_replication_role = replica")  # the log's append-only trigger refuses DELETE
        t = time.perf_counter()
        cur.execute(
            "DELETE FROM incidents_incidenttransition WHERE subject_id IN (SELECT id FROM incidents_incident "
            "WHERE reported_at >= %s AND reported_at < %s)",
            [f"{span_lo}+00", f"{span_hi}+00"],
        )
        log_rows = cur.rowcount
        cur.execute("SET LOCAL session_replication_role = DEFAULT")  # the FK checks of the incidents' DELETE on
        cur.execute(
            "DELETE FROM incidents_incident WHERE reported_at >= %s AND reported_at < %s",
            [f"{span_lo}+00", f"{span_hi}+00"],
        )
        deleted = cur.rowcount
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the deferred FK checks now, inside the timing
        took = time.perf_counter() - t
        cur.execute("ROLLBACK")
    per_row = took / max(deleted, 1)
    t = time.perf_counter()
    sql(f"ALTER TABLE pinc DETACH PARTITION pinc_{oldest:%Y%m}")
    sql(f"ALTER TABLE plog DETACH PARTITION plog_{oldest:%Y%m}")
    detach = time.perf_counter() - t
    t = time.perf_counter()
    sql(f"DROP TABLE pinc_{oldest:%Y%m}, plog_{oldest:%Y%m}")
    drop = time.perf_counter() - t
    out["retire_oldest_month"] = {
        "month": oldest.isoformat(),
        "incidents_in_month": in_month,
        "delete_measured": {"days": (span_hi - span_lo).days, "incidents": deleted, "log_rows": log_rows,
                            "s": round(took, 2)},
        "delete_month_s_estimated": round(per_row * in_month, 1),
        "delete_note": "then a VACUUM of the whole table to reuse the space; DROP gives it back at once",
        "detach_partitions_ms": round(detach * 1000, 1),
        "drop_partitions_ms": round(drop * 1000, 1),
    }  # fmt: skip
    sql("DROP TABLE IF EXISTS pinc, plog")
    return out


def part_sql(q: str) -> str:
    return q.replace("incidents_incidenttransition", "plog").replace("incidents_incident", "pinc")


def sizes_of(name: str) -> dict[str, float]:
    heap, idx, total = sql(
        "SELECT pg_relation_size(%s), pg_indexes_size(%s), pg_total_relation_size(%s)", [name, name, name]
    )[0]
    return {"heap_mb": round(heap / 2**20, 1), "indexes_mb": round(idx / 2**20, 1), "total_mb": round(total / 2**20, 1)}


def drop_database() -> None:
    import psycopg2
    from django.db import connection

    s = connection.settings_dict
    connection.close()
    conn = psycopg2.connect(host=s["HOST"] or None, port=s["PORT"] or None, user=s["USER"],
                            password=s["PASSWORD"] or None, dbname="postgres")  # fmt: skip
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
    conn.close()


def main() -> None:
    setup_django(DB, "ccbench_province")
    from django.contrib.auth.models import Group, User
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection

    from command_center import codes
    from command_center.models import Category, Person
    from incidents.models import Incident
    from supervision import kpis, rollups

    t_start = time.perf_counter()
    codes.load_defaults()
    prov, cities, counties, stations = province_orgs()
    cat_objs = list(Category.objects.filter(level__gte=2))
    cats = [c.code for c in cat_objs]
    user = User.objects.create_user("bench-province", password="bench-pass-123")
    Person.objects.create(user=user, org=prov)
    user.groups.set(Group.objects.filter(name__in=["call_taker", "duty_officer"]))
    ct = ContentType.objects.get_for_model(Incident).pk
    baseline = db_baseline()
    rnd = random.Random(7)
    say("intake on the near-empty table")
    intake_empty = intake_calls(user, cat_objs, INTAKE, "empty", rnd)

    today = datetime.now(UTC).date()
    first_day = today - timedelta(days=365)  # a year to now: 13 calendar months, the first and last partial
    first = datetime(first_day.year, first_day.month, first_day.day, tzinfo=UTC)
    last_month_end = today.replace(day=1) - timedelta(days=1)
    month = kpis.period_days("month", last_month_end)  # the last full month
    loaded = load(prov, stations, cats, user.pk, ct, first, month)
    t0 = time.perf_counter()
    rows = rollups.rebuild()
    rebuild_s = round(time.perf_counter() - t0, 1)
    sql("VACUUM ANALYZE supervision_kpiday")
    say(f"rollup rebuilt in {rebuild_s} s ({rows} rows)")
    n = PER_MONTH * MONTHS

    say("intake on the full table")
    intake_full = intake_calls(user, cat_objs, INTAKE, "full", rnd)

    # Hints, as bench/hints.py: the pools the load drew from.
    prnd = random.Random(16)
    sample = sql(
        "SELECT caller_phone, address, lat, lon FROM incidents_incident WHERE reported_at > now() - interval '7 days' "
        "ORDER BY random() LIMIT 2000"
    )
    by_code = {c.code: c for c in cat_objs}

    def probe(kind: str) -> dict[str, Any]:
        phone, addr, lat, lon = prnd.choice(sample)
        cat = by_code[prnd.choice(cats)]
        return {
            "phone": {"phone": phone},
            "address": {"address": addr},
            "position_and_category": {"lat": float(lat), "lon": float(lon), "category": cat},
            "all_fields": {"phone": phone, "address": addr, "lat": float(lat), "lon": float(lon), "category": cat},
        }[kind]

    hints = {
        kind: hint_profile(user, [probe(kind) for _ in range(QUERIES + 30)])
        for kind in ("phone", "address", "position_and_category", "all_fields")
    }
    say("hints measured")
    ledger = ledger_plan([(a, float(la), float(lo)) for _p, a, la, lo in sample[: QUERIES + 30]])
    say(f"ledger read: generic plan on {ledger['generic_plan_indexes']}")

    first_d, last_d = month
    k_ms: dict[str, Any] = {}
    for label, org, n_q in (("province_month", prov, max(10, QUERIES // 4)), ("city_month", cities[0], QUERIES),
                            ("county_month", counties[0], QUERIES)):  # fmt: skip
        scope = kpis.Scope(org, first_d, last_d)
        k_ms[label] = summary(timed(functools.partial(kpis.rankings, scope), n_q, warm=3))
    krnd = random.Random(5)

    def station_day() -> None:
        d = first_d + timedelta(days=krnd.randrange((last_d - first_d).days + 1))
        kpis.compute(kpis.Scope(krnd.choice(stations), d, d))

    k_ms["station_day"] = summary(timed(station_day, QUERIES))
    say("KPIs measured")
    ids = [r[0] for r in sql("SELECT id FROM incidents_incident TABLESAMPLE SYSTEM (1) LIMIT 2000")]

    def pk_select() -> None:
        sql("SELECT id, number FROM incidents_incident WHERE id = %s", [krnd.choice(ids)])

    pk = summary(timed(pk_select, QUERIES))
    in_month = one(
        "SELECT count(*) FROM incidents_incident WHERE reported_at >= %s AND reported_at < %s",
        [f"{first_d} 00:00+08", f"{last_d + timedelta(days=1)} 00:00+08"],
    )
    size_info = sizes(n)
    probes = {kind: [probe(kind) for _ in range(QUERIES)] for kind in ("phone", "address", "position_and_category")}
    part = partitioning(user, probes, month) if PARTITION else None

    ie, ifull = summary(intake_empty), summary(intake_full)
    pg_p99 = baseline["pgbench_single_row_insert_1_client"].get("latency_ms", {}).get("p99")
    out = {
        "bench": "province",
        "machine": machine(),
        "incidents": n,
        "months": MONTHS,
        "cities": len(cities),
        "counties": len(counties),
        "stations": len(stations),
        "month": first_d.isoformat(),
        "incidents_in_month": in_month,
        "load": {**loaded, "rebuild_s": rebuild_s, "rollup_rows": rows},
        "intake_ms": {"near_empty_table": ie, "full_table": ifull},
        "hints_ms": hints,
        "ledger_plan": ledger,
        "kpis_ms": k_ms,
        "size": size_info,
        "partitioning": part,
        "baseline": {**baseline, "pk_select_ms": pk},
        "ratios": {
            "intake_p99_full_over_empty": ratio(ifull["p99"], ie["p99"]),
            "intake_p99_over_pgbench_1_client_p99": ratio(ifull["p99"], pg_p99, 1),
            "hints_all_fields_p99_over_pk_select_p99": ratio(hints["all_fields"]["p99"], pk["p99"], 1),
            "city_month_p99_over_pk_select_p99": ratio(k_ms["city_month"]["p99"], pk["p99"], 1),
        },
        "target": {
            "intake_p99_ms": 100,
            "hints_p99_ms": 20,
            "city_month_p99_ms": 300,
            "station_day_p99_ms": 50,
            "met": {
                "intake": ifull["p99"] <= 100,
                "hints": all(hints[k]["p99"] <= 20 for k in ("phone", "address", "position_and_category")),
                "city_month": k_ms["city_month"]["p99"] <= 300,
                "station_day": k_ms["station_day"]["p99"] <= 50,
                "ledger_generic_plan": ledger_plan_ok(ledger),
            },
        },
        "wall_s": round(time.perf_counter() - t_start, 1),
    }
    print(json.dumps(out, ensure_ascii=False))
    if os.environ.get("BENCH_KEEP", "").strip() in ("", "0"):
        drop_database()
    else:
        connection.close()


def ledger_only() -> None:
    """`province.py ledger`: only `ledger_plan`, on the database a run kept (BENCH_KEEP=1)."""
    from _common import bench_url

    os.environ.update(DATABASE_URL=bench_url(DB), DJANGO_SETTINGS_MODULE="command_center.settings", LOG_LEVEL="WARNING")
    import django

    django.setup()
    sample = sql(
        "SELECT address, lat, lon FROM incidents_incident WHERE reported_at > now() - interval '7 days' "
        "ORDER BY random() LIMIT %s",
        [QUERIES + 30],
    )
    ledger = ledger_plan([(a, float(la), float(lo)) for a, la, lo in sample])
    rows = one("SELECT reltuples::bigint FROM pg_class WHERE relname = 'incidents_incident'")
    out = {"bench": "province.ledger", "machine": machine(), "incidents": rows, "ledger_plan": ledger}
    print(json.dumps({**out, "met": ledger_plan_ok(ledger)}, ensure_ascii=False))


if __name__ == "__main__":
    ledger_only() if sys.argv[1:] == ["ledger"] else main()
