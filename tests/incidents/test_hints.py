"""Repeat hints while the call-taker types, and the repeat ledger they feed."""

from datetime import timedelta

import pytest
from django.utils import timezone

from command_center.models import Category
from incidents import services
from incidents.models import Incident, RepeatCluster
from incidents.selectors import phone_key

from .conftest import api_as, call


def codes_category():
    return Category.objects.get(code="020500")


def hints(client, **q):
    r = client.get("/api/incidents/hints/", q)
    assert r.status_code == 200, r.json()
    return r.json()


def age(incident_id, **delta):
    Incident.objects.filter(pk=incident_id).update(reported_at=timezone.now() - timedelta(**delta))


def test_the_caller_rang_twice_this_week(duty_api):
    a = duty_api.post(
        "/api/incidents/", call(caller_phone="13900001111", lat=None, lon=None, address="甲"), format="json"
    ).json()
    b = duty_api.post(
        "/api/incidents/", call(caller_phone="139 0000 1111", lat=None, lon=None, address="乙"), format="json"
    ).json()
    age(a["id"], days=3)
    found = hints(duty_api, phone="+86 139-0000-1111")
    assert {h["id"] for h in found} == {a["id"], b["id"]}
    assert all(h["kind"] == "same_caller" for h in found)
    assert "3" in found[0]["reason"]  # "3 calls in 7 days" counting this one


def test_old_calls_fall_out_of_the_window(duty_api):
    a = duty_api.post("/api/incidents/", call(caller_phone="13900002222", lat=None, lon=None), format="json").json()
    age(a["id"], days=8)
    assert hints(duty_api, phone="13900002222") == []


@pytest.mark.parametrize("number", ["", "匿名", "anonymous", "0", "00000000", "110", "1111111", "无号码", "号码不详"])
def test_empty_anonymous_and_blocked_numbers_never_match(coded, duty_api, number, settings):
    # Stored through the service: the API refuses most of these (incidents/phones.py), but a telephony
    # import or an older row may carry them, and they must still never match.
    services.incident_intake(
        actor=coded.duty,
        data=services.IntakeData(
            call_id=f"ANON-{number}", source="110", address="甲", category=codes_category(), caller_phone=number
        ),
    )
    assert phone_key(number) == ""
    assert [h for h in hints(duty_api, phone=number) if h["kind"] == "same_caller"] == []


def test_a_blocked_switchboard_number_never_matches(duty_api, settings):
    settings.REPEAT_BLOCKED_NUMBERS = ["057187654321"]
    r = duty_api.post("/api/incidents/", call(caller_phone="0571-87654321", lat=None, lon=None), format="json")
    assert r.status_code == 201, r.json()
    assert hints(duty_api, phone="057187654321") == []


def test_the_same_event_called_in_again_minutes_apart(duty_api):
    first = duty_api.post("/api/incidents/", call(caller_phone="13700000001"), format="json").json()
    age(first["id"], minutes=5)
    found = hints(duty_api, lat=30.2902, lon=120.1602, category="020500")
    assert [(h["id"], h["kind"]) for h in found] == [(first["id"], "same_event")]
    assert found[0]["distance_m"] < 50


def test_again_after_handling(duty_api, coded):
    first = duty_api.post("/api/incidents/", call(caller_phone=""), format="json").json()
    services.incident_self_handle(incident_id=first["id"], actor=coded.duty)
    age(first["id"], hours=5)
    found = hints(duty_api, lat=30.2901, lon=120.1601, category="020500")
    assert found[0]["kind"] == "after_handling"


def test_far_away_or_other_types_do_not_match(duty_api):
    duty_api.post("/api/incidents/", call(caller_phone=""), format="json")
    assert hints(duty_api, lat=30.30, lon=120.20, category="020500") == []  # kilometres away
    assert hints(duty_api, lat=30.2901, lon=120.1601, category="030100") == []  # traffic, not noise


def test_hints_stay_in_scope(coded, duty_api):
    duty_api.post("/api/incidents/", call(caller_phone="13900003333"), format="json")
    assert hints(api_as(coded.station_b1_officer), phone="13900003333") == []
    assert len(hints(api_as(coded.station_a1_officer), phone="13900003333")) == 1


def test_hint_input_errors(duty_api):
    assert duty_api.get("/api/incidents/hints/", {"lat": "x", "lon": "1"}).status_code == 400
    assert duty_api.get("/api/incidents/hints/", {"lat": "95", "lon": "1"}).status_code == 400
    assert duty_api.get("/api/incidents/hints/", {"category": "999999"}).status_code == 400


def test_a_place_becomes_a_recurring_line_of_the_ledger(duty_api):
    ids = []
    for k in range(3):
        r = duty_api.post(
            "/api/incidents/", call(caller_phone=f"1360000000{k}", address="幸福小区3栋"), format="json"
        ).json()
        ids.append(r["id"])
        age(r["id"], days=3 - k)  # days apart: not the same event, the same place
    clusters = RepeatCluster.objects.filter(kind="recurring")
    assert clusters.count() == 1
    c = clusters.get()
    assert c.count == 3 and c.theme == "noise" and set(c.incidents.values_list("pk", flat=True)) == set(ids)
    r = duty_api.post("/api/incidents/", call(caller_phone="13600000009", address="幸福小区3栋"), format="json").json()
    c.refresh_from_db()
    assert c.count == 4 and RepeatCluster.objects.filter(kind="recurring").count() == 1
    assert r["id"] in [i["id"] for i in duty_api.get("/api/incidents/", {"repeat": "true"}).json()["results"]]


def test_an_intake_can_link_to_its_master(duty_api):
    first = duty_api.post("/api/incidents/", call(), format="json").json()
    r = duty_api.post("/api/incidents/", call(repeat_of=first["id"], link_type="urge"), format="json")
    assert r.status_code == 201
    detail = duty_api.get(f"/api/incidents/{r.json()['id']}/").json()
    assert [(t["master"], t["link_type"]) for t in detail["timeline"] if t["type"] == "link"] == [(first["id"], "urge")]
