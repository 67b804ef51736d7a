"""The measures at a city's scale: a city of 10 counties × 10 stations and 1,000,000 incidents over twelve
months (about 83,000 a month), with their orders, feedback clocks, callbacks, repeat links, diversions and
tasks, loaded set-based (INSERT … SELECT generate_series, the triggers off), then the rollup rebuilt
(`rollups.rebuild`, timed). Measured, each as p50/p99:
- every KPI of a month over the whole city: the city's figures and each county's (the ranking under it), one
  query (`kpis.rankings`);
- the same with one day of every station marked dirty (each figure partly built from the raw rows);
- every KPI of one station's day (`kpis.compute`);
- the flush of one day of every station (beat's job).
Baselines in the same run, on the same database: a primary-key SELECT, and count(*) over the month's
incidents (the raw scan the rollup replaces).
Environment: BENCH_KPIS_INCIDENTS (1,000,000; quick 30,000), BENCH_KPIS_QUERIES (200; quick 30).
Target (issue 13): the city's month p99 ≤ 300 ms; a station's day p99 ≤ 50 ms.
"""

from __future__ import annotations

import json
import random
import sys
import time
from datetime import date

from _common import insert_life_rows, machine, ratio, setup_django, size, summary, timed

INCIDENTS = size("BENCH_KPIS_INCIDENTS", 1_000_000, 30_000)
QUERIES = size("BENCH_KPIS_QUERIES", 200, 30)
FIRST, DAYS = date(2025, 12, 1), 365  # the twelve months loaded
MONTH = date(2026, 6, 1)


def say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def load(city_id: int, station_ids: list[int], cats: list[str], user_id: int, ct: int) -> None:
    """Everything by INSERT … SELECT, with the triggers (and FK checks) off: session_replication_role."""
    from django.db import connection

    n = INCIDENTS
    span = DAYS * 86400
    with connection.cursor() as cur:
        cur.execute("SET session_replication_role = replica")
        cur.execute(
            f"""
            INSERT INTO incidents_incident (number, source, call_id, caller_phone, phone_key, caller_name, address,
                address_key, lat, lon, cell, category_id, first_category_id, level, narrative, org_id,
                intake_org_id, desk_id, state, version, needs_rectification, reported_at, answered_at,
                intake_done_at, dispatched_at, closed_at)
            SELECT 'K' || g, '110', 'K' || g, '', '', '匿名', '示范路', '示范路', 30.2, 120.1, 0,
                c, c, 3, '', s, %(city)s, %(city)s,
                CASE WHEN g %% 50 = 0 THEN 'invalid' WHEN g %% 5 = 0 THEN 'handling' ELSE 'closed' END,
                1, false, at, at, at,
                CASE WHEN g %% 10 <> 0
                    THEN at + make_interval(secs => 10 + (g * 7919 %% 390) + (g %% 1000) / 1000.0) END,
                CASE WHEN g %% 5 <> 0 AND g %% 50 <> 0 THEN at + interval '3 hours' END
            FROM (
                SELECT g, (%(cats)s::varchar[])[1 + (g * 31 %% %(ncat)s)] AS c,
                    (%(stations)s::bigint[])[1 + (g * 17 %% %(nst)s)] AS s,
                    %(first)s::timestamptz + make_interval(secs => (g::float8 * {span} / {n})) AS at
                FROM generate_series(1::bigint, {n}) AS g
            ) AS x
            """,  # noqa: S608  # sizes are ints; values are parameters
            {
                "city": city_id,
                "cats": cats,
                "ncat": len(cats),
                "stations": station_ids,
                "nst": len(station_ids),
                "first": f"{FIRST.isoformat()} 00:00+08",
            },
        )
        say("incidents loaded")
        insert_life_rows(cur, user_id=user_id, ct=ct)
        say("orders, feedback clocks and callbacks loaded")
        cur.execute(
            """
            INSERT INTO incidents_repeatlink (incident_id, master_id, link_type, reason, created_at)
            SELECT i.id, i.id - 1, 'repeat', '', i.reported_at FROM incidents_incident i WHERE i.id % 40 = 7
            """
        )
        cur.execute(
            """
            INSERT INTO incidents_diversion (incident_id, partner_id, state, note, return_reason, result, pushed_by_id,
                pushed_at, accepted_at, version)
            SELECT i.id, %(city)s, CASE WHEN i.id %% 3 = 0 THEN 'returned' ELSE 'accepted' END, '', '', '',
                %(user)s, i.reported_at + interval '2 minutes',
                CASE WHEN i.id %% 3 <> 0 THEN i.reported_at + interval '20 minutes' END, 1
            FROM incidents_incident i WHERE i.id %% 33 = 1
            """,
            {"city": city_id, "user": user_id},
        )
        cur.execute(
            f"""
            INSERT INTO intel_task (org_id, subject, title, colour, actions, state, version, rework_count,
                last_return_reason, issued_at, sign_due_at, report_due_at, signed_at, reported_at)
            SELECT (%(stations)s::bigint[])[1 + g %% %(nst)s], '', '任务', 'yellow', '{{}}', 'approved', 1,
                (g %% 7 = 0)::int, '', at, at + interval '10 minutes', at + interval '1 day',
                at + make_interval(mins => g %% 15), at + make_interval(hours => g %% 30)
            FROM (SELECT g, %(first)s::timestamptz + make_interval(secs => g::float8 * {span} / 20000) AS at
                  FROM generate_series(1, 20000) AS g) AS x
            """,  # noqa: S608
            {"stations": station_ids, "nst": len(station_ids), "first": f"{FIRST.isoformat()} 00:00+08"},
        )
        cur.execute("SET session_replication_role = DEFAULT")
    with connection.cursor() as cur:  # autocommit: VACUUM cannot run in a transaction block
        for t in ("incidents_incident", "dispatch_dispatchorder", "command_center_deadline", "incidents_callback"):
            cur.execute(f"VACUUM ANALYZE {t}")
        cur.execute("CHECKPOINT")


