"""Recommendation: the nearest available, capable units in the caller's area, with distance and ETA."""

from datetime import timedelta

import pytest
from django.utils import timezone

from dispatch import selectors
from dispatch.selectors import capability_keys, eta_seconds, recommend_for_incident

from .conftest import SCENE, api_as, make_incident, make_unit

M_PER_DEG = 111_194.93  # metres per degree of latitude on the sphere the selectors use


def north(metres: float) -> tuple[float, float]:
    return SCENE[0] + metres / M_PER_DEG, SCENE[1]


@pytest.fixture
def units(coded):
    a1, a2, b1 = coded.station_a1, coded.station_a2, coded.station_b1
    return {
        "near": make_unit(a1, call_sign="near", at=north(200)),
        "foot": make_unit(a1, call_sign="foot", at=north(800), kind="foot_patrol", capabilities=["02"]),
        "moto": make_unit(a2, call_sign="moto", at=north(2500), kind="motorbike", capabilities=["0205"]),
        "full_top": make_unit(a1, call_sign="full_top", at=north(300), capabilities=["020000"]),
        "full_type": make_unit(a2, call_sign="full_type", at=north(400), capabilities=["010000", "020500"]),
        "far": make_unit(a1, call_sign="far", at=north(20_000), ring_minutes=5),
        # Never recommended:
        "off": make_unit(a1, call_sign="off", at=north(100), status="off_duty"),
        "oos": make_unit(a1, call_sign="oos", at=north(50), status="out_of_service"),
        "busy": make_unit(a1, call_sign="busy", at=north(60), status="busy"),
        "en_route": make_unit(a1, call_sign="en_route", at=north(70), status="en_route"),
        "on_scene": make_unit(a1, call_sign="on_scene", at=north(75), status="on_scene"),
        "traffic": make_unit(a1, call_sign="traffic", at=north(90), capabilities=["03"]),
        "other_type": make_unit(a1, call_sign="other_type", at=north(95), capabilities=["0206", "01"]),
        "nowhere": make_unit(a1, call_sign="nowhere", at=None),
        # Another county's: only the city sees it.
        "b1": make_unit(b1, call_sign="b1", at=north(150)),
    }


def signs(recs):
    return [r.unit.call_sign for r in recs]


def test_nearest_available_and_capable_first(coded, units):
    incident = make_incident(coded)  # 治安 · 噪音扰民 020500
    origin, recs = recommend_for_incident(coded.duty, incident, limit=50)
    assert origin is not None and (origin.lat, origin.lon, origin.source) == (*SCENE, "incident")
    assert signs(recs) == ["b1", "near", "full_top", "full_type", "foot", "moto", "far"]
    distances = [r.distance_m for r in recs if r.distance_m is not None]
    assert len(distances) == len(recs) and distances == sorted(distances)
    assert recs[1].distance_m == pytest.approx(200, abs=1)
    assert recs[-1].distance_m == pytest.approx(20_000, abs=5)


def test_never_a_unit_that_is_not_available(coded, units):
    incident = make_incident(coded)
    seen = set(signs(recommend_for_incident(coded.duty, incident, limit=50)[1]))
    assert not seen & {"off", "oos", "busy", "en_route", "on_scene", "nowhere"}


def test_capabilities_match_by_prefix(coded, units):
    traffic = make_incident(coded, category="030100")
    seen = signs(recommend_for_incident(coded.duty, traffic, limit=50)[1])
    assert "traffic" in seen and "foot" not in seen and "moto" not in seen and "full_top" not in seen
    assert "near" in seen  # no capabilities: takes anything
    theft = make_incident(coded, category="010100")
    seen = signs(recommend_for_incident(coded.duty, theft, limit=50)[1])
    assert "other_type" in seen and "full_type" in seen and "traffic" not in seen


def test_capability_keys():
    assert set(capability_keys("020501")) == {"0", "02", "020", "0205", "02050", "020501", "020500", "020000"}
    assert capability_keys("02") == ["0", "02"]


def test_limited_to_the_dispatchers_area(coded, units):
    incident = make_incident(coded)
    seen = signs(recommend_for_incident(coded.county_a_duty, incident, limit=50)[1])
    assert "b1" not in seen and seen[0] == "near"
    station = signs(recommend_for_incident(coded.station_a1_officer, incident, limit=50)[1])
    assert "moto" not in station and "full_type" not in station  # station A2's


