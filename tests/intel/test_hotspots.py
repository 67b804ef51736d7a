"""Hotspots (intel/hotspots.py): the baseline maths and colours, the rollup equal to the incidents' GROUP BY
through inserts, corrections, moves, merges and invalidations (before and after the flush), the running day
cut at the same minute each week, the API's scope and drill-down, and 研判 from a hotspot to a directive."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from command_center.models import Category
from incidents import services as incident_services
from incidents.models import Incident
from intel import cap, hotspots, services
from intel.hotspots import LOCAL, Rule, baseline, cell_of, score
from intel.models import Analysis, Directive, Hotspot, HotspotRule

from .conftest import api_as

_seq = itertools.count(1)

# Two positions in two cells of station A1's area, one in B1's (the intake's org is given, not looked up).
HOT = (30.2741, 120.1551)
NEAR = (30.2741, 120.1651)
WEST = (30.2500, 120.1000)
DAY = date(2026, 11, 18)  # a Wednesday; "now" in these tests is the next day's noon
NOW = datetime(2026, 11, 19, 12, 0, tzinfo=LOCAL)


# --- Pure maths ----------------------------------------------------------------------------------------


def test_baseline_is_the_mean_and_sample_sigma():
    assert baseline([4, 6, 2, 4]) == (4.0, pytest.approx(1.632993, rel=1e-5))
    assert baseline([3]) == (3.0, 0.0)
    assert baseline([]) == (0.0, 0.0)


def test_colours_by_z_with_a_sigma_floor_and_a_minimum():
    rule = Rule(min_count=3, sigma_floor=1.0, z=(4.0, 3.0, 2.0))
    assert score(14, 4.2, 1.8, rule)[0] == "red"  # z = 5.4
    assert score(9, 4.2, 1.8, rule)[0] == "blue"  # z = 2.67
    # A flat baseline (σ 0) is held to the floor: 3 against 0 is z 3, yellow; not infinite.
    colour, z, ratio = score(3, 0.0, 0.0, rule)
    assert (colour, z, ratio) == ("yellow", 3.0, 3.0)
    assert score(2, 0.0, 0.0, rule)[0] is None  # under the minimum count, whatever z
    assert score(5, 4.0, 1.0, rule)[0] is None  # z 1: nothing
    with_ratio = Rule(min_count=3, z=(9.0, 9.0, 9.0), ratio=(3.0, 2.0, None))
    assert score(8, 4.0, 4.0, with_ratio)[0] == "yellow"  # ratio 2, z 1


def test_z_colours_are_exact_at_the_thresholds():
    rule = Rule(min_count=1, sigma_floor=1.0, z=(4.0, 3.0, 2.0))
    assert score(6, 4.2, 1.8, rule)[0] is None  # z = 1.0
    assert score(8, 4.2, 1.8, rule)[0] == "blue"  # z = 2.1
    assert score(10, 4.2, 1.8, rule)[0] == "yellow"  # z = 3.2


def test_cell_ids_give_back_their_bounds(db):
    c = cell_of(*HOT)
    s, w, n, e = hotspots.cell_bounds(c)
    assert s <= HOT[0] < n and w <= HOT[1] < e
    assert n - s == pytest.approx(0.005) and e - w == pytest.approx(0.005)
    assert cell_of(None, None) == hotspots.NO_CELL
    with connection.cursor() as cur:  # the triggers' function agrees with the Python one
        cur.execute("SELECT intel_hotspot_cell(%s, %s), intel_hotspot_cell(%s, %s)", [*HOT, *WEST])
        assert cur.fetchone() == (c, cell_of(*WEST))


def test_windows_are_local_days_weeks_and_months():
    assert hotspots.window("week", date(2026, 11, 19)) == hotspots.Window(
        "week", date(2026, 11, 16), date(2026, 11, 23)
    )
    assert hotspots.window("month", date(2026, 12, 7)) == hotspots.Window("month", date(2026, 12, 1), date(2027, 1, 1))
    assert hotspots.window("day", DAY).end == DAY + timedelta(days=1)


# --- Data helpers --------------------------------------------------------------------------------------


def intake(world, *, at: datetime, pos: tuple[float, float] | None = HOT, category: str = "010100", org=None):
    data = incident_services.IntakeData(
        call_id=f"H{next(_seq):08d}",
        source="110",
        address="东湖路1号",
        category=Category.objects.get(code=category),
        caller_phone="13900000000",
        lat=pos[0] if pos else None,
        lon=pos[1] if pos else None,
        org=org or world.station_a1,
        reported_at=at,
        answered_at=at,
    )
    i, _ = incident_services.incident_intake(actor=world.duty, data=data)
    return Incident.objects.get(pk=i.pk)


def at(d: date, hour: int = 10) -> datetime:
    return datetime(d.year, d.month, d.day, hour, 0, tzinfo=LOCAL)


def rollup(span: int = 1) -> dict[tuple[Any, ...], int]:
    """The rollup as read (counts + pending deltas) of one span (1: days, 7: weeks), without zeros."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT day, cell, org_id, category, sum(n) FROM (SELECT day, cell, org_id, category, n FROM "
            "intel_hotspotcount WHERE span = %s UNION ALL SELECT day, cell, org_id, category, n FROM "
            "intel_hotspotdelta WHERE span = %s) x GROUP BY 1, 2, 3, 4 HAVING sum(n) <> 0",
            [span, span],
        )
        return {tuple(r[:4]): int(r[4]) for r in cur.fetchall()}


