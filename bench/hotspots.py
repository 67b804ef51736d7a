"""Hotspots at a city's scale (intel/hotspots.py): a city of 10 counties × 10 stations over a grid of 60 × 60
cells (each station a block of 6 × 6), 1,000,000 incidents in one month (June 2026) and as many per day over
the 20 weeks before it (the baseline: four earlier months, five weeks a step), loaded set-based (INSERT …
SELECT generate_series, the triggers off), then the rollup rebuilt (`hotspots.rebuild`, timed). Twenty cells
run hot in the month, so the list has rows to rank. Measured, each as p50/p99 (the month closed: no running day):
- the city's month by grid cell, every category (`hotspots_for`, the daily report's call);
- the city's month by jurisdiction; the city's month of one top-level category by cell;
- one station's day by cell; one county's week by cell;
- the same city month with 5,000 changes pending in the delta table (between two flushes), and the flush.
Baselines in the same run, on the same database: a primary-key SELECT, and the same city month counted
straight from the incidents table (the GROUP BY the rollup replaces, by the report-time index).
Environment: BENCH_HOTSPOTS_INCIDENTS (1,000,000 in the month; quick 30,000), BENCH_HOTSPOTS_QUERIES (100;
quick 20).
Target (issue 15): the city's month p99 ≤ 500 ms.
"""

from __future__ import annotations

import json
import random
import sys
import time
from datetime import date, datetime, timedelta

from _common import machine, ratio, setup_django, size, summary, timed

INCIDENTS = size("BENCH_HOTSPOTS_INCIDENTS", 1_000_000, 30_000)
QUERIES = size("BENCH_HOTSPOTS_QUERIES", 100, 20)
MONTH, NEXT = date(2026, 6, 1), date(2026, 7, 1)
WEEKS = 4
GRID = 60  # cells a side
BLOCK = 6  # cells a side of one station's area
LAT0, LON0 = 30.0, 120.0
HOT = 20  # hot cells in the month


def say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def hotspots_step() -> int:
    from intel import hotspots

    return hotspots.step_weeks(hotspots.Window("month", MONTH, NEXT))


def load(city_id: int, station_ids: list[int], cats: list[str]) -> int:
    """The month's INCIDENTS and the baseline weeks' (same density), triggers off; returns the total."""
    from django.db import connection

    days = (NEXT - MONTH).days
    back = WEEKS * hotspots_step() * 7  # the baseline's days before the month
    before = INCIDENTS * back // days
    total = INCIDENTS + before
    span_s = (days + back) * 86400
    with connection.cursor() as cur:
        cur.execute("SET session_replication_role = replica")
        cur.execute(
            f"""
            INSERT INTO incidents_incident (number, source, call_id, caller_phone, phone_key, caller_name, address,
                address_key, lat, lon, cell, category_id, first_category_id, level, narrative, org_id,
                intake_org_id, desk_id, state, version, needs_rectification, reported_at, answered_at,
                intake_done_at)
            SELECT 'H' || g, '110', 'H' || g, '', '', '匿名', '示范路', '示范路',
                {LAT0} + r * 0.005 + 0.0025, {LON0} + c * 0.005 + 0.0025, 0, k, k, 3, '',
                (%(stations)s::bigint[])[1 + (r / {BLOCK}) * {GRID // BLOCK} + c / {BLOCK}],
                %(city)s, %(city)s, CASE WHEN g %% 50 = 0 THEN 'invalid' ELSE 'closed' END, 1, false, at, at, at
            FROM (
                SELECT g, at, (%(cats)s::varchar[])[1 + (g * 31 %% %(ncat)s)] AS k,
                    CASE WHEN hot THEN (g / 40 %% {HOT}) * 3 ELSE (g * 7919 %% {GRID * GRID}) / {GRID} END AS r,
                    CASE WHEN hot THEN (g / 40 %% {HOT}) * 2 ELSE (g * 7919 %% {GRID * GRID}) %% {GRID} END AS c
                FROM (
                    SELECT g, at, at >= %(month)s::timestamptz AND g %% 40 = 0 AS hot
                    FROM (SELECT g, %(first)s::timestamptz + make_interval(secs => g::float8 * {span_s} / {total})
                          AS at FROM generate_series(1::bigint, {total}) AS g) AS t
                ) AS u
            ) AS x
            """,  # noqa: S608  # sizes are ints; values are parameters
            {
                "city": city_id,
                "cats": cats,
                "ncat": len(cats),
                "stations": station_ids,
                "month": f"{MONTH.isoformat()} 00:00+08",
                "first": f"{(MONTH - timedelta(days=back)).isoformat()} 00:00+08",
            },
        )
        cur.execute("SET session_replication_role = DEFAULT")
    with connection.cursor() as cur:  # autocommit: VACUUM cannot run in a transaction block
        cur.execute("VACUUM ANALYZE incidents_incident")
    return total


