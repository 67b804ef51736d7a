"""The measures are exact: each KPI computed by the engine (supervision/kpis.py) equals the same figure
worked out by brute force from the raw rows in Python, on a generated month, for the city, a county, a
station's day and a category prefix; the previous period and last year's are the periods they say."""

from __future__ import annotations

import random
import statistics
from datetime import UTC, date, datetime, timedelta
from math import ceil, floor
from typing import Any

import pytest
from django.utils import timezone

from command_center.models import Deadline
from dispatch.models import DispatchOrder
from incidents.models import Callback, Diversion, Incident, RepeatLink
from incidents.services import CLOCK_FEEDBACK
from supervision import kpis
from tests.dispatch.conftest import dispatch, make_incident, make_unit

pytestmark = pytest.mark.django_db

MONTH = date(2026, 11, 1)


def local(d: date, seconds: int) -> datetime:
    return timezone.make_aware(datetime(d.year, d.month, d.day), timezone.get_default_timezone()) + timedelta(
        seconds=seconds
    )


@pytest.fixture
def month(coded):
    """About 60 incidents over November 2026 (and a few in October and November 2025), in three stations,
    two categories; dispatched after 10–400 s, orders signed after 5–90 s (some never), on scene within or
    outside their ring, feedback clocks met, late or broken, closed ones with callbacks."""
    rnd = random.Random(7)
    stations = [coded.station_a1, coded.station_a2, coded.station_b1]
    days = [MONTH + timedelta(days=d) for d in range(30)] + [date(2026, 10, 30), date(2025, 11, 12)]
    made = []
    for n in range(62):
        station = stations[n % 3]
        category = "020500" if n % 4 else "010100"
        i = make_incident(coded, category=category, org=station, position=None)
        day = days[n % len(days)]
        reported = local(day, rnd.randrange(0, 86000))
        Incident.objects.filter(pk=i.pk).update(reported_at=reported)
        made.append(i)
        if n % 7 == 6:
            continue  # never dispatched
        unit = make_unit(station, ring_minutes=(1, 3, 5)[n % 3])
        o = dispatch(coded, i, unit=unit)
        sent = reported + timedelta(seconds=rnd.randrange(10, 400))
        Incident.objects.filter(pk=i.pk).update(dispatched_at=sent)
        fields: dict[str, Any] = {"sent_at": sent}
        if n % 5 == 4:
            fields["state"] = "cancelled" if n % 2 else "returned"
        else:
            signed = sent + timedelta(seconds=rnd.randrange(5, 90))
            fields.update(
                state="arrived", signed_at=signed, arrived_at=signed + timedelta(seconds=rnd.randrange(30, 420))
            )
        DispatchOrder.objects.filter(pk=o.pk).update(**fields)
        # The feedback clock the first dispatch started: met on time, late, or broken and never met.
        d = Deadline.objects.get(kind=CLOCK_FEEDBACK, subject_id=i.pk)
        due = sent + timedelta(hours=1)
        outcome = n % 3
        Deadline.objects.filter(pk=d.pk).update(
            started_at=sent,
            due_at=due,
            met_at=due - timedelta(minutes=5)
            if outcome == 0
            else (due + timedelta(minutes=5) if outcome == 1 else None),
            breached_at=due if outcome else None,
        )
        if n % 2 == 0:
            closed = reported + timedelta(hours=3)
            Incident.objects.filter(pk=i.pk).update(state="closed", closed_at=closed)
            if n % 6 != 0:
                Callback.objects.create(
                    incident=i, channel="phone", satisfaction=["satisfied", "basically", "dissatisfied"][n % 3],
                    by=coded.duty,
                )  # fmt: skip
    # Two repeats: linked to an earlier incident of the month.
    RepeatLink.objects.create(incident=made[10], master=made[7], link_type="repeat")
    RepeatLink.objects.create(incident=made[20], master=made[7], link_type="urge")
    return made


def secs(later: datetime | None, earlier: datetime | None) -> float:
    assert later is not None and earlier is not None
    return (later - earlier).total_seconds()


