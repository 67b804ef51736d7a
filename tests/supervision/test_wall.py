"""The big screen gains today's measures for its area (command_center.screens.WALL): supervision adds them
to GET /api/board/stats/, each the one definition in supervision/kpis.py, for the caller's subtree."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from command_center.models import Role
from dispatch import services
from dispatch.models import DispatchOrder
from supervision import kpis
from supervision.selectors import WALL_KPIS
from tests.dispatch.conftest import api_as, dispatch, make_incident, make_unit
from tests.factories import make_person


def test_the_wall_shows_todays_measures_of_the_callers_area(coded):
    car = make_unit(coded.station_a1, ring_minutes=3)
    signed = dispatch(coded, make_incident(coded), unit=car)
    services.order_sign(order_id=signed.pk, actor=coded.station_a1_officer)
    services.order_arrive(order_id=signed.pk, actor=coded.station_a1_officer)
    body = api_as(coded.commander).get("/api/board/stats/").json()
    shown = {k["key"]: k for k in body["kpis"]}
    assert list(shown) == WALL_KPIS
    today = timezone.localdate()
    engine = kpis.compute(kpis.Scope(coded.commander.person.org, today, today), WALL_KPIS)
    for key in WALL_KPIS:
        assert (shown[key]["value"], shown[key]["denominator"]) == (engine[key].value, engine[key].denominator)
    assert shown["arrive_ring3_rate"]["value"] == 1.0 and shown["arrive_ring3_rate"]["denominator"] == 1
    url = shown["sign_30s_rate"]["url"]
    assert url.startswith("/supervision/measures/?") and f"org={coded.commander.person.org.pk}" in url
    assert "period=day" in url and "kpi=sign_30s_rate" in url


def test_a_stations_wall_measures_only_its_station(coded):
    other = dispatch(coded, make_incident(coded), org=coded.station_b1)
    services.order_sign(order_id=other.pk, actor=coded.station_b1_officer)
    station_duty = make_person("a1_duty", coded.station_a1, Role.DUTY_OFFICER)
    shown = {k["key"]: k for k in api_as(station_duty).get("/api/board/stats/").json()["kpis"]}
    assert shown["sign_30s_rate"]["denominator"] == 0 and shown["sign_30s_rate"]["value"] is None
    city = {k["key"]: k for k in api_as(coded.commander).get("/api/board/stats/").json()["kpis"]}
    assert city["sign_30s_rate"]["denominator"] == 1


def wall(user) -> dict:
    return {k["key"]: k for k in api_as(user).get("/api/board/stats/").json()["kpis"]}


def test_an_order_inside_its_30_s_is_not_counted_yet(coded):
    """Undecided rows are neither on time nor late: an order sent 10 s ago and unsigned leaves the signature
    rate alone; 45 s on, it counts as late."""
    car = make_unit(coded.station_a1, ring_minutes=3)
    on_time = dispatch(coded, make_incident(coded), unit=car)
    services.order_sign(order_id=on_time.pk, actor=coded.station_a1_officer)
    fresh = dispatch(coded, make_incident(coded), org=coded.station_a1)
    DispatchOrder.objects.filter(pk=fresh.pk).update(sent_at=timezone.now() - timedelta(seconds=10))
    sign = wall(coded.commander)["sign_30s_rate"]
    assert (sign["numerator"], sign["denominator"], sign["value"]) == (1, 1, 1.0)
    DispatchOrder.objects.filter(pk=fresh.pk).update(sent_at=timezone.now() - timedelta(seconds=45))
    sign = wall(coded.commander)["sign_30s_rate"]
    assert (sign["numerator"], sign["denominator"], sign["value"]) == (1, 2, 0.5)


def test_yesterdays_orders_do_not_count_today(coded):
    o = dispatch(coded, make_incident(coded), unit=make_unit(coded.station_a1, ring_minutes=3))
    DispatchOrder.objects.filter(pk=o.pk).update(sent_at=timezone.now() - timedelta(days=1, hours=1))
    assert wall(coded.commander)["sign_30s_rate"]["denominator"] == 0


def test_arrival_outside_the_ring_is_late_and_inside_it_undecided(coded):
    car = make_unit(coded.station_a1, ring_minutes=1)
    o = dispatch(coded, make_incident(coded), unit=car)
    services.order_sign(order_id=o.pk, actor=coded.station_a1_officer)
    assert wall(coded.commander)["arrive_ring1_rate"]["denominator"] == 0  # on the way, inside its minute
    DispatchOrder.objects.filter(pk=o.pk).update(signed_at=timezone.now() - timedelta(seconds=90))
    ring = wall(coded.commander)["arrive_ring1_rate"]
    assert (ring["numerator"], ring["denominator"]) == (0, 1)
    services.order_arrive(order_id=o.pk, actor=coded.station_a1_officer)
    ring = wall(coded.commander)["arrive_ring1_rate"]
    assert (ring["numerator"], ring["denominator"], ring["value"]) == (0, 1, 0.0)
