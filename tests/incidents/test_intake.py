"""Intake through the API: the contract, idempotency, gapless numbers, routing, and bad input."""

import pytest
from django.utils import timezone

from command_center.models import Deadline
from incidents.models import Incident, IncidentTransition
from tests.concurrency import parallel

from .conftest import api_as, call


def test_intake_creates_a_received_incident(duty_api, coded):
    r = duty_api.post("/api/incidents/", call(), format="json")
    assert r.status_code == 201, r.json()
    body = r.json()
    assert body["state"] == "received" and body["state_code"] == "01" and body["version"] == 1
    today = timezone.localdate().strftime("%Y%m%d")
    assert body["number"] == f"990100{today}000001"
    assert body["org"] == coded.station_a1.pk  # the nearest station to the position
    assert body["category"] == body["first_category"] == "020500"
    assert body["caller_name"] == "张三"
    inc = Incident.objects.get(pk=body["id"])
    assert list(inc.transitions.values_list("to_state", "event")) == [("received", "intake")]
    assert inc.reported_at <= inc.answered_at <= inc.intake_done_at or inc.reported_at == inc.answered_at


def test_org_defaults_to_the_call_takers_own_without_a_position(coded):
    r = api_as(coded.county_a_duty).post("/api/incidents/", call(lat=None, lon=None), format="json")
    assert r.status_code == 201 and r.json()["org"] == coded.county_a.pk


def test_caller_name_defaults_to_anonymous(duty_api):
    r = duty_api.post("/api/incidents/", call(caller_name=...), format="json")
    assert r.json()["caller_name"] == "匿名"


def test_the_same_call_again_returns_the_same_incident(duty_api):
    body = call()
    first = duty_api.post("/api/incidents/", body, format="json")
    again = duty_api.post("/api/incidents/", body, format="json")
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert Incident.objects.count() == 1


def test_an_explicit_org_outside_the_callers_area_is_refused(coded):
    r = api_as(coded.county_a_duty).post("/api/incidents/", call(org=coded.station_b1.pk), format="json")
    assert r.status_code == 400 and "org" in r.json()
    assert not Incident.objects.exists()


def test_a_partner_cannot_take_calls(coded):
    r = api_as(coded.partner_agent).post("/api/incidents/", call(), format="json")
    assert r.status_code == 403


def test_intake_pushes_after_commit_to_the_lineage(coded):
    from tests.conftest import capture_broadcasts

    with capture_broadcasts() as sent:
        api_as(coded.duty).post("/api/incidents/", call(), format="json")
    created = [m for m in sent if m["event"] == "incident.created"]
    assert {m["group"] for m in created} == {f"org.{o.pk}" for o in (coded.city, coded.county_a, coded.station_a1)}
    assert "caller_phone" not in created[0]["data"]


# --- Bad input ------------------------------------------------------------------------------------------


def test_malformed_json_is_a_400(duty_api):
    r = duty_api.generic("POST", "/api/incidents/", '{"call_id": "x", ', content_type="application/json")
    assert r.status_code == 400 and "detail" in r.json()


def test_missing_fields_are_named(duty_api):
    r = duty_api.post("/api/incidents/", {"source": "110"}, format="json")
    assert r.status_code == 400
    assert set(r.json()) >= {"call_id", "address", "category"}


def test_unknown_fields_are_refused_not_dropped(duty_api):
    r = duty_api.post("/api/incidents/", call(colour="red", priority=1), format="json")
    assert r.status_code == 400 and set(r.json()) == {"colour", "priority"}
    assert not Incident.objects.exists()


def test_an_unknown_category_code_is_named(duty_api):
    r = duty_api.post("/api/incidents/", call(category="999999"), format="json")
    assert r.status_code == 400 and "999999" in r.json()["category"][0]


@pytest.mark.parametrize(
    "field, value", [("lat", 91), ("lat", -90.5), ("lon", 181), ("lon", "east"), ("level", 5), ("level", 0)]
)
def test_out_of_range_values_are_refused(duty_api, field, value):
    r = duty_api.post("/api/incidents/", call(**{field: value}), format="json")
    assert r.status_code == 400 and field in r.json()


def test_half_a_position_is_refused(duty_api):
    r = duty_api.post("/api/incidents/", call(lon=None), format="json")
    assert r.status_code == 400 and "lon" in r.json()


