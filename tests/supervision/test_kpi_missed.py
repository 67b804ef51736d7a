"""The drill-down to what went wrong: for each rate, the rows that count against it (kpis.MISSED) are the
denominator's rows outside the numerator (higher is better) or the numerator's rows (lower is better);
through the API, `missed=1` lists them with the broken clocks a supervisor may 催办 or 督办 from there."""

from __future__ import annotations

from datetime import date, timedelta

from django.utils import timezone

from command_center import clocks
from dispatch import services
from dispatch.models import DispatchOrder
from supervision import kpis
from tests.dispatch.conftest import api_as, dispatch, make_incident, make_unit
from tests.supervision.test_kpis import month  # noqa: F401  # the generated month, a fixture


def test_the_rows_against_each_rate_complete_its_numerator(coded, month):  # noqa: F811
    first, last = kpis.period_days("month", date(2026, 11, 15))
    scope = kpis.Scope(coded.city, first, last)
    checked = 0
    for k in kpis.KPIS:
        against = kpis.missed(k, scope)
        if k.unit != "rate":
            assert against is None, k.key
            continue
        assert against is not None, k.key
        v = k.compute(scope)
        n = against.count()
        if k.better == "lower":
            assert n == v.numerator, k.key
        elif k.key == "satisfaction_rate":
            assert n == v.denominator - v.numerator, k.key  # one callback per incident
        else:
            assert n == v.denominator - v.numerator, (k.key, n, v)
        checked += 1
    assert checked >= 12


def test_the_late_orders_behind_the_signature_rate_carry_their_broken_clocks(coded):
    car = make_unit(coded.station_a1, ring_minutes=3)
    on_time = dispatch(coded, make_incident(coded), unit=car)
    services.order_sign(order_id=on_time.pk, actor=coded.station_a1_officer)
    late = dispatch(coded, make_incident(coded), org=coded.station_a1)
    DispatchOrder.objects.filter(pk=late.pk).update(sent_at=timezone.now() - timedelta(seconds=45))
    clocks.sweep(now=timezone.now() + timedelta(seconds=61))  # the unsigned order's sign clock breaks
    today = timezone.localdate().isoformat()
    sup = api_as(coded.supervisor)
    body = sup.get(f"/api/kpis/sign_30s_rate/rows/?period=day&date={today}&missed=1").json()
    rows = body["results"] if isinstance(body, dict) else body
    assert [r["id"] for r in rows] == [late.pk]
    [clock] = rows[0]["overdue"]
    assert clock["reminded"] is True and clock["supervised"] is False and clock["label"]  # the sweep reminded
    r = sup.post(f"/api/overdue/{clock['id']}/supervise/", {"note": "30秒签收率偏低，立即签收"}, format="json")
    assert r.status_code == 201, r.content
    again = sup.get(f"/api/kpis/sign_30s_rate/rows/?period=day&date={today}&missed=1").json()
    rows = again["results"] if isinstance(again, dict) else again
    assert rows[0]["overdue"][0]["supervised"] is True
    every = sup.get(f"/api/kpis/sign_30s_rate/rows/?period=day&date={today}").json()
    assert {r["id"] for r in (every["results"] if isinstance(every, dict) else every)} == {on_time.pk, late.pk}
