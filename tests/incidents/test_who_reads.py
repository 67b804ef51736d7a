"""Who may read an incident beyond its own area, and what crosses areas: a partner after it sent its diversion
back, a station sent to another area's incident, a repeat-ledger line gathering two stations' incidents, and
a call id another area already used."""

from datetime import timedelta

import pytest
from django.utils import timezone

from command_center.models import Role
from dispatch import services as dispatch_services
from incidents.models import Diversion, Incident, RepeatCluster
from tests.conftest import capture_broadcasts
from tests.factories import make_person

from .conftest import api_as, call

pytestmark = pytest.mark.django_db


def post(client, incident, action, body=None):
    return client.post(f"/api/incidents/{incident.pk}/{action}/", body or {}, format="json")


@pytest.fixture
def incident(duty_api):
    return Incident.objects.get(pk=duty_api.post("/api/incidents/", call(), format="json").json()["id"])


# --- A partner reads what its diversion needs, and nothing after sending it back -------------------------


def test_a_partner_reads_only_what_its_diversion_needs(duty_api, incident, coded):
    post(duty_api, incident, "divert", {"partner": coded.partner.pk, "note": "转12345"})
    partner = api_as(coded.partner_agent)
    seen = partner.get(f"/api/incidents/{incident.pk}/").json()
    assert seen["number"] == incident.number and seen["address"] == "东湖路12号"
    assert seen["category"] == "020500" and seen["narrative"] == "楼上装修噪音很大"
    assert seen["diversion"]["state"] == "pushed" and seen["diversion"]["note"] == "转12345"
    for police_only in ("caller_phone", "caller_name", "timeline", "feedback", "hints", "org", "allowed"):
        assert police_only not in seen, police_only
    listed = partner.get("/api/incidents/").json()["results"]
    assert [r["number"] for r in listed] == [incident.number] and "caller_phone" not in listed[0]


def test_a_partner_reads_nothing_after_returning_its_diversion(duty_api, incident, coded):
    post(duty_api, incident, "divert", {"partner": coded.partner.pk})
    d = Diversion.objects.get(incident=incident)
    partner = api_as(coded.partner_agent)
    assert partner.get(f"/api/incidents/{incident.pk}/").status_code == 200
    r = partner.post(f"/api/diversions/{d.pk}/return/", {"reason": "不属于本单位职责"}, format="json")
    assert r.status_code == 200
    # The police go on with it; none of that reaches the partner any more.
    post(duty_api, incident, "self-handle", {"reason": "电话劝导"})
    post(duty_api, incident, "feedback", {"text": "已电话劝导POLICEONLY", "result": "05"})
    assert partner.get(f"/api/incidents/{incident.pk}/").status_code == 404
    assert partner.get("/api/incidents/").json()["count"] == 0
    assert partner.get("/api/incidents/export/", {"file": "csv"}).content.decode().count(incident.number) == 0
    # Its own diversion stays in its inbox as it left it (its return, its reason), without the police's work.
    inbox = partner.get("/api/diversions/").json()["results"]
    assert [x["state"] for x in inbox] == ["returned"] and "POLICEONLY" not in str(inbox)


def test_a_partner_still_reads_a_diversion_it_finished(duty_api, incident, coded):
    post(duty_api, incident, "divert", {"partner": coded.partner.pk})
    d = Diversion.objects.get(incident=incident)
    partner = api_as(coded.partner_agent)
    partner.post(f"/api/diversions/{d.pk}/accept/")
    partner.post(f"/api/diversions/{d.pk}/complete/", {"result": "已联系物业"}, format="json")
    seen = partner.get(f"/api/incidents/{incident.pk}/").json()
    assert seen["diversion"]["state"] == "done" and seen["diversion"]["result"] == "已联系物业"


# --- A station sent to another area's incident reads it and files its feedback ----------------------------


def test_a_station_dispatched_to_another_areas_incident_reads_it_and_files_feedback(duty_api, incident, coded):
    other = api_as(coded.station_b1_officer)
    assert incident.org == coded.station_a1
    assert other.get(f"/api/incidents/{incident.pk}/").status_code == 404
    order = dispatch_services.order_dispatch(incident_id=incident.pk, actor=coded.duty, org_id=coded.station_b1.pk)
    r = other.get(f"/api/incidents/{incident.pk}/")
    assert r.status_code == 200 and r.json()["number"] == incident.number
    assert incident.pk in [x["id"] for x in other.get("/api/incidents/").json()["results"]]
    r = post(other, incident, "feedback", {"text": "西溪所到场处置", "result": "01"})
    assert r.status_code == 201, r.json()
    # Reading is not owning: it may not close or divert the other area's incident.
    assert post(other, incident, "close", {"reason": "x"}).status_code == 403
    # An order it sent back gives it nothing any more.
    dispatch_services.order_return(order_id=order.pk, actor=coded.station_b1_officer, reason="警力不足")
    assert other.get(f"/api/incidents/{incident.pk}/").status_code == 404


# --- Counts of the repeat ledger are the receiver's own ----------------------------------------------------