def main() -> None:
    setup_django("cc_bench_hotspots", "ccbench")
    from django.db import connection
    from django.utils import timezone

    from command_center import codes
    from command_center.models import Category, Org
    from intel import hotspots

    codes.load_defaults()
    hotspots.load_defaults()
    city = Org.objects.add_root(
        create_kwargs={"name": "基准市", "level": "city", "region_code": "990000", "is_command_center": True}
    )
    counties, stations = [], []
    for c in range(10):
        county = Org.objects.add_child(
            city,
            create_kwargs={
                "name": f"县{c}",
                "level": "county",
                "region_code": f"99{c:02d}00",
                "is_command_center": True,
            },
        )
        counties.append(county)
        for s in range(10):
            kw = {"name": f"所{c}-{s}", "level": "station", "region_code": f"99{c:02d}{s:02d}"}
            stations.append(Org.objects.add_child(county, create_kwargs=kw))
    city.refresh_from_db()
    for o in counties:
        o.refresh_from_db()
    cats = list(Category.objects.filter(level__gte=2).values_list("code", flat=True))
    t0 = time.perf_counter()
    total = load(city.pk, [s.pk for s in stations], cats)
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    rows = hotspots.rebuild()
    rebuild_s = time.perf_counter() - t0
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE intel_hotspotcount")
        step = hotspots_step()
        shifts = [timedelta(weeks=k * step) for k in range(WEEKS + 1)]
        ranges = [r for s in shifts for r in hotspots.day_ranges(MONTH - s, NEXT - s)]
        read_rows = 0
        for span, lo, hi in ranges:  # what the city month reads of the rollup: its week and day rows
            cur.execute(
                "SELECT count(*) FROM intel_hotspotcount WHERE category = '*' AND span = %s AND day >= %s AND day < %s",
                [span, lo, hi],
            )
            read_rows += cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM incidents_incident WHERE reported_at >= %s AND reported_at < %s",
                    [hotspots.local_start(MONTH), hotspots.local_start(NEXT)])  # fmt: skip
        in_month = cur.fetchone()[0]
    say(f"{total} incidents loaded in {load_s:.0f} s, rollup rebuilt in {rebuild_s:.0f} s ({rows} rows)")

    now = datetime(2026, 7, 15, 12, 0, tzinfo=hotspots.LOCAL)  # the month is closed
    rnd = random.Random(15)
    top = "01"

    def city_month() -> list[hotspots.HotspotRow]:
        return hotspots.hotspots_for(org=city, start=MONTH, end=NEXT, now=now)

    def city_month_station() -> None:
        hotspots.hotspots_for(org=city, start=MONTH, end=NEXT, area="station", now=now)

    def city_month_category() -> None:
        hotspots.hotspots_for(org=city, start=MONTH, end=NEXT, category_prefix=top, now=now)

    def station_day() -> None:
        d = MONTH + timedelta(days=rnd.randrange(30))
        hotspots.hotspots_for(org=rnd.choice(stations), start=d, end=d + timedelta(days=1), now=now)

    def county_week() -> None:
        w = hotspots.window("week", MONTH + timedelta(days=rnd.randrange(28)))
        hotspots.hotspots_for(org=rnd.choice(counties), start=w.start, end=w.end, now=now)

    flagged = city_month()
    colours = {c: sum(1 for r in flagged if r.colour == c) for c in ("red", "yellow", "blue")}
    example = flagged[0].why if flagged else ""
    month_ms = timed(city_month, QUERIES, warm=5)
    station_month_ms = timed(city_month_station, QUERIES, warm=5)
    category_ms = timed(city_month_category, QUERIES, warm=5)
    station_day_ms = timed(station_day, QUERIES)
    county_week_ms = timed(county_week, QUERIES, warm=5)

    # 5,000 changes pending (as between two flushes on a busy minute): each incident moved to another category.
    def pend() -> None:
        with connection.cursor() as cur:
            cur.execute(
                "UPDATE incidents_incident SET category_id = first_category_id WHERE id IN "
                "(SELECT id FROM incidents_incident WHERE reported_at >= %s ORDER BY id LIMIT 5000)",
                [hotspots.local_start(MONTH + timedelta(days=10))],
            )
            cur.execute(
                "UPDATE incidents_incident SET category_id = %s WHERE id IN "
                "(SELECT id FROM incidents_incident WHERE reported_at >= %s ORDER BY id LIMIT 5000)",
                [cats[0], hotspots.local_start(MONTH + timedelta(days=10))],
            )

    pend()
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM intel_hotspotdelta")
        pending = cur.fetchone()[0]
    dirty_ms = timed(city_month, max(10, QUERIES // 4), warm=2)
    flushes = []
    for _ in range(3):
        pend()
        t = time.perf_counter()
        hotspots.flush()
        flushes.append((time.perf_counter() - t) * 1000)

    ids = list(Org.objects.values_list("id", flat=True)[:50])

    def pk_select() -> None:
        with connection.cursor() as cur:
            cur.execute("SELECT id, name FROM command_center_org WHERE id = %s", [rnd.choice(ids)])
            cur.fetchone()

    # The same numbers from the incidents table: per cell, the month and the four shifted windows.
    windows = ", ".join(
        f"count(*) FILTER (WHERE reported_at >= %(s{k})s AND reported_at < %(e{k})s)" for k in range(WEEKS + 1)
    )
    direct_sql = (
        f"SELECT intel_hotspot_cell(lat, lon), {windows} FROM incidents_incident "  # noqa: S608
        "WHERE reported_at >= %(lo)s AND reported_at < %(hi)s AND state NOT IN ('merged', 'invalid') GROUP BY 1"
    )
    step = hotspots_step()
    params = {"lo": hotspots.local_start(MONTH - timedelta(weeks=WEEKS * step)), "hi": hotspots.local_start(NEXT)}
    for k in range(WEEKS + 1):
        params[f"s{k}"] = hotspots.local_start(MONTH - timedelta(weeks=k * step))
        params[f"e{k}"] = hotspots.local_start(NEXT - timedelta(weeks=k * step))

    def direct() -> None:
        with connection.cursor() as cur:
            cur.execute("SET jit = off")
            cur.execute(direct_sql, params)
            cur.fetchall()

    pk = timed(pk_select, QUERIES)
    direct_ms = timed(direct, max(5, QUERIES // 20), warm=1)
    with connection.cursor() as cur:
        cur.execute("SELECT pg_total_relation_size('intel_hotspotcount'), pg_total_relation_size('incidents_incident')")
        rollup_bytes, incident_bytes = cur.fetchone()
    m99 = summary(month_ms)["p99"]
    out = {
        "bench": "hotspots",
        "machine": machine(),
        "incidents": total,
        "incidents_in_month": in_month,
        "cells": GRID * GRID,
        "stations": len(stations),
        "month": MONTH.isoformat(),
        "baseline_weeks": WEEKS,
        "rollup_rows": rows,
        "rollup_rows_read_city_month": read_rows,
        "rollup_mb": round(rollup_bytes / 2**20, 1),
        "incident_table_mb": round(incident_bytes / 2**20, 1),
        "load_s": round(load_s, 1),
        "rebuild_s": round(rebuild_s, 1),
        "flagged_city_month": colours,
        "example_why": example,
        "hotspots_ms": {
            "city_month_cells": summary(month_ms),
            "city_month_stations": summary(station_month_ms),
            "city_month_one_category": summary(category_ms),
            "station_day": summary(station_day_ms),
            "county_week": summary(county_week_ms),
            f"city_month_{pending}_deltas_pending": summary(dirty_ms),
            "flush_10000_incident_changes": summary(flushes),
        },
        "baseline": {"pk_select_ms": summary(pk), "direct_group_by_ms": summary(direct_ms)},
        "ratios": {
            "city_month_p99_over_direct_group_by_p99": ratio(m99, summary(direct_ms)["p99"], 3),
            "city_month_p99_over_pk_select_p99": ratio(m99, summary(pk)["p99"], 1),
        },
        "target": {"city_month_p99_ms": 500, "met": m99 <= 500},
        "at": timezone.now().isoformat(timespec="seconds"),
    }
    print(json.dumps(out, ensure_ascii=False))
    connection.close()


if __name__ == "__main__":
    main()