def main() -> None:
    setup_django("cc_bench_kpis", "ccbench")
    from django.contrib.auth.models import User
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection

    from command_center import codes
    from command_center.models import Category, Org
    from incidents.models import Incident
    from supervision import kpis, rollups

    codes.load_defaults()
    city = Org.objects.add_root(
        create_kwargs={"name": "基准市", "level": "city", "region_code": "990000", "is_command_center": True}
    )
    stations = []
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
        for s in range(10):
            kw = {"name": f"所{c}-{s}", "level": "station", "region_code": f"99{c:02d}{s:02d}"}
            stations.append(Org.objects.add_child(county, create_kwargs=kw))
    city.refresh_from_db()
    cats = list(Category.objects.filter(level__gte=2).values_list("code", flat=True))
    user = User.objects.create_user("bench-kpis", password="bench-pass-123")
    ct = ContentType.objects.get_for_model(Incident).pk
    t0 = time.perf_counter()
    load(city.pk, [s.pk for s in stations], cats, user.pk, ct)
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    rows = rollups.rebuild()
    rebuild_s = time.perf_counter() - t0
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE supervision_kpiday")
        cur.execute("SELECT count(*) FROM supervision_kpiday WHERE day BETWEEN %s AND %s", [MONTH, date(2026, 6, 30)])
        month_rows = cur.fetchone()[0]
    say(f"loaded in {load_s:.0f} s, rollup rebuilt in {rebuild_s:.0f} s ({rows} rows)")

    first, last = kpis.period_days("month", MONTH)
    whole = kpis.Scope(city, first, last)
    rnd = random.Random(5)

    def city_month() -> None:
        kpis.rankings(whole)

    def station_day() -> None:
        d = first.replace(day=rnd.randrange(1, 31))
        kpis.compute(kpis.Scope(rnd.choice(stations), d, d))

    clean_city = timed(city_month, QUERIES, warm=5)
    clean_station = timed(station_day, QUERIES)
    # One day of every station marked dirty, as between two flushes on a busy day.
    mark = "INSERT INTO supervision_kpidirty (org_id, day) SELECT unnest(%s::bigint[]), %s::date"
    with connection.cursor() as cur:
        cur.execute(mark, [[s.pk for s in stations], date(2026, 6, 15)])
    dirty_city = timed(city_month, max(20, QUERIES // 4), warm=3)
    flushes = []
    for _ in range(5):
        with connection.cursor() as cur:
            cur.execute(mark, [[s.pk for s in stations], date(2026, 6, 15)])
        t = time.perf_counter()
        rollups.flush()
        flushes.append((time.perf_counter() - t) * 1000)
    ids = list(Incident.objects.values_list("id", flat=True)[:1000])

    def pk_select() -> None:
        with connection.cursor() as cur:
            cur.execute("SELECT id, number FROM incidents_incident WHERE id = %s", [rnd.choice(ids)])
            cur.fetchone()

    def month_count() -> None:
        with connection.cursor() as cur:
            cur.execute(
                "SELECT count(*) FROM incidents_incident WHERE reported_at >= %s AND reported_at < %s",
                [whole.start, whole.end],
            )
            cur.fetchone()

    pk = timed(pk_select, QUERIES)
    count = timed(month_count, max(20, QUERIES // 4), warm=3)
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM incidents_incident WHERE reported_at >= %s AND reported_at < %s",
                    [whole.start, whole.end])  # fmt: skip
        in_month = cur.fetchone()[0]
        cur.execute("SELECT pg_total_relation_size('supervision_kpiday'), pg_total_relation_size('incidents_incident')")
        kpiday_bytes, incident_bytes = cur.fetchone()
    c99, s99 = summary(clean_city)["p99"], summary(clean_station)["p99"]
    out = {
        "bench": "kpis",
        "machine": machine(),
        "incidents": INCIDENTS,
        "stations": len(stations),
        "month": first.isoformat(),
        "incidents_in_month": in_month,
        "rollup_rows_in_month": month_rows,
        "rollup_rows": rows,
        "rollup_mb": round(kpiday_bytes / 2**20, 1),
        "incident_table_mb": round(incident_bytes / 2**20, 1),
        "load_s": round(load_s, 1),
        "rebuild_s": round(rebuild_s, 1),
        "kpis_ms": {
            "city_month_with_counties": summary(clean_city),
            "city_month_100_keys_dirty": summary(dirty_city),
            "station_day": summary(clean_station),
            "flush_100_keys": summary(flushes),
        },
        "baseline": {"pk_select_ms": summary(pk), "month_count_ms": summary(count)},
        "ratios": {
            "city_month_p99_over_month_count_p99": ratio(c99, summary(count)["p99"]),
            "city_month_p99_over_pk_select_p99": ratio(c99, summary(pk)["p99"], 1),
            "station_day_p99_over_pk_select_p99": ratio(s99, summary(pk)["p99"], 1),
        },
        "target": {"city_month_p99_ms": 300, "station_day_p99_ms": 50, "met": c99 <= 300 and s99 <= 50},
    }
    print(json.dumps(out, ensure_ascii=False))
    connection.close()


if __name__ == "__main__":
    main()
