"""The roster (勤务): who is on duty now, the commander of the day, the shifts API."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from dispatch import selectors, services
from dispatch.models import Shift

from .conftest import api_as, make_unit


def person(user):
    return user.person


@pytest.fixture
def roster(coded):
    now = timezone.now()
    day = (now - timedelta(hours=2), now + timedelta(hours=22))
    car = make_unit(coded.station_a1, call_sign="东湖巡1")
    add = services.shift_add
    return {
        "city_commander": add(
            actor=coded.commander,
            person=person(coded.commander),
            org=coded.city,
            starts_at=day[0],
            ends_at=day[1],
            is_commander=True,
        ),
        "city_duty": add(
            actor=coded.commander, person=person(coded.duty), org=coded.city, starts_at=day[0], ends_at=day[1]
        ),
        "county_commander": add(
            actor=coded.commander,
            person=person(coded.county_a_duty),
            org=coded.county_a,
            starts_at=day[0],
            ends_at=day[1],
            is_commander=True,
        ),
        "a1_on_car": add(
            actor=coded.commander,
            person=person(coded.station_a1_officer),
            org=coded.station_a1,
            unit=car,
            starts_at=day[0],
            ends_at=day[1],
        ),
        "b1_yesterday": add(
            actor=coded.commander,
            person=person(coded.station_b1_officer),
            org=coded.station_b1,
            starts_at=now - timedelta(days=1, hours=2),
            ends_at=now - timedelta(hours=2),
        ),
    }


def test_who_is_on_duty_now(coded, roster):
    assert list(selectors.on_duty(coded.station_a1)) == [roster["a1_on_car"]]
    assert list(selectors.on_duty(coded.station_b1)) == []
    assert list(selectors.on_duty(coded.station_b1, at=timezone.now() - timedelta(hours=3))) == [roster["b1_yesterday"]]
    assert set(selectors.on_duty(coded.county_a, subtree=True)) == {roster["county_commander"], roster["a1_on_car"]}


def test_the_commander_of_the_day_is_the_command_centers(coded, roster):
    assert selectors.commander_of_day(coded.city) == roster["city_commander"]
    # A station's command center is its county (分局), which has its own commander of the day.
    assert selectors.commander_of_day(coded.station_a1) == roster["county_commander"]
    assert selectors.commander_of_day(coded.station_b1) is None
    # At a handover the one who started last commands.
    later = services.shift_add(
        actor=coded.commander,
        person=person(coded.analyst),
        org=coded.city,
        starts_at=timezone.now() - timedelta(minutes=5),
        ends_at=timezone.now() + timedelta(hours=24),
        is_commander=True,
    )
    assert selectors.commander_of_day(coded.city) == later


def test_a_shift_is_checked(coded):
    now = timezone.now()
    a1, b1 = coded.station_a1, coded.station_b1
    with pytest.raises(ValidationError) as exc:
        services.shift_add(
            actor=coded.commander, person=person(coded.station_a1_officer), org=a1, starts_at=now, ends_at=now
        )
    assert "ends_at" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.shift_add(
            actor=coded.commander,
            person=person(coded.station_a1_officer),
            org=a1,
            starts_at=now,
            ends_at=now + timedelta(hours=8),
            is_commander=True,
        )
    assert "is_commander" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.shift_add(
            actor=coded.commander,
            person=person(coded.station_a1_officer),
            org=a1,
            unit=make_unit(b1),
            starts_at=now,
            ends_at=now + timedelta(hours=8),
        )
    assert "unit" in exc.value.message_dict
    with pytest.raises(PermissionDenied):
        services.shift_add(
            actor=coded.station_a1_officer,
            person=person(coded.station_a1_officer),
            org=a1,
            starts_at=now,
            ends_at=now + timedelta(hours=8),
        )
    assert not Shift.objects.exists()


def test_shifts_api_is_scoped_and_filtered(coded, roster):
    station = api_as(coded.station_a1_officer)
    rows = station.get("/api/shifts/").json()["results"]
    assert [r["id"] for r in rows] == [roster["a1_on_car"].pk]
    assert rows[0]["unit_call_sign"] == "东湖巡1" and rows[0]["person"]["username"] == "station1"
    assert "phone" not in rows[0]["person"]
    duty = api_as(coded.duty)
    assert duty.get("/api/shifts/").json()["count"] == 5
    now = timezone.now().isoformat()
    assert duty.get("/api/shifts/", {"at": now}).json()["count"] == 4
    assert duty.get("/api/shifts/", {"is_commander": "true"}).json()["count"] == 2
    assert duty.get("/api/shifts/", {"org": coded.county_a.pk}).json()["count"] == 2
    assert duty.get("/api/shifts/", {"at": "soon"}).status_code == 400


def test_current_duty_for_the_caller(coded, roster):
    body = api_as(coded.station_a1_officer).get("/api/shifts/current/").json()
    assert body["org"] == {"id": coded.station_a1.pk, "name": "东湖派出所", "level": "station"}
    assert body["command_center"] == {"id": coded.county_a.pk, "name": "东城分局", "level": "county"}
    assert body["commander"]["id"] == roster["county_commander"].pk
    assert [s["id"] for s in body["on_duty"]] == [roster["a1_on_car"].pk]
    city = api_as(coded.duty).get("/api/shifts/current/").json()
    assert city["commander"]["person"]["username"] == "commander"
    assert {s["id"] for s in city["on_duty"]} == {roster["city_commander"].pk, roster["city_duty"].pk}
    sub = api_as(coded.duty).get("/api/shifts/current/", {"org": coded.county_a.pk, "subtree": "true"}).json()
    assert {s["id"] for s in sub["on_duty"]} == {roster["county_commander"].pk, roster["a1_on_car"].pk}
    r = api_as(coded.station_a1_officer).get("/api/shifts/current/", {"org": coded.station_b1.pk})
    assert r.status_code == 400 and "org" in r.json()
