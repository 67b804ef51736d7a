"""The big screen gains today's measures for its area (command_center.screens.WALL): supervision adds them
to GET /api/board/stats/, each the one definition in supervision/kpis.py, for the caller's subtree."""

from __future__ import annotations

from django.utils import timezone

from command_center.models import Role
from dispatch import services
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