def test_the_box_grows_until_it_holds_enough(coded, units):
    incident = make_incident(coded)
    assert signs(recommend_for_incident(coded.duty, incident, limit=2)[1]) == ["b1", "near"]
    recs = recommend_for_incident(coded.duty, incident, limit=7)[1]
    assert signs(recs)[-1] == "far"  # 20 km away: found by growing the box


def test_eta_and_ring(coded, units):
    incident = make_incident(coded)
    recs = {r.unit.call_sign: r for r in recommend_for_incident(coded.duty, incident, limit=50)[1]}
    near = recs["near"]
    assert near.distance_m is not None
    assert near.eta_s == round(30 + near.distance_m * 1.3 / (30 / 3.6)) == eta_seconds("patrol_car", near.distance_m)
    assert near.within_ring  # about a minute, ring of 3
    foot = recs["foot"]
    assert foot.distance_m is not None
    assert foot.eta_s == round(foot.distance_m * 1.3 / (5 / 3.6))
    assert not foot.within_ring  # 800 m on foot is more than 3 minutes
    assert not recs["far"].within_ring
    assert not near.stale


def test_a_stale_position_is_flagged(coded, units):
    from dispatch.models import Unit

    Unit.objects.filter(pk=units["near"].pk).update(position_at=timezone.now() - timedelta(hours=1))
    incident = make_incident(coded)
    recs = {r.unit.call_sign: r for r in recommend_for_incident(coded.duty, incident, limit=50)[1]}
    assert recs["near"].stale and not recs["foot"].stale


def test_without_a_position_the_owning_stations_units_come_unranked_and_marked(coded, units):
    # Issue 12: a station's coordinates are not the caller's; no distance ranking without a position.
    incident = make_incident(coded, position=None, org=coded.station_a1)
    origin, recs = recommend_for_incident(coded.duty, incident)
    assert origin is None and recs
    assert all(r.no_position and r.distance_m is None and r.eta_s is None for r in recs)
    assert {r.unit.org_id for r in recs} == {coded.station_a1.pk}
    assert [r.unit.call_sign for r in recs] == sorted(r.unit.call_sign for r in recs)
    nowhere = make_incident(coded, position=None)  # the city's own, which has no position either
    assert recommend_for_incident(coded.duty, nowhere) == (None, [])


def test_the_api(coded, units):
    incident = make_incident(coded)
    duty = api_as(coded.duty)
    r = duty.get(f"/api/incidents/{incident.pk}/recommendations/", {"limit": 3})
    assert r.status_code == 200, r.json()
    body = r.json()
    assert body["incident"] == incident.pk and body["category"] == "020500"
    assert body["origin"] == {"lat": SCENE[0], "lon": SCENE[1], "source": "incident"}
    assert [x["unit"]["call_sign"] for x in body["results"]] == ["b1", "near", "full_top"]
    first = body["results"][1]
    assert first["distance_m"] == 200 and first["eta_s"] > 0 and first["within_ring"] is True
    assert first["unit"]["org_name"] == "东湖派出所" and first["unit"]["status"] == "available"
    assert len(duty.get(f"/api/incidents/{incident.pk}/recommendations/").json()["results"]) == 7
    for bad in ("0", "51", "x"):
        r = duty.get(f"/api/incidents/{incident.pk}/recommendations/", {"limit": bad})
        assert r.status_code == 400 and "limit" in r.json()
    assert api_as(coded.station_b1_officer).get(f"/api/incidents/{incident.pk}/recommendations/").status_code == 404


def test_the_api_marks_recommendations_without_a_position(coded, units):
    incident = make_incident(coded, position=None, org=coded.station_a1)
    body = api_as(coded.duty).get(f"/api/incidents/{incident.pk}/recommendations/").json()
    assert body["origin"] is None and body["results"]
    assert all(x["no_position"] and x["distance_m"] is None and x["eta_s"] is None for x in body["results"])


def test_a_dispatched_unit_leaves_the_recommendation(coded, units):
    from .conftest import dispatch

    incident = make_incident(coded)
    dispatch(coded, incident, unit=units["near"])
    assert "near" not in signs(recommend_for_incident(coded.duty, incident, limit=50)[1])


def test_radii_end_without_a_box():
    assert selectors.SEARCH_RADII_M[-1] is None
