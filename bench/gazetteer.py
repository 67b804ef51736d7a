"""Gazetteer search while typing: 10,000 addresses (and 200 POIs) loaded through the loader's model, then
`places.selectors.search` with what a call-taker types (a street and a number, a street's first characters,
a POI alias, a misspelt street). Baseline in the same run, on the same database: a primary-key SELECT round
trip through Django's connection (and pgbench's single-row INSERT, `db_baseline`).
Environment: BENCH_PLACES_ADDRESSES (10,000; quick 2,000), BENCH_PLACES_QUERIES (300; quick 100).
Target (issue 12): p99 ≤ 20 ms.
"""

from __future__ import annotations

import json
import random
import time

from _common import db_baseline, machine, ratio, setup_django, size, summary, timed

ADDRESSES = size("BENCH_PLACES_ADDRESSES", 10_000, 2_000)
QUERIES = size("BENCH_PLACES_QUERIES", 300, 100)


def main() -> None:
    setup_django("cc_bench_places", "ccbench")
    from django.db import connection

    from places import selectors
    from places.models import Place, Street
    from places.text import normalize, search_key

    rnd = random.Random(12)
    heads = "东西南北中新老大小上下前后文武安平和兴华明光"
    tails = ["路", "街", "大道", "巷", "弄"]
    names = sorted({f"{rnd.choice(heads)}{rnd.choice(heads)}{rnd.choice(tails)}" for _ in range(400)})
    streets = Street.objects.bulk_create(
        Street(name=n, line="LINESTRING (120.0 30.2, 120.3 30.2)", from_number=1, to_number=999) for n in names
    )
    t0 = time.perf_counter()
    places: list[Place] = []
    seen = set()
    while len(places) < ADDRESSES:
        s = rnd.choice(streets)
        n = rnd.randrange(1, 999)
        if (s.pk, n) in seen:
            continue
        seen.add((s.pk, n))
        name = f"{s.name}{n}号"
        p = Place(
            kind="address", name=name, street=s, number=n, lat=30.15 + rnd.random() * 0.25, lon=120 + rnd.random() * 0.3
        )
        p.search = normalize(name)
        places.append(p)
    pois: list[Place] = []
    for k in range(200):
        name = f"示范{rnd.choice(heads)}{rnd.choice(heads)}{rnd.choice(['小学', '医院', '商场', '公园', '大厦'])}{k}"
        p = Place(kind="poi", name=name, aliases=[name[2:]], lat=30.2, lon=120.1)
        p.search = search_key(name, [name[2:]])
        pois.append(p)
    Place.objects.bulk_create(places + pois, batch_size=2000)
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE places_place")
    load_s = time.perf_counter() - t0

    def typed() -> str:
        s = rnd.choice(streets).name
        kind = rnd.random()
        if kind < 0.4:
            return f"{s}{rnd.randrange(1, 999)}号"  # the whole address
        if kind < 0.7:
            return s[: rnd.choice([2, 3])]  # the first characters of a street
        if kind < 0.85:
            return rnd.choice(pois).aliases[0][:4]  # a POI by its short name
        return s[0] + rnd.choice(heads) + s[2:] + str(rnd.randrange(1, 999))  # misspelt

    search = timed(lambda: selectors.search(typed(), limit=8), QUERIES)
    ids = list(Place.objects.values_list("id", flat=True)[:1000])

    def pk_select() -> None:
        with connection.cursor() as cur:
            cur.execute("SELECT id, name FROM places_place WHERE id = %s", [rnd.choice(ids)])
            cur.fetchone()

    base = timed(pk_select, QUERIES)
    baseline = {**db_baseline(), "pk_select_ms": summary(base)}
    out = {
        "bench": "gazetteer",
        "machine": machine(),
        "addresses": ADDRESSES,
        "pois": len(pois),
        "trigram_index": selectors.has_trigrams(),
        "load_s": round(load_s, 1),
        "search_ms": summary(search),
        "baseline": baseline,
        "ratios": {"search_p99_over_pk_select_p99": ratio(summary(search)["p99"], summary(base)["p99"], 1)},
        "target": {"p99_ms": 20, "met": summary(search)["p99"] <= 20},
    }
    print(json.dumps(out, ensure_ascii=False))
    connection.close()


if __name__ == "__main__":
    main()
