"""The rollup gives every figure exactly: on the generated month (test_kpis.py's), each KPI read through the
rollup (kpis.compute, trend, ranking) equals the same KPI computed from the raw rows (and the brute force),
for a city's month, a station's day, a category prefix and a custom range — with every key flushed, with
none flushed (all marked dirty), and after changes to old rows (a callback on last week's incident, a
category correction by queryset.update(), feedback clocks broken by the sweep's UPDATE), before and after
the flush. The rebuild command writes the same rows the flushes did."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from command_center import clocks
from command_center.models import Deadline
from incidents.models import Callback, Incident
from incidents.services import CLOCK_FEEDBACK
from supervision import kpis, rollups
from supervision.models import KpiDay, KpiDirty
from tests.intel.conftest import issue
from tests.supervision.test_kpis import brute, month  # noqa: F401  # the generated month

pytestmark = pytest.mark.django_db

SCOPES = [
    ("city", date(2026, 11, 1), date(2026, 11, 30), ""),
    ("station_a1", date(2026, 11, 1), date(2026, 11, 1), ""),
    ("city", date(2026, 11, 1), date(2026, 11, 30), "02"),
    ("county_a", date(2026, 10, 25), date(2026, 11, 10), ""),
]


def scopes(coded) -> list[kpis.Scope]:
    today = timezone.localdate()
    out = [kpis.Scope(getattr(coded, where), first, last, cat) for where, first, last, cat in SCOPES]
    return [*out, kpis.Scope(coded.city, today - timedelta(days=1), today)]  # tasks, reminders, 督办


def assert_exact(coded) -> int:
    """Every KPI of every scope: the rollup's figure is the raw one (value, numerator and denominator), and
    the brute force's. Returns how many figures were not empty."""
    seen = 0
    for scope in scopes(coded):
        got, want, by_hand = kpis.compute(scope), kpis.compute_raw(scope), brute(scope)
        for key, w in want.items():
            g = got[key]
            assert g.denominator == w.denominator, (scope, key)
            assert g.numerator == pytest.approx(w.numerator, abs=1e-6), (scope, key)
            if w.value is None:
                assert g.value is None, (scope, key)
            else:
                assert g.value == pytest.approx(w.value, abs=1e-9), (scope, key)
                seen += 1
            if key in by_hand:
                assert g.value == (None if by_hand[key] is None else pytest.approx(by_hand[key], abs=1e-9)), key
    return seen


def assert_trend_and_ranking(coded) -> None:
    scope = kpis.Scope(coded.city, date(2026, 10, 28), date(2026, 11, 30))
    for key in ("dispatch_p90_s", "sign_30s_rate", "callback_coverage_rate", "feedback_timeout_rate"):
        k = kpis.BY_KEY[key]
        assert [v for _d, v in kpis.trend(k, scope)] == [
            k.compute(scope.shifted(d, d)) for d, _v in kpis.trend(k, scope)
        ]
        ranked = kpis.ranking(k, scope)
        assert ranked and all(v == k.compute(kpis.Scope(org, scope.first, scope.last)) for org, v in ranked), key


def test_the_triggers_zone_is_the_projects():
    assert settings.TIME_ZONE == rollups.TZ