def _place_calls(duty_api, coded, n, **place):
    """`n` of station A's calls at the place, days apart (a recurring place, not one event)."""
    ids = []
    for k in range(n):
        r = duty_api.post(
            "/api/incidents/", call(caller_phone=f"1370000000{k}", org=coded.station_a1.pk, **place), format="json"
        )
        ids.append(r.json()["id"])
        Incident.objects.filter(pk=ids[-1]).update(reported_at=timezone.now() - timedelta(days=5 - k))
    return ids


def _repeat_alerts(user):
    return [a for a in api_as(user).get("/api/board/").json()["alerts"] if a["kind"] == "repeat"]


PLACE = {"address": "边界路1号", "lat": 30.2700, "lon": 120.1300}


def test_a_line_station_b_starts_next_to_station_as_incidents_counts_only_bs_for_b(duty_api, coded):
    _place_calls(duty_api, coded, 2, **PLACE)  # not yet a line: the third call makes one
    b_desk = make_person("b_desk", coded.station_b1, Role.STATION_OFFICER)
    with capture_broadcasts() as sent:
        r = api_as(b_desk).post("/api/incidents/", call(caller_phone="13700000099", **PLACE), format="json")
    assert r.status_code == 201 and r.json()["org"] == coded.station_b1.pk
    line = RepeatCluster.objects.get(kind="recurring")
    assert line.org == coded.station_b1 and line.count == 3  # the system's ledger sees the whole place
    by_group = {m["group"]: m["data"] for m in sent if m["event"] == "repeat.cluster"}
    assert by_group[f"org.{coded.station_b1.pk}"]["count"] == 1  # B: its own call, not A's two
    assert by_group[f"org.{coded.station_b1.pk}"]["incident"] == r.json()["id"]
    assert by_group[f"org.{coded.city.pk}"]["count"] == 3  # the city sees all three
    b_duty = make_person("b_duty", coded.station_b1, Role.DUTY_OFFICER)
    assert [a["count"] for a in _repeat_alerts(b_duty)] == [1]
    assert [a["count"] for a in _repeat_alerts(coded.duty)] == [3]


def test_a_call_joining_another_areas_line_tells_that_area_nothing(duty_api, coded):
    a_ids = _place_calls(duty_api, coded, 4, **PLACE)
    line = RepeatCluster.objects.get(kind="recurring")
    assert line.org == coded.station_a1 and line.count == 4
    b_desk = make_person("b_desk", coded.station_b1, Role.STATION_OFFICER)
    with capture_broadcasts() as sent:
        r = api_as(b_desk).post("/api/incidents/", call(caller_phone="13700000099", **PLACE), format="json")
    line.refresh_from_db()
    assert line.count == 5 and r.json()["id"] not in a_ids
    groups = {m["group"]: m["data"] for m in sent if m["event"] == "repeat.cluster"}
    assert set(groups) == {f"org.{coded.city.pk}"} and groups[f"org.{coded.city.pk}"]["count"] == 5
    assert [a["count"] for a in _repeat_alerts(coded.county_a_duty)] == [4]  # A's own four
    assert [a["count"] for a in _repeat_alerts(coded.duty)] == [5]
    b_duty = make_person("b_duty", coded.station_b1, Role.DUTY_OFFICER)
    assert _repeat_alerts(b_duty) == []  # A's line is A's


# --- A call id another area used cannot be told apart from a free one ----------------------------------


def test_a_foreign_call_id_answers_like_a_free_one(duty_api, coded):
    taken = duty_api.post("/api/incidents/", call(call_id="CTI-0001"), format="json").json()
    b_desk = make_person("b_desk", coded.station_b1, Role.STATION_OFFICER)
    near_b = {"lat": 30.2501, "lon": 120.1001}
    r = api_as(b_desk).post("/api/incidents/", call(call_id="CTI-0001", **near_b), format="json")
    free = api_as(b_desk).post("/api/incidents/", call(call_id="CTI-FREE", **near_b), format="json")
    assert r.status_code == free.status_code == 201
    assert r.json()["id"] != taken["id"] and r.json()["org"] == coded.station_b1.pk
    assert set(r.json()) == set(free.json())
    # The desk that took it still gets its own incident back on a retry.
    again = duty_api.post("/api/incidents/", call(call_id="CTI-0001"), format="json")
    assert again.status_code == 200 and again.json()["id"] == taken["id"]
    assert Incident.objects.filter(call_id="CTI-0001").count() == 2


def test_a_partners_page_of_the_incident_shows_what_the_diversion_needs(duty_api, incident, coded, client):
    post(duty_api, incident, "divert", {"partner": coded.partner.pk})
    client.force_login(coded.partner_agent)
    html = client.get(f"/incidents/{incident.pk}/").content.decode()
    assert incident.number in html and "东湖路12号" in html and "楼上装修噪音很大" in html
    assert "13800138000" not in html and "138****8000" not in html and "张三" not in html
    assert 'class="timeline"' not in html and "data-api" not in html
    d = Diversion.objects.get(incident=incident)
    api_as(coded.partner_agent).post(f"/api/diversions/{d.pk}/return/", {"reason": "不归我管"}, format="json")
    assert client.get(f"/incidents/{incident.pk}/").status_code == 404