def direct(span: int = 1) -> dict[tuple[Any, ...], int]:
    """The same numbers straight from the incidents table (by day, or by week from its Monday)."""
    out: dict[tuple[Any, ...], int] = {}
    for i in Incident.objects.exclude(state__in=["merged", "invalid"]):
        day = timezone.localtime(i.reported_at, LOCAL).date()
        if span == 7:
            day -= timedelta(days=day.weekday())
        for cat in ("*", i.category_id[:2], i.category_id):
            k = (day, cell_of(i.lat, i.lon), i.org_id, cat)
            out[k] = out.get(k, 0) + 1
    return out


def exact() -> bool:
    return rollup(1) == direct(1) and rollup(7) == direct(7)


@pytest.fixture
def rules(coded):
    hotspots.load_defaults()
    return coded


# --- The rollup is exact ---------------------------------------------------------------------------------


def test_rollup_equals_group_by_through_every_change(rules):
    w = rules
    a = intake(w, at=at(DAY))
    b = intake(w, at=at(DAY, 23), pos=NEAR)
    c = intake(w, at=at(DAY), pos=None, org=w.station_b1, category="020100")
    d = intake(w, at=at(DAY - timedelta(days=7)))
    assert exact() and len(direct()) == 12
    hotspots.flush()
    assert exact()
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM intel_hotspotdelta")
        assert cur.fetchone()[0] == 0  # all moved into the counts
    # A correction of category and of position (a move to another cell).
    incident_services.incident_correct(
        incident_id=a.pk, actor=w.duty, reason="重新定性", category=Category.objects.get(code="020100")
    )
    incident_services.incident_correct(incident_id=b.pk, actor=w.duty, reason="位置有误", lat=WEST[0], lon=WEST[1])
    assert exact()
    # A merge and an invalid call drop out; a move to another org and day (queryset.update) is caught too.
    incident_services.incident_merge(incident_id=d.pk, actor=w.duty, into_id=a.pk)
    incident_services.incident_invalidate(incident_id=c.pk, actor=w.duty, reason="误拨")
    Incident.objects.filter(pk=b.pk).update(org=w.station_a2, reported_at=at(DAY + timedelta(days=1), 1))
    assert exact()
    hotspots.flush()
    assert exact()
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM intel_hotspotcount WHERE n = 0")
        assert cur.fetchone()[0] == 0  # keys that fell to nothing are gone
    # The rebuild gives the same rows.
    before = rollup(1), rollup(7)
    assert hotspots.rebuild() > 0
    assert (rollup(1), rollup(7)) == before and exact()


# --- Hotspots ---------------------------------------------------------------------------------------------


def seed(w, *, now_count: int = 8, weeks: tuple[int, ...] = (1, 2, 1, 0), day: date = DAY) -> None:
    """`now_count` incidents in HOT's cell on `day`, and the previous weeks' counts on the same weekday."""
    for _ in range(now_count):
        intake(w, at=at(day))
    for k, n in enumerate(weeks, start=1):
        for _ in range(n):
            intake(w, at=at(day - timedelta(weeks=k)))
    intake(w, at=at(day), pos=NEAR)  # one in the next cell: counted, not a hotspot


