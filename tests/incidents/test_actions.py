"""Every action through the API: what it does, what it refuses (409 with the allowed events), and who may."""

from datetime import timedelta

import pytest
from django.utils import timezone

from command_center import clocks
from command_center.models import Deadline
from incidents import hooks as services
from incidents.models import Diversion, Incident, RepeatLink

from .conftest import api_as, call


@pytest.fixture
def incident(duty_api):
    return Incident.objects.get(pk=duty_api.post("/api/incidents/", call(), format="json").json()["id"])


def post(client, incident, action, body=None):
    return client.post(f"/api/incidents/{incident.pk}/{action}/", body or {}, format="json")


def test_self_handle_then_feedback_then_close(duty_api, incident):
    r = post(duty_api, incident, "self-handle", {"reason": "电话劝导"})
    assert r.status_code == 200 and r.json()["state"] == "self_handled" and r.json()["version"] == 2
    assert clocks.open_for(incident).filter(kind="incidents.feedback").exists()
    assert post(duty_api, incident, "close").status_code == 400  # feedback first
    fb = post(duty_api, incident, "feedback", {"text": "已劝导", "result": "05"})
    assert fb.status_code == 201
    assert not clocks.open_for(incident).filter(kind="incidents.feedback").exists()  # met
    r = post(duty_api, incident, "close")
    assert r.status_code == 200 and r.json()["state"] == "closed" and r.json()["closed_at"]
    assert clocks.open_for(incident).filter(kind="incidents.callback").exists()


def test_a_refused_action_is_a_409_with_what_is_allowed(duty_api, incident):
    r = post(duty_api, incident, "clear-scene")
    assert r.status_code == 409
    assert r.json()["state"] == "received"
    assert r.json()["allowed"] == ["dispatch", "divert", "invalidate", "merge", "reclassify", "self_handle"]
    assert r.json()["detail"]


def test_the_dispatch_path_moves_with_the_orders(duty_api, incident, coded):
    services.incident_mark_dispatched(incident_id=incident.pk, actor=coded.duty)
    services.incident_mark_responding(incident_id=incident.pk, actor=coded.station_a1_officer)
    services.incident_mark_on_scene(incident_id=incident.pk, actor=coded.station_a1_officer)
    station = api_as(coded.station_a1_officer)
    assert post(station, incident, "feedback", {"text": "到场调解", "result": "01", "injured": 0}).status_code == 201
    assert post(station, incident, "clear-scene").json()["state"] == "scene_cleared"
    r = post(station, incident, "close")
    assert r.json()["state"] == "closed"
    detail = duty_api.get(f"/api/incidents/{incident.pk}/").json()
    assert [t["to"] for t in detail["timeline"] if t["type"] == "transition"] == [
        "received", "dispatched", "responding", "on_scene", "on_scene", "scene_cleared", "closed"
    ]  # fmt: skip
    i = Incident.objects.get(pk=incident.pk)
    times = [i.dispatched_at, i.signed_at, i.arrived_at, i.scene_cleared_at, i.closed_at]
    assert all(times) and times == sorted(times)  # type: ignore[type-var]


def test_callback_once_and_dissatisfied_marks_for_rectification(duty_api, incident):
    assert post(duty_api, incident, "callback", {"channel": "phone", "satisfaction": "satisfied"}).status_code == 409
    post(duty_api, incident, "self-handle")
    post(duty_api, incident, "feedback", {"text": "x", "result": "05"})
    post(duty_api, incident, "close")
    r = post(duty_api, incident, "callback", {"channel": "phone", "satisfaction": "dissatisfied", "text": "没人来"})
    assert r.status_code == 201
    assert Incident.objects.get(pk=incident.pk).needs_rectification
    assert not clocks.open_for(incident).exists()
    assert post(duty_api, incident, "callback", {"channel": "sms", "satisfaction": "satisfied"}).status_code == 409


def test_callback_bad_fields_are_named(duty_api, incident):
    r = post(duty_api, incident, "callback", {"channel": "fax", "satisfaction": "meh"})
    assert r.status_code == 400 and set(r.json()) == {"channel", "satisfaction"}


def test_invalidate_needs_a_reason_and_cancels_clocks(duty_api, incident):
    assert post(duty_api, incident, "invalidate", {"reason": " "}).status_code == 400
    r = post(duty_api, incident, "invalidate", {"reason": "误拨"})
    assert r.json()["state"] == "invalid"
    assert post(duty_api, incident, "self-handle").status_code == 409


def test_merge_links_to_the_master_and_leaves_the_queue(duty_api, incident):
    other = duty_api.post("/api/incidents/", call(), format="json").json()
    r = post(duty_api, Incident.objects.get(pk=other["id"]), "merge", {"into": incident.pk})
    assert r.status_code == 200 and r.json()["state"] == "merged" and r.json()["merged_into"] == incident.pk
    assert RepeatLink.objects.filter(incident_id=other["id"], master=incident).exists()
    assert Incident.objects.get(pk=incident.pk).version == 2
    assert post(duty_api, incident, "merge", {"into": incident.pk}).status_code == 400
    assert post(duty_api, incident, "merge", {"into": 999999}).status_code == 400


