"""Units through the API: lists in scope with filters, positions (one and many), status set by a person."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from dispatch import services
from dispatch.models import Unit, UnitTransition
from tests.conftest import capture_broadcasts

from .conftest import api_as, dispatch, make_unit


def reload(u):
    return Unit.objects.get(pk=u.pk)


@pytest.fixture
def fleet(coded):
    return {
        "a1_car": make_unit(coded.station_a1, call_sign="东湖巡1", ring_minutes=3),
        "a1_foot": make_unit(coded.station_a1, call_sign="东湖步1", kind="foot_patrol", ring_minutes=1),
        "a2_post": make_unit(coded.station_a2, call_sign="新华站1", kind="post", ring_minutes=1, status="busy"),
        "b1_car": make_unit(coded.station_b1, call_sign="西溪巡1", ring_minutes=5, at=(30.25, 120.10)),
    }


def names(r):
    assert r.status_code == 200, r.json()
    return sorted(u["call_sign"] for u in r.json()["results"])


def test_units_are_listed_in_scope(coded, fleet):
    assert names(api_as(coded.station_a1_officer).get("/api/units/")) == ["东湖巡1", "东湖步1"]
    assert names(api_as(coded.county_a_duty).get("/api/units/")) == ["东湖巡1", "东湖步1", "新华站1"]
    assert len(names(api_as(coded.duty).get("/api/units/"))) == 4
    assert api_as(coded.partner_agent).get("/api/units/").json()["count"] == 0


def test_unit_filters(coded, fleet):
    duty = api_as(coded.duty)
    assert names(duty.get("/api/units/", {"status": "busy"})) == ["新华站1"]
    assert names(duty.get("/api/units/", {"status": ["busy", "available"], "org": coded.county_a.pk})) == [
        "东湖巡1",
        "东湖步1",
        "新华站1",
    ]
    assert names(duty.get("/api/units/", {"kind": "foot_patrol"})) == ["东湖步1"]
    assert names(duty.get("/api/units/", {"ring": 1})) == ["东湖步1", "新华站1"]
    assert names(duty.get("/api/units/", {"org": coded.station_b1.pk})) == ["西溪巡1"]
    assert names(duty.get("/api/units/", {"q": "巡"})) == ["东湖巡1", "西溪巡1"]
    for bad in ({"ring": 2}, {"status": "asleep"}, {"kind": "tank"}):
        assert duty.get("/api/units/", bad).status_code == 400, bad


def test_unit_detail(coded, fleet):
    u = fleet["a1_car"]
    body = api_as(coded.station_a1_officer).get(f"/api/units/{u.pk}/").json()
    assert body["call_sign"] == "东湖巡1" and body["org_name"] == "东湖派出所" and body["version"] == 1
    assert body["allowed"] == ["busy", "off_duty", "out_of_service"]
    assert api_as(coded.station_b1_officer).get(f"/api/units/{u.pk}/").status_code == 404


# --- Positions ------------------------------------------------------------------------------------------


def test_a_position_is_stored_versioned_and_pushed(coded, fleet):
    u = fleet["a1_car"]
    station = api_as(coded.station_a1_officer)
    with capture_broadcasts() as sent:
        r = station.post(f"/api/units/{u.pk}/position/", {"lat": 30.2912, "lon": 120.1623}, format="json")
    assert r.status_code == 200, r.json()
    assert (r.json()["lat"], r.json()["lon"], r.json()["version"]) == (30.2912, 120.1623, 2)
    assert [(m["group"], m["event"]) for m in sent] == [
        (f"org.{o.pk}", "units.positions") for o in (coded.city, coded.county_a, coded.station_a1)
    ]
    assert [p["id"] for p in sent[0]["data"]["units"]] == [u.pk]
    assert sent[0]["data"]["units"][0]["version"] == 2


def test_an_older_fix_is_ignored(coded, fleet):
    u = fleet["a1_car"]
    station = api_as(coded.station_a1_officer)
    now = timezone.now()
    station.post(f"/api/units/{u.pk}/position/", {"lat": 30.1, "lon": 120.1, "at": now.isoformat()}, format="json")
    old = (now - timedelta(seconds=5)).isoformat()
    with capture_broadcasts() as sent:
        r = station.post(f"/api/units/{u.pk}/position/", {"lat": 31.0, "lon": 121.0, "at": old}, format="json")
    assert r.status_code == 200 and (r.json()["lat"], r.json()["lon"]) == (30.1, 120.1)
    assert sent == []


@pytest.mark.parametrize(
    "body, field",
    [
        ({"lat": 91, "lon": 120}, "lat"),
        ({"lat": 30, "lon": -181}, "lon"),
        ({"lat": "north", "lon": 120}, "lat"),
        ({"lon": 120}, "lat"),
        ({"lat": 30, "lon": 120, "speed": 40}, "speed"),
        ({"lat": 30, "lon": 120, "at": "yesterday"}, "at"),
    ],
)
def test_bad_positions_are_named(coded, fleet, body, field):
    u = fleet["a1_car"]
    r = api_as(coded.station_a1_officer).post(f"/api/units/{u.pk}/position/", body, format="json")
    assert r.status_code == 400 and field in r.json(), r.json()
    assert reload(u).version == 1


def test_a_fix_from_the_future_is_refused(coded, fleet):
    u = fleet["a1_car"]
    later = (timezone.now() + timedelta(hours=1)).isoformat()
    r = api_as(coded.station_a1_officer).post(
        f"/api/units/{u.pk}/position/", {"lat": 30, "lon": 120, "at": later}, format="json"
    )
    assert r.status_code == 400 and ("positions" in r.json() or "at" in r.json())


def test_positions_in_a_batch_one_push_per_org(coded, fleet):
    a1, foot, b1 = fleet["a1_car"], fleet["a1_foot"], fleet["b1_car"]
    now = timezone.now()
    body = {
        "positions": [
            {"unit": a1.pk, "lat": 30.30, "lon": 120.17, "at": (now - timedelta(seconds=2)).isoformat()},
            {"unit": a1.pk, "lat": 30.31, "lon": 120.18, "at": now.isoformat()},  # the newest of a unit wins
            {"unit": foot.pk, "lat": 30.29, "lon": 120.16},
            {"unit": b1.pk, "lat": 30.26, "lon": 120.11},
        ]
    }
    with capture_broadcasts() as sent:
        r = api_as(coded.duty).post("/api/units/positions/", body, format="json")
    assert r.status_code == 200, r.json()
    assert sorted(p["id"] for p in r.json()["updated"]) == sorted([a1.pk, foot.pk, b1.pk]) and r.json()["skipped"] == []
    assert (reload(a1).lat, reload(a1).lon, reload(a1).version) == (30.31, 120.18, 2)
    by_group: dict[str, list] = {}
    for m in sent:
        assert m["event"] == "units.positions"
        by_group.setdefault(m["group"], []).append(sorted(p["id"] for p in m["data"]["units"]))
    assert by_group[f"org.{coded.station_a1.pk}"] == [sorted([a1.pk, foot.pk])]
    assert by_group[f"org.{coded.station_b1.pk}"] == [[b1.pk]]
    assert sorted(by_group[f"org.{coded.city.pk}"]) == [sorted([a1.pk, foot.pk]), [b1.pk]]
    assert f"org.{coded.station_a2.pk}" not in by_group


def test_a_batch_with_a_unit_outside_the_area_stores_nothing(coded, fleet):
    a1, b1 = fleet["a1_car"], fleet["b1_car"]
    body = {"positions": [{"unit": a1.pk, "lat": 30.3, "lon": 120.2}, {"unit": b1.pk, "lat": 30.3, "lon": 120.2}]}
    r = api_as(coded.station_a1_officer).post("/api/units/positions/", body, format="json")
    assert r.status_code == 400 and str(b1.pk) in r.json()["positions"][0]
    assert reload(a1).version == 1


def test_batch_errors_are_named_per_item(coded, fleet):
    a1 = fleet["a1_car"]
    body = {"positions": [{"unit": a1.pk, "lat": 30.3, "lon": 120.2}, {"unit": a1.pk, "lat": 99, "lon": 120.2, "x": 1}]}
    r = api_as(coded.duty).post("/api/units/positions/", body, format="json")
    assert r.status_code == 400 and list(r.json()["positions"]) == ["1"] and list(r.json()["positions"]["1"]) == ["x"]
    body["positions"][1].pop("x")
    r = api_as(coded.duty).post("/api/units/positions/", body, format="json")
    assert r.status_code == 400 and list(r.json()["positions"]["1"]) == ["lat"]
    assert api_as(coded.duty).post("/api/units/positions/", {"positions": []}, format="json").status_code == 400
    assert api_as(coded.duty).post("/api/units/positions/", {}, format="json").status_code == 400


def test_who_may_report_positions(coded, fleet):
    u = fleet["a1_car"]
    for user in (coded.analyst, coded.supervisor):
        r = api_as(user).post(f"/api/units/{u.pk}/position/", {"lat": 30, "lon": 120}, format="json")
        assert r.status_code == 403
    assert reload(u).version == 1


# --- Status ---------------------------------------------------------------------------------------------


def test_a_person_sets_a_units_status_with_a_reason(coded, fleet):
    u = fleet["a1_car"]
    station = api_as(coded.station_a1_officer)
    with capture_broadcasts() as sent:
        r = station.post(f"/api/units/{u.pk}/status/", {"status": "busy", "reason": "押解嫌疑人"}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "busy" and r.json()["status_reason"] == "押解嫌疑人"
    assert r.json()["version"] == 2 and r.json()["allowed"] == ["available", "off_duty", "out_of_service"]
    assert list(UnitTransition.objects.filter(subject=u).values_list("from_state", "to_state", "reason")) == [
        ("available", "busy", "押解嫌疑人")
    ]
    assert [m["event"] for m in sent] == ["unit.updated"] * 3 and sent[0]["data"]["status"] == "busy"
    assert "phone" not in json.dumps(sent[0]["data"])


MANUAL = ["available", "busy", "off_duty", "out_of_service"]
ALLOWED = {
    "available": {"busy", "off_duty", "out_of_service"},
    "en_route": set(),
    "on_scene": set(),
    "busy": {"available", "off_duty", "out_of_service"},
    "off_duty": {"available", "out_of_service"},
    "out_of_service": {"available", "off_duty"},
}


@pytest.mark.parametrize("status", list(ALLOWED))
@pytest.mark.parametrize("target", MANUAL)
def test_every_manual_status_change(coded, fleet, status, target):
    u = fleet["a1_car"]
    Unit.objects.filter(pk=u.pk).update(status=status)
    r = api_as(coded.station_a1_officer).post(f"/api/units/{u.pk}/status/", {"status": target}, format="json")
    if target in ALLOWED[status]:
        assert r.status_code == 200 and r.json()["status"] == target
    else:
        assert r.status_code == 409
        assert r.json()["state"] == status and r.json()["allowed"] == sorted(ALLOWED[status])
        assert reload(u).version == 1


def test_a_unit_with_a_live_order_moves_only_with_it(coded, fleet, incident):
    u = fleet["a1_car"]
    dispatch(coded, incident, unit=u)
    r = api_as(coded.duty).post(f"/api/units/{u.pk}/status/", {"status": "available"}, format="json")
    assert r.status_code == 409 and r.json()["state"] == "en_route" and r.json()["allowed"] == []


def test_status_input_and_roles(coded, fleet):
    u = fleet["a1_car"]
    station = api_as(coded.station_a1_officer)
    for body, field in [({"status": "en_route"}, "status"), ({}, "status"), ({"status": "busy", "x": 1}, "x")]:
        r = station.post(f"/api/units/{u.pk}/status/", body, format="json")
        assert r.status_code == 400 and field in r.json()
    url, busy = f"/api/units/{u.pk}/status/", {"status": "busy"}
    assert api_as(coded.analyst).post(url, busy, format="json").status_code == 403
    assert api_as(coded.station_b1_officer).post(url, busy, format="json").status_code == 404


def test_the_service_refuses_a_status_that_is_not_a_persons_to_set(coded, fleet):
    from command_center.errors import Refused

    with pytest.raises(Refused):
        services.unit_set_status(unit_id=fleet["a1_car"].pk, actor=coded.duty, status="en_route")