def brute(scope: kpis.Scope) -> dict[str, float | None]:
    """Every KPI from the raw rows, in Python, by its formula in README.md."""
    start, end = scope.start, scope.end

    def in_tree(org) -> bool:
        return org.path.startswith(scope.org.path)

    def cat(code: str) -> bool:
        return code.startswith(scope.category)

    def share(ok: int, n: int) -> float | None:
        return None if n == 0 else ok / n

    inc = [
        i for i in Incident.objects.select_related("org")
        if in_tree(i.org) and start <= i.reported_at < end and cat(i.category_id)
        and i.state not in ("merged", "invalid")
    ]  # fmt: skip
    waits = sorted((i.dispatched_at - i.reported_at).total_seconds() for i in inc if i.dispatched_at)
    whole = sorted(floor(w) for w in waits)  # the p90 is of whole seconds, rounded down
    orders = [
        o for o in DispatchOrder.objects.select_related("org", "incident")
        if in_tree(o.org) and start <= o.sent_at < end and cat(o.incident.category_id)
    ]  # fmt: skip
    counted = [o for o in orders if o.signed_at or o.state not in ("cancelled", "returned")]
    signed = [o for o in orders if o.signed_at]
    out: dict[str, float | None] = {
        "dispatch_mean_s": statistics.fmean(waits) if waits else None,
        "dispatch_p90_s": whole[ceil(0.9 * len(whole)) - 1] if whole else None,
        "sign_30s_rate": share(
            sum(1 for o in counted if o.signed_at and (o.signed_at - o.sent_at).total_seconds() <= 30), len(counted)
        ),
        "sign_mean_s": statistics.fmean(secs(o.signed_at, o.sent_at) for o in signed) if signed else None,
    }  # fmt: skip
    for r in (1, 3, 5):
        ring = [o for o in signed if o.ring_minutes == r]
        hits = sum(1 for o in ring if o.arrived_at and secs(o.arrived_at, o.signed_at) <= r * 60)
        out[f"arrive_ring{r}_rate"] = share(hits, len(ring))
    ids = {i.pk for i in inc}
    fb = [d for d in Deadline.objects.filter(kind=CLOCK_FEEDBACK) if d.subject_id in ids and d.cancelled_at is None]
    out["feedback_on_time_rate"] = share(sum(1 for d in fb if d.met_at and d.met_at <= d.due_at), len(fb))
    out["feedback_timeout_rate"] = share(sum(1 for d in fb if d.breached_at), len(fb))
    closed = [
        i for i in Incident.objects.select_related("org")
        if i.closed_at and in_tree(i.org) and start <= i.closed_at < end and cat(i.category_id)
    ]  # fmt: skip
    calls = [c for c in Callback.objects.all() if c.incident_id in {i.pk for i in closed}]
    out["callback_coverage_rate"] = share(len(calls), len(closed))
    out["satisfaction_rate"] = share(sum(1 for c in calls if c.satisfaction in ("satisfied", "basically")), len(calls))
    linked = set(RepeatLink.objects.values_list("incident_id", flat=True))
    clustered = {i.pk for i in inc if i.clusters.exists()}
    out["repeat_rate"] = share(sum(1 for i in inc if i.pk in linked or i.pk in clustered), len(inc))
    div = [
        d
        for d in Diversion.objects.select_related("incident__org")
        if in_tree(d.incident.org) and start <= d.pushed_at < end
    ]
    out["diversion_accepted_rate"] = share(sum(1 for d in div if d.accepted_at), len(div))
    out["diversion_returned_rate"] = share(sum(1 for d in div if d.state == "returned"), len(div))
    return out


@pytest.mark.parametrize(
    ("where", "period", "anchor", "category"),
    [
        ("city", "month", date(2026, 11, 15), ""),
        ("county_a", "month", date(2026, 11, 15), ""),
        ("city", "month", date(2026, 11, 15), "02"),
        ("station_a1", "week", date(2026, 11, 11), ""),
        ("city", "day", date(2026, 11, 3), ""),
    ],
)
def test_every_kpi_equals_its_brute_force_figure(coded, month, where, period, anchor, category):
    first, last = kpis.period_days(period, anchor)
    scope = kpis.Scope(getattr(coded, where), first, last, category)
    engine = kpis.compute(scope)
    expected = brute(scope)
    checked = 0
    for key, want in expected.items():
        got = engine[key].value
        if want is None:
            assert got is None, key
        else:
            assert got == pytest.approx(want, abs=1e-9), key
            checked += 1
    assert checked >= 8 or period == "day"  # the month's figures are not all empty