def test_link_as_urging(duty_api, incident):
    other = Incident.objects.get(pk=duty_api.post("/api/incidents/", call(), format="json").json()["id"])
    r = post(duty_api, other, "link", {"master": incident.pk, "link_type": "urge", "reason": "催促出警"})
    assert r.status_code == 200
    assert RepeatLink.objects.get(incident=other).link_type == "urge"


def test_divert_to_a_partner_who_accepts_and_completes(duty_api, incident, coded):
    assert post(duty_api, incident, "divert", {"partner": coded.station_a1.pk}).status_code == 400  # not a partner
    r = post(duty_api, incident, "divert", {"partner": coded.partner.pk, "note": "噪音扰民转12345"})
    assert r.status_code == 200 and r.json()["state"] == "diverted"
    partner = api_as(coded.partner_agent)
    inbox = partner.get("/api/diversions/").json()["results"]
    assert len(inbox) == 1 and inbox[0]["incident"]["number"] == incident.number and inbox[0]["state"] == "pushed"
    d = inbox[0]["id"]
    assert partner.post(f"/api/diversions/{d}/complete/", {"result": "x"}, format="json").status_code == 409
    assert partner.post(f"/api/diversions/{d}/accept/").json()["state"] == "accepted"
    assert partner.post(f"/api/diversions/{d}/complete/", {}, format="json").status_code == 400
    r = partner.post(f"/api/diversions/{d}/complete/", {"result": "已联系物业处理"}, format="json")
    assert r.json()["state"] == "done"
    i = duty_api.get(f"/api/incidents/{incident.pk}/").json()
    assert i["state"] == "closed"
    assert [t["event"] for t in i["timeline"] if t["type"] == "diversion"] == ["push", "accept", "complete"]
    # The partner sees the incident it was sent, without the caller (tests/incidents/test_who_reads.py).
    seen = partner.get(f"/api/incidents/{incident.pk}/").json()
    assert seen["number"] == incident.number and "caller_phone" not in seen


def test_a_partner_returns_a_diversion_and_the_incident_comes_back(duty_api, incident, coded):
    post(duty_api, incident, "divert", {"partner": coded.partner.pk})
    d = Diversion.objects.get(incident=incident)
    partner = api_as(coded.partner_agent)
    assert partner.post(f"/api/diversions/{d.pk}/return/", {}, format="json").status_code == 400
    r = partner.post(f"/api/diversions/{d.pk}/return/", {"reason": "不属于本单位职责"}, format="json")
    assert r.json()["state"] == "returned"
    assert Incident.objects.get(pk=incident.pk).state == "received"


def test_police_cannot_act_for_the_partner(duty_api, incident, coded):
    post(duty_api, incident, "divert", {"partner": coded.partner.pk})
    d = Diversion.objects.get(incident=incident)
    assert duty_api.post(f"/api/diversions/{d.pk}/accept/").status_code == 403


def test_another_station_gets_404_and_cannot_act(coded, incident):
    other = api_as(coded.station_b1_officer)
    assert other.get(f"/api/incidents/{incident.pk}/").status_code == 404
    assert post(other, incident, "self-handle").status_code == 404
    assert other.get("/api/incidents/").json()["count"] == 0


def test_a_station_officer_cannot_divert(coded, incident):
    assert post(api_as(coded.station_a1_officer), incident, "divert", {"partner": coded.partner.pk}).status_code == 403


def test_feedback_validation(duty_api, incident):
    services.incident_mark_dispatched(incident_id=incident.pk, actor=None)
    r = post(duty_api, incident, "feedback", {"text": "", "result": "XX", "injured": -1})
    assert r.status_code == 400 and set(r.json()) == {"text", "result", "injured"}


def test_overdue_filter_finds_breached_clocks(duty_api, incident):
    post(duty_api, incident, "self-handle")
    clocks.sweep(now=timezone.now() + timedelta(days=1))
    assert Deadline.objects.filter(breached_at__isnull=False).count() == 1
    assert [i["id"] for i in duty_api.get("/api/incidents/", {"overdue": "true"}).json()["results"]] == [incident.pk]
    assert duty_api.get("/api/incidents/", {"overdue": "false"}).json()["count"] == 0


def test_list_filters(duty_api, incident, coded):
    duty_api.post("/api/incidents/", call(category="030100", level=2, lat=30.25, lon=120.10), format="json")
    get = lambda **q: [i["category"] for i in duty_api.get("/api/incidents/", q).json()["results"]]  # noqa: E731
    assert get(category="03") == ["030100"]
    assert get(category="0205") == ["020500"]
    assert get(level=2) == ["030100"]
    assert get(org=coded.county_b.pk) == ["030100"]
    assert get(state="received") == ["030100", "020500"]
    assert sorted(get(q="东湖")) == ["020500", "030100"]
    assert duty_api.get("/api/incidents/", {"state": "bogus"}).status_code == 400