def test_figures_are_exact_flushed_or_not_and_after_changes_to_old_rows(coded, month):  # noqa: F811
    issue(coded, coded.station_a1, coded.station_b1)  # tasks issued today
    # (b) nothing flushed: every key is dirty, every figure is built from the raw rows on the fly.
    assert KpiDirty.objects.exists() and not KpiDay.objects.exists()
    assert assert_exact(coded) >= 20
    # (a) everything flushed: figures come from the rollup rows alone.
    assert rollups.flush() > 0
    assert not KpiDirty.objects.exists() and KpiDay.objects.exists()
    assert assert_exact(coded) >= 20
    assert_trend_and_ranking(coded)

    # (c) changes to old rows, each caught by a trigger: a callback on last week's incident...
    closed = Incident.objects.filter(closed_at__isnull=False, callback__isnull=True, reported_at__month=11).first()
    assert closed is not None
    Callback.objects.create(incident=closed, channel="sms", satisfaction="satisfied", by=coded.duty)
    # ...a category correction by queryset.update() (moves its orders and its diversions' facts too)...
    moved = Incident.objects.filter(category_id="020500", reported_at__month=11, orders__isnull=False).first()
    assert moved is not None
    Incident.objects.filter(pk=moved.pk).update(category_id="010100")
    # ...and feedback clocks broken by the sweep: reopened, then due and swept.
    reopen = Deadline.objects.filter(kind=CLOCK_FEEDBACK, met_at__isnull=False)[:3]
    Deadline.objects.filter(pk__in=[d.pk for d in reopen]).update(met_at=None, breached_at=None)
    assert rollups.flush() > 0  # the reopening flushed: only the sweep's own UPDATE is left to catch
    assert clocks.sweep(now=timezone.now()) >= 3
    assert KpiDirty.objects.exists()
    assert assert_exact(coded) >= 20  # not flushed
    rollups.flush()
    assert not KpiDirty.objects.exists()
    assert assert_exact(coded) >= 20  # flushed
    assert_trend_and_ranking(coded)

    # The rebuild command writes the rows the flushes left, and a range rebuild changes nothing either.
    def rows() -> list[tuple]:
        cols = ["org_id", "day", "category", *rollups.COLUMNS, "disp_secs", "disp_counts"]
        return sorted(KpiDay.objects.values_list(*cols), key=repr)

    flushed = rows()
    call_command("rebuild_kpi_rollups", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert rows() == flushed
    call_command("rebuild_kpi_rollups", "--from", "2026-11-01", "--to", "2026-11-30", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert rows() == flushed
    assert assert_exact(coded) >= 20


def test_an_incident_found_invalid_leaves_the_measures_at_once(coded, month):  # noqa: F811
    rollups.flush()
    scope = kpis.Scope(coded.city, date(2026, 11, 1), date(2026, 11, 30))
    before = kpis.compute(scope)["repeat_rate"].denominator
    i = Incident.objects.filter(reported_at__month=11, reported_at__year=2026, state="closed").first()
    assert i is not None
    Incident.objects.filter(pk=i.pk).update(state="invalid")
    assert KpiDirty.objects.filter(org_id=i.org_id).exists()
    assert kpis.compute(scope)["repeat_rate"].denominator == before - 1
    assert_exact(coded)
    rollups.flush()
    assert kpis.compute(scope)["repeat_rate"].denominator == before - 1


def test_a_row_that_was_undecided_is_read_from_the_rows_once_time_decides_it(coded):
    """No write happens when an order's 30 s run out, yet the signature rate must count it late then: the
    rollup row remembers when its first undecided fact settles, and from then on is read from the raw rows
    (and the next flush rebuilds it)."""
    import time

    from dispatch.models import DispatchOrder
    from tests.dispatch.conftest import dispatch, make_incident

    o = dispatch(coded, make_incident(coded), org=coded.station_a1)
    DispatchOrder.objects.filter(pk=o.pk).update(sent_at=timezone.now() - timedelta(seconds=27))
    rollups.flush()
    assert not KpiDirty.objects.exists()
    today = timezone.localdate()
    whole = KpiDay.objects.get(org=coded.station_a1, day=today, category=rollups.WHOLE)
    assert whole.settles_at is not None and whole.sign_n == 0
    scope = kpis.Scope(coded.station_a1, today, today)
    assert kpis.compute(scope, ["sign_30s_rate"])["sign_30s_rate"].denominator == 0  # still inside its 30 s
    time.sleep(max(0.0, (whole.settles_at - timezone.now()).total_seconds()) + 0.5)
    late = kpis.compute(scope, ["sign_30s_rate"])["sign_30s_rate"]
    assert (late.numerator, late.denominator) == (0, 1)  # decided: late, with no write in between
    assert rollups.flush() >= 1  # the stale row is rebuilt …
    whole = KpiDay.objects.get(org=coded.station_a1, day=today, category=rollups.WHOLE)
    assert whole.sign_n == 1 and whole.settles_at is None  # … and settled
    assert kpis.compute(scope, ["sign_30s_rate"])["sign_30s_rate"].denominator == 1