def test_periods_previous_and_last_year():
    assert kpis.period_days("week", date(2026, 12, 6)) == (date(2026, 11, 30), date(2026, 12, 6))  # Mon–Sun
    assert kpis.period_days("month", date(2026, 2, 14)) == (date(2026, 2, 1), date(2026, 2, 28))
    s = kpis.Scope(None, date(2026, 3, 1), date(2026, 3, 31))  # type: ignore[arg-type]
    p = kpis.previous(s, "month")
    assert (p.first, p.last) == (date(2026, 2, 1), date(2026, 2, 28))
    y = kpis.last_year(s, "month")
    assert (y.first, y.last) == (date(2025, 3, 1), date(2025, 3, 31))
    w = kpis.Scope(None, date(2026, 11, 30), date(2026, 12, 6))  # type: ignore[arg-type]
    assert kpis.last_year(w, "week").first.weekday() == 0
    assert (kpis.previous(w, "week").first, kpis.previous(w, "week").last) == (date(2026, 11, 23), date(2026, 11, 29))
    leap = kpis.Scope(None, date(2028, 2, 29), date(2028, 2, 29))  # type: ignore[arg-type]
    assert kpis.last_year(leap, "day").first == date(2027, 2, 28)
    # A local day is Asia/Shanghai's: it starts at 16:00 UTC the day before.
    utc = s.start.astimezone(UTC)
    assert (utc.day, utc.hour) == (28, 16)


def test_the_rows_behind_a_kpi_are_the_rows_it_counts(coded, month):
    first, last = kpis.period_days("month", date(2026, 11, 15))
    scope = kpis.Scope(coded.city, first, last)
    for k in kpis.KPIS:
        v = k.compute(scope)
        rows = k.rows(scope)
        if k.unit == "rate" and k.key not in ("feedback_on_time_rate", "satisfaction_rate"):
            assert rows.count() in (v.numerator, v.denominator), k.key
        if k.unit == "seconds" and v.denominator:
            assert rows.count() == v.denominator, k.key


def test_the_api_gives_each_figure_with_its_periods_and_drills_down_to_its_rows(coded, month):
    from tests.intel.conftest import api_as

    sup = api_as(coded.supervisor)
    r = sup.get("/api/kpis/", {"period": "month", "date": "2026-11-15"})
    assert r.status_code == 200, r.json()
    body = r.json()
    assert body["scope"]["first"] == "2026-11-01" and body["scope"]["last"] == "2026-11-30"
    assert body["previous"] == {"first": "2026-10-01", "last": "2026-10-31"}
    assert body["last_year"] == {"first": "2025-11-01", "last": "2025-11-30"}
    by = {k["key"]: k for k in body["kpis"]}
    assert set(by) == {k.key for k in kpis.KPIS}
    first, last = kpis.period_days("month", date(2026, 11, 15))
    expected = brute(kpis.Scope(coded.city, first, last))
    assert by["sign_30s_rate"]["value"] == pytest.approx(expected["sign_30s_rate"])
    assert by["sign_30s_rate"]["formula"] and by["sign_30s_rate"]["unit"] == "rate"
    assert by["dispatch_mean_s"]["previous"]["denominator"] >= 1  # October 30th's incidents
    assert by["dispatch_mean_s"]["last_year"]["denominator"] >= 1  # 2025-11-12's
    # Drill down: the orders behind the signature rate, each with its incident's number and page.
    rows = sup.get("/api/kpis/sign_30s_rate/rows/", {"period": "month", "date": "2026-11-15"}).json()
    assert rows["count"] == by["sign_30s_rate"]["denominator"]
    assert rows["results"][0]["type"] == "order" and rows["results"][0]["url"].startswith("/incidents/")
    # A station reads its own area only; another area's org is 404; bad input is 400 per field.
    station = api_as(coded.station_b1_officer)
    mine = station.get("/api/kpis/", {"period": "month", "date": "2026-11-15"}).json()
    assert mine["scope"]["org"] == coded.station_b1.pk
    assert station.get("/api/kpis/", {"org": coded.station_a1.pk}).status_code == 404
    assert sup.get("/api/kpis/", {"period": "custom", "start": "2026-11-02"}).json()["start"]
    assert sup.get("/api/kpis/", {"period": "year"}).status_code == 400
    assert sup.get("/api/kpis/", {"category": "02x"}).status_code == 400
    assert sup.get("/api/kpis/nonsense/rows/").status_code == 404
    assert api_as(coded.partner_agent).get("/api/kpis/").status_code == 403


def test_the_readme_states_every_formula():
    from pathlib import Path

    from django.utils import translation

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    with translation.override("en"):
        for k in kpis.KPIS:
            assert f"| `{k.key}` |" in readme and str(k.formula) in readme, k.key
    with translation.override("zh-hans"):  # and the page reads them in Chinese
        assert "签收" in str(kpis.BY_KEY["sign_30s_rate"].formula)
        assert "3 分钟" in str(kpis.BY_KEY["arrive_ring3_rate"].formula)