def test_a_cell_is_red_with_its_numbers_and_why(rules):
    seed(rules)
    rows = hotspots.hotspots_for(org=rules.city, start=DAY, end=DAY + timedelta(days=1), now=NOW)
    assert len(rows) == 1
    r = rows[0]
    assert (r.area, r.key, r.count, r.weeks, r.colour) == ("cell", cell_of(*HOT), 8, [1, 2, 1, 0], "red")
    assert r.mean == 1.0 and r.sd == pytest.approx(0.8165, rel=1e-3)
    assert r.z == pytest.approx(7.0)  # σ under the floor: (8 − 1) / 1
    assert r.org_id == rules.station_a1.pk and r.org_name == "东湖派出所"
    assert r.bounds is not None and r.bounds[0] <= HOT[0] < r.bounds[2]
    assert r.why == "警情 昨日 8 起，基线 1.0 ± 0.8"  # NOW is the next day
    cat = hotspots.hotspots_for(org=rules.city, start=DAY, end=DAY + timedelta(days=1), category_prefix="010100",
                                now=NOW)  # fmt: skip
    assert [x.why for x in cat] == ["盗窃 昨日 8 起，基线 1.0 ± 0.8"]
    # By jurisdiction: the station's 9 against its weeks.
    st = hotspots.hotspots_for(org=rules.city, start=DAY, end=DAY + timedelta(days=1), area="station", now=NOW)
    assert [(x.org_id, x.count) for x in st] == [(rules.station_a1.pk, 9)]
    # Another category prefix has nothing; the thresholds are data.
    assert hotspots.hotspots_for(org=rules.city, start=DAY, end=DAY + timedelta(days=1), category_prefix="02",
                                 now=NOW) == []  # fmt: skip
    HotspotRule.objects.filter(category_prefix="").update(min_count=20)
    assert hotspots.hotspots_for(org=rules.city, start=DAY, end=DAY + timedelta(days=1), now=NOW) == []


def test_a_running_day_is_held_against_the_same_hours(rules):
    w = rules
    now = at(DAY, 12)
    for _ in range(4):
        intake(w, at=at(DAY, 9))
    for k in range(1, 5):  # every previous same weekday: 1 before noon, 5 after
        intake(w, at=at(DAY - timedelta(weeks=k), 9))
        for _ in range(5):
            intake(w, at=at(DAY - timedelta(weeks=k), 15))
    r = hotspots.hotspots_for(org=w.city, start=DAY, end=DAY + timedelta(days=1), now=now)
    assert [(x.count, x.weeks) for x in r] == [(4, [1, 1, 1, 1])]  # not [6, 6, 6, 6]: same hour only
    # After the day: the whole days.
    whole = hotspots.hotspot_map(org=w.city, start=DAY, end=DAY + timedelta(days=1), flagged_only=False, now=NOW)
    assert [(x.count, x.weeks) for x in whole.rows] == [(4, [6, 6, 6, 6])]


def test_scope_is_the_org_subtree(rules):
    seed(rules)
    for _ in range(6):
        intake(rules, at=at(DAY), pos=WEST, org=rules.station_b1)
    by_b = hotspots.hotspots_for(org=rules.county_b, start=DAY, end=DAY + timedelta(days=1), now=NOW)
    assert [r.key for r in by_b] == [cell_of(*WEST)]
    by_city = hotspots.hotspots_for(org=rules.city, start=DAY, end=DAY + timedelta(days=1), now=NOW)
    assert {r.key for r in by_city} == {cell_of(*WEST), cell_of(*HOT)}


# --- API ----------------------------------------------------------------------------------------------


def params(**over: Any) -> dict[str, Any]:
    return {"period": "day", "at": DAY.isoformat(), "area": "cell", **over}


def test_api_lists_drills_down_and_refuses_outside_the_area(rules):
    seed(rules)
    api = api_as(rules.analyst)
    r = api.get(reverse("hotspot-list"), params())
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["start"] == DAY.isoformat() and [x["colour"] for x in body["rows"]] == ["red"]
    row = body["rows"][0]
    assert row["count"] == 8 and row["centre"] and row["why"].startswith("警情 ")
    assert sorted(h[2] for h in body["heat"]) == [1, 8]
    drill = api.get(reverse("hotspot-incidents"), params(key=row["key"])).json()
    assert drill["count"] == 8
    assert {i["id"] for i in drill["incidents"]} == set(
        Incident.objects.filter(reported_at__gte=at(DAY, 0), lat=HOT[0], lon=HOT[1]).values_list("pk", flat=True)
    )
    assert drill["incidents"][0]["url"] == reverse("incidents:detail", args=[drill["incidents"][0]["id"]])
    # Station B's officer with every role: A's org is refused, their own area has nothing.
    b = api_as(rules.station_b1_officer)
    assert b.get(reverse("hotspot-list"), params()).status_code == 403  # a station officer reads no hotspots
    county_b = api_as(rules.county_a_duty)
    assert county_b.get(reverse("hotspot-list"), params(org=rules.county_b.pk)).status_code == 400
    assert county_b.get(reverse("hotspot-list"), params()).json()["rows"][0]["org_name"] == "东湖派出所"
    bad = api.get(reverse("hotspot-list"), params(period="year"))
    assert bad.status_code == 400 and list(bad.json()) == ["period"]
    assert list(api.get(reverse("hotspot-list"), params(category="x")).json()) == ["category"]


