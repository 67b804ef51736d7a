"""Unit recommendation at scale: 2,000 units over the demo city (about 70 % available; kinds, rings and
capabilities mixed; each on the roster of its nearest station), then recommendations for random incident
positions and categories — through the selector as a city and as a county duty officer, with 10 and 50
results, and through the API (`GET /api/incidents/{id}/recommendations/`). Baselines in the same run, on
the same database: pgbench's single-row INSERT (`db_baseline`) and a primary-key SELECT round trip.
Environment: BENCH_RECOMMEND_UNITS (2,000), BENCH_RECOMMEND_QUERIES (500; quick 100).
Target (issue 4): p99 ≤ 50 ms for 2,000 units.
"""

from __future__ import annotations

import json
import random
import time

from _common import db_baseline, machine, ratio, setup_django, size, summary, timed

UNITS = size("BENCH_RECOMMEND_UNITS", 2000, 2000)
QUERIES = size("BENCH_RECOMMEND_QUERIES", 500, 100)
# The demo city's extent (command_center/demo.py): where incidents and units are.
LAT, LON = (30.15, 30.40), (120.00, 120.30)


def main() -> None:
    setup_django("cc_bench_recommend", "ccbench")
    from django.contrib.auth.models import Group, User
    from django.db import connection
    from django.utils import timezone
    from rest_framework.test import APIClient

    from command_center import codes, demo
    from command_center.models import Category, Org, Person
    from dispatch.models import Unit
    from dispatch.selectors import recommend_units
    from incidents import services as incident_services
    from incidents.selectors import distance_m

    codes.load_defaults()
    city = demo.load_orgs()
    stations = list(Org.objects.filter(level=Org.Level.STATION, kind=Org.Kind.POLICE))
    county = Org.objects.filter(level=Org.Level.COUNTY).order_by("path").first()
    assert county is not None

    def person(username: str, org: Org, *roles: str) -> User:
        user = User.objects.create_user(username, password="bench-pass-123")
        Person.objects.create(user=user, org=org)
        user.groups.set(Group.objects.filter(name__in=roles))
        return user

    city_duty = person("bench-city", city, "call_taker", "duty_officer")
    county_duty = person("bench-county", county, "call_taker", "duty_officer")

    rnd = random.Random(4)
    tops = [c.code[:2] for c in Category.objects.filter(level=1)]
    types = [c.code[:4] for c in Category.objects.filter(level=2)]
    kinds = [k.value for k in Unit.Kind]
    statuses = ["available"] * 14 + ["en_route", "on_scene", "busy", "off_duty", "out_of_service", "busy"]
    now = timezone.now()
    units = []
    t0 = time.perf_counter()
    for n in range(UNITS):
        lat, lon = rnd.uniform(*LAT), rnd.uniform(*LON)
        home = min(stations, key=lambda s: distance_m(lat, lon, s.lat or 0, s.lon or 0))
        roll = rnd.random()
        caps = (
            []
            if roll < 0.5
            else rnd.sample(tops, rnd.randint(1, 3))
            if roll < 0.8
            else rnd.sample(types, rnd.randint(1, 4))
        )
        units.append(
            Unit(
                call_sign=f"B{n:05d}",
                kind=rnd.choice(kinds),
                org=home,
                capabilities=caps,
                ring_minutes=rnd.choice([1, 3, 5]),
                status=rnd.choice(statuses),
                lat=lat,
                lon=lon,
                position_at=now,
            )
        )
    Unit.objects.bulk_create(units, batch_size=1000)
    with connection.cursor() as cur:  # VACUUM cannot run in a transaction block; autocommit is on here
        cur.execute("VACUUM ANALYZE dispatch_unit")
    load_s = time.perf_counter() - t0
    available = Unit.objects.filter(status="available").count()

    cats = list(Category.objects.filter(level__gte=2).values_list("code", flat=True))

    found: list[int] = []

    def query(user: User, limit: int):
        def run() -> None:
            recs = recommend_units(
                user, lat=rnd.uniform(*LAT), lon=rnd.uniform(*LON), category_code=rnd.choice(cats), limit=limit
            )
            found.append(len(recs))

        return run

    city_10 = timed(query(city_duty, 10), QUERIES)
    city_50 = timed(query(city_duty, 50), QUERIES)
    county_10 = timed(query(county_duty, 10), QUERIES)

    # Through the API: incidents at random places, asked for by id.
    incident_ids = []
    for k in range(100):
        data = incident_services.IntakeData(
            call_id=f"BR{k}",
            source="110",
            address=f"示范市 测试路{k}号",
            category=Category.objects.get(code=rnd.choice(cats)),
            lat=rnd.uniform(*LAT),
            lon=rnd.uniform(*LON),
        )
        incident, _ = incident_services.incident_intake(actor=city_duty, data=data)
        incident_ids.append(incident.pk)
    client = APIClient()
    client.force_authenticate(city_duty)

    def api() -> None:
        r = client.get(f"/api/incidents/{rnd.choice(incident_ids)}/recommendations/")
        assert r.status_code == 200, r.content[:200]

    via_api = timed(api, QUERIES)

    ids = list(Unit.objects.values_list("id", flat=True)[:1000])

    def pk_select() -> None:
        with connection.cursor() as cur:
            cur.execute("SELECT id, call_sign FROM dispatch_unit WHERE id = %s", [rnd.choice(ids)])
            cur.fetchone()

    base = timed(pk_select, QUERIES)
    baseline = {**db_baseline(), "pk_select_ms": summary(base)}
    pg_p99 = baseline["pgbench_single_row_insert_1_client"].get("latency_ms", {}).get("p99")
    with connection.cursor() as cur:
        cur.execute(
            "EXPLAIN SELECT id, lat, lon, kind FROM dispatch_unit WHERE status = 'available' "
            "AND lat BETWEEN 30.25 AND 30.30 AND lon BETWEEN 120.10 AND 120.16"
        )
        plan = " / ".join(r[0].strip() for r in cur.fetchall()[:2])
    out = {
        "bench": "recommend",
        "machine": machine(),
        "units": UNITS,
        "available": available,
        "load_s": round(load_s, 1),
        "recommend_ms": {
            "city_limit_10": summary(city_10),
            "city_limit_50": summary(city_50),
            "county_limit_10": summary(county_10),
            "api_limit_10": summary(via_api),
        },
        "results_per_query": {"min": min(found), "max": max(found)},
        "box_query_plan": plan,
        "baseline": baseline,
        "ratios": {
            "city_limit_10_p99_over_pk_select_p99": ratio(summary(city_10)["p99"], summary(base)["p99"], 1),
            "city_limit_10_p99_over_pgbench_1_client_p99": ratio(summary(city_10)["p99"], pg_p99, 1),
            "api_limit_10_p99_over_pgbench_1_client_p99": ratio(summary(via_api)["p99"], pg_p99, 1),
        },
        "target": {
            "p99_ms": 50,
            "met": all(summary(x)["p99"] <= 50 for x in (city_10, city_50, county_10, via_api)),
        },
    }
    print(json.dumps(out, ensure_ascii=False))
    connection.close()


if __name__ == "__main__":
    main()