def test_a_long_narrative_with_emoji_and_mixed_scripts_is_stored_verbatim(duty_api):
    text = ("报警人称🚨 two men fighting — драка — 喧嘩 ١٢٣ \u200b\n" * 200)[:10240]
    r = duty_api.post("/api/incidents/", call(narrative=text), format="json")
    assert r.status_code == 201
    assert Incident.objects.get(pk=r.json()["id"]).narrative == text


@pytest.mark.parametrize(
    "evil", ["<script>alert(1)</script>", "'; DROP TABLE incidents_incident; --", '" onmouseover="x', "1 OR 1=1"]
)
def test_injection_strings_are_stored_verbatim(duty_api, evil):
    r = duty_api.post("/api/incidents/", call(address=evil, narrative=evil, caller_name=evil[:60]), format="json")
    assert r.status_code == 201
    inc = Incident.objects.get(pk=r.json()["id"])
    assert inc.address == evil and inc.narrative == evil
    assert Incident.objects.count() == 1


# --- Concurrency ----------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_numbers_are_unique_and_gapless_under_concurrent_intake():
    from command_center import codes
    from tests.conftest import build_world

    w = build_world()
    codes.load_defaults()

    def take(k):
        return api_as(w.duty).post("/api/incidents/", call(call_id=f"P{k}"), format="json").status_code

    assert parallel(12, take) == [201] * 12
    seqs = sorted(int(n[-6:]) for n in Incident.objects.values_list("number", flat=True))
    assert seqs == list(range(1, 13))


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_of_one_call_make_one_incident():
    from command_center import codes
    from tests.conftest import build_world

    w = build_world()
    codes.load_defaults()
    body = call(call_id="RETRY-1")

    def take(k):
        r = api_as(w.duty).post("/api/incidents/", body, format="json")
        return r.status_code, r.json()["id"]

    results = parallel(8, take)
    assert sorted(code for code, _ in results) == [200] * 7 + [201]
    assert len({i for _, i in results}) == 1
    assert Incident.objects.count() == 1
    assert IncidentTransition.objects.count() == 1
    # The losers gave their numbers back: the next call gets number 2.
    r = api_as(w.duty).post("/api/incidents/", call(call_id="NEXT"), format="json")
    assert r.json()["number"].endswith("000002")


def test_only_the_dispatch_clock_runs_on_a_fresh_incident(duty_api):
    # Issue 12: a waiting call is timed from the call to the first order (tests/dispatch/test_queue.py).
    duty_api.post("/api/incidents/", call(), format="json")
    assert list(Deadline.objects.values_list("kind", flat=True)) == ["incidents.dispatch"]


# --- One statement, no transaction, for a call that writes nothing else ------------------------------------


def _statements_of_one_intake(client, body):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as q:
        r = client.post("/api/incidents/", body, format="json")
    assert r.status_code == 201, r.json()
    return r, [" ".join(x["sql"].split())[:40] for x in q.captured_queries]


@pytest.mark.django_db(transaction=True)
def test_a_call_that_writes_nothing_else_is_stored_by_one_statement_without_begin_or_commit():
    """Outside any transaction (as the servers run), a call that repeats nothing is one INSERT statement,
    atomic on its own: the incident, its log row, its number and its clock, committed together."""
    from command_center import codes
    from incidents.models import RepeatCluster
    from tests.conftest import build_world

    w = build_world()
    codes.load_defaults()
    client = api_as(w.duty)
    r, sent = _statements_of_one_intake(client, call(call_id="ALONE-1"))
    assert "BEGIN" not in sent and "COMMIT" not in sent, sent
    inc = Incident.objects.get(pk=r.json()["id"])
    assert inc.number.endswith("000001") and inc.transitions.count() == 1
    assert list(Deadline.objects.filter(subject_id=inc.pk).values_list("kind", flat=True)) == ["incidents.dispatch"]

    # The same caller again at the same place: the call goes on the repeat ledger, written with it in one
    # transaction.
    r, sent = _statements_of_one_intake(client, call(call_id="ALONE-2"))
    assert sent[0] != "BEGIN" and "BEGIN" in sent and sent[-1] == "COMMIT", sent
    assert RepeatCluster.objects.filter(incidents=r.json()["id"]).exists()