def test_analyse_a_hotspot_then_issue_a_directive(rules):
    seed(rules)
    api = api_as(rules.analyst)
    key = cell_of(*HOT)
    r = api.post(reverse("hotspot-analyse"), {**params(), "key": key}, format="json")
    assert r.status_code == 201, r.content
    a = Analysis.objects.get(pk=r.json()["analysis"])
    h = Hotspot.objects.get()
    assert a.source == h and (h.count, h.colour, h.cell) == (8, "red", key)
    assert a.incidents.count() == 8 and "8 起" in a.title
    assert r.json()["url"] == reverse("intel:workspace") + f"?analysis={a.pk}"
    # The link back: the list names the analysis made from the hotspot.
    row = api.get(reverse("hotspot-list"), params()).json()["rows"][0]
    assert row["hotspot"] == h.pk and [x["id"] for x in row["analyses"]] == [a.pk]
    # A kept red hotspot offers its CAP alert for the public to a commander only (intel/cap.py).
    assert row["cap"] is None
    commander = api_as(rules.commander)
    link = commander.get(reverse("hotspot-list"), params()).json()["rows"][0]["cap"]
    assert link == reverse("cap-hotspot", args=[h.pk])
    assert cap.validate(commander.get(link).content) == []
    assert api.get(reverse("analysis-detail", args=[a.pk])).json()["source"]["kind"] == "intel.hotspot"
    # Not a hotspot: 400 on key. Again: the same kept hotspot, another analysis.
    assert api.post(reverse("hotspot-analyse"), {**params(), "key": cell_of(*NEAR)}, format="json").status_code == 400
    api.post(reverse("hotspot-analyse"), {**params(), "key": key}, format="json")
    assert Hotspot.objects.count() == 1
    # The existing flow: publish, then a directive from it.
    services.analysis_publish(analysis_id=a.pk, actor=rules.analyst)
    d = api.post(
        reverse("directive-list"),
        {
            "title": "治理热点",
            "content": "加强巡防",
            "analysis": a.pk,
            "recipients": [rules.station_a1.pk],
            "colour": "red",
        },
        format="json",
    )
    assert d.status_code == 201, d.content
    assert Directive.objects.get(pk=d.json()["id"]).analysis == a


def test_daily_snapshot_keeps_red_and_yellow(rules):
    seed(rules)
    assert hotspots.snapshot_daily(day=DAY) >= 2  # the cell and the station, for the city and county A
    n = Hotspot.objects.count()
    hotspots.snapshot_daily(day=DAY)
    assert Hotspot.objects.count() == n  # idempotent


def test_a_month_is_held_against_earlier_months_five_weeks_a_step():
    june = hotspots.window("month", date(2026, 6, 10))
    assert hotspots.step_weeks(june) == 5
    assert hotspots.step_weeks(hotspots.window("day", DAY)) == hotspots.step_weeks(hotspots.window("week", DAY)) == 1


def test_a_month_baseline_does_not_overlap_the_month(rules):
    june = hotspots.window("month", date(2026, 6, 10))
    for k in range(5):  # the month, and each baseline window five weeks a step before it: 10, 1, 2, 1, 2
        for _ in range([10, 1, 2, 1, 2][k]):
            intake(rules, at=at(date(2026, 6, 10) - timedelta(weeks=5 * k)))
    rows = hotspots.hotspots_for(org=rules.city, start=june.start, end=june.end, now=NOW)
    assert [(r.count, r.weeks) for r in rows] == [(10, [1, 2, 1, 2])]


def test_a_range_sums_week_rows_inside_and_day_rows_around(rules):
    start, end = date(2026, 10, 7), date(2026, 10, 24)  # Wednesday → the Saturday after next (exclusive)
    days = [start, date(2026, 10, 11), date(2026, 10, 12), date(2026, 10, 18), date(2026, 10, 19), date(2026, 10, 23)]
    for d in [*days, date(2026, 10, 6), date(2026, 10, 24)]:  # the last two lie outside
        intake(rules, at=at(d))
    m = hotspots.hotspot_map(org=rules.city, start=start, end=end, flagged_only=False, now=NOW)
    assert [r.count for r in m.rows] == [len(days)]
    hotspots.flush()
    m = hotspots.hotspot_map(org=rules.city, start=start, end=end, flagged_only=False, now=NOW)
    assert [r.count for r in m.rows] == [len(days)]
    assert sorted(i.reported_at for i in hotspots.hotspot_incidents(
        scope=rules.city, start=start, end=end, area="cell", key=cell_of(*HOT))) == [at(d) for d in days]  # fmt: skip
