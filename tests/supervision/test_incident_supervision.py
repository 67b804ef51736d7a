"""Supervision completes its own loop (issue 13): an incident's clocks escalate as a task's do — a late
signature, arrival or report back raises 催办 to the station, still late after SUPERVISION_INCIDENT_ESCALATE_S
(or late again) a 督办 — and a supervisor raises 催办 or 督办 on any overdue clock by hand, with a note."""

from datetime import timedelta

import pytest
from django.test import override_settings

from command_center import clocks
from command_center.models import Role
from dispatch import services as dispatch_services
from supervision import services
from supervision.models import Reminder, SupervisionOrder
from tests.conftest import capture_broadcasts
from tests.dispatch.conftest import make_incident, make_unit
from tests.factories import make_person
from tests.intel.conftest import api_as, task_of

MIN = timedelta(minutes=1)


@pytest.fixture
def late(coded):
    """An order to a car of station A1, not signed: its sign clock (30 s) breaks at the first sweep."""
    incident = make_incident(coded)
    car = make_unit(coded.station_a1, call_sign="东湖5号车")
    order = dispatch_services.order_dispatch(incident_id=incident.pk, actor=coded.duty, unit_id=car.pk)
    return incident, order


@override_settings(SUPERVISION_INCIDENT_ESCALATE_S=600)
def test_a_late_signature_reminds_the_station_then_still_late_raises_supervision(coded, late):
    incident, order = late
    with capture_broadcasts() as pushes:
        clocks.sweep(now=order.sent_at + MIN)
    (r,) = Reminder.objects.filter(incident=incident)
    assert r.level == Reminder.Level.REMINDER and r.recipient_id == coded.station_a1.pk and r.by is None
    assert incident.number in r.text and "签收" in r.text
    assert any(p["event"] == "reminder.created" for p in pushes)
    # The inbox shows it (its text names the incident); the station acknowledges it.
    inbox = api_as(coded.station_a1_officer).get("/api/board/inbox/").json()
    assert [x["id"] for x in inbox["reminders"]] == [r.pk] and inbox["reminders"][0]["incident"] == incident.pk
    # Ten minutes on, still not signed: 督办 at the first level, with its level-2 reminder.
    clocks.sweep(now=order.sent_at + 12 * MIN)
    (o,) = SupervisionOrder.objects.filter(incident=incident)
    assert o.task is None and o.org_id == coded.station_a1.pk and o.by is None
    assert Reminder.objects.filter(incident=incident, level=Reminder.Level.SUPERVISION).count() == 1
    board = api_as(coded.duty).get("/api/board/").json()["alerts"]
    sup = [a for a in board if a["kind"] == "supervision"]
    assert sup and sup[0]["incident"] == {"id": incident.pk, "number": incident.number}
    assert incident.number in sup[0]["text"]


@override_settings(SUPERVISION_INCIDENT_ESCALATE_S=600)
def test_signed_late_and_arrived_before_the_escalation_no_supervision(coded, late):
    incident, order = late
    clocks.sweep(now=order.sent_at + MIN)
    dispatch_services.order_sign(order_id=order.pk, actor=coded.station_a1_officer)
    dispatch_services.order_arrive(order_id=order.pk, actor=coded.station_a1_officer)
    clocks.sweep(now=order.sent_at + 12 * MIN)  # the escalation clock breaks: nothing is late any more
    assert not SupervisionOrder.objects.filter(incident=incident).exists()
    assert Reminder.objects.filter(incident=incident).count() == 1


def test_a_closed_incident_is_not_reminded_and_the_callback_clock_is_not_supervised(coded):
    assert not services.escalates("incidents.callback") and not services.escalates("incidents.dispatch")
    assert services.escalates("dispatch.sign") and services.escalates("incidents.feedback")


def test_a_supervisor_reminds_and_supervises_by_hand_once_each(coded, late):
    incident, order = late
    clocks.sweep(now=order.sent_at + MIN)
    (deadline_id,) = [d["id"] for d in api_as(coded.supervisor).get("/api/overdue/").json()["results"]]
    sup = api_as(coded.supervisor)
    # The sweep reminded already: a second 催办 on the same clock is 409.
    assert sup.post(f"/api/overdue/{deadline_id}/remind/", {"note": "速签"}, format="json").status_code == 409
    # 督办 needs a note; then it is raised at the first level, by the supervisor.
    assert sup.post(f"/api/overdue/{deadline_id}/supervise/", {}, format="json").status_code == 400
    r = sup.post(f"/api/overdue/{deadline_id}/supervise/", {"note": "5 分钟内签收并说明原因"}, format="json")
    assert r.status_code == 201, r.json()
    assert r.json()["incident"]["number"] == incident.number and r.json()["by"]["username"] == "supervisor"
    o = SupervisionOrder.objects.get(pk=r.json()["id"])
    assert o.reason == "5 分钟内签收并说明原因" and o.by == coded.supervisor
    assert sup.post(f"/api/overdue/{deadline_id}/supervise/", {"note": "再次"}, format="json").status_code == 409


def test_by_hand_on_a_task_clock_and_who_may(coded, red):
    clocks.sweep(now=red.issued_at + 11 * MIN)  # both stations' sign clocks break; the sweep reminds both
    rows = api_as(coded.supervisor).get("/api/overdue/").json()["results"]
    a1 = next(d for d in rows if d["org"] == coded.station_a1.pk)
    # A station officer does not raise 督办 (403); another county's supervisor does not see the clock (404).
    assert (
        api_as(coded.station_a1_officer)
        .post(f"/api/overdue/{a1['id']}/supervise/", {"note": "x"}, format="json")
        .status_code
        == 403
    )
    county_b = make_person("county_b_supervisor", coded.county_b, Role.SUPERVISOR)
    assert api_as(county_b).post(f"/api/overdue/{a1['id']}/supervise/", {"note": "x"}, format="json").status_code == 404
    r = api_as(coded.supervisor).post(f"/api/overdue/{a1['id']}/supervise/", {"note": "今日办结"}, format="json")
    assert r.status_code == 201 and r.json()["task"]["id"] == task_of(red, coded.station_a1).pk
    # A clock that is not overdue (met, or not broken yet) is 409; one that does not exist is 404.
    assert api_as(coded.supervisor).post("/api/overdue/999999/remind/", {}, format="json").status_code == 404


def test_the_overdue_list_reads_and_offers_the_hand_actions(coded, late):
    incident, order = late
    clocks.sweep(now=order.sent_at + MIN)
    row = api_as(coded.supervisor).get("/api/overdue/").json()["results"][0]
    assert row["subject"]["title"] == incident.number and "东湖5号车" in row["subject"]["detail"]
