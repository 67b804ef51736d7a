"""The station's duty log: generated from its day (orders signed and arrived, feedback filed, tasks
signed), notes and handover added while open, signed once — a second sign, an edit after, or two signs at
once: one wins, the rest are 409."""

from __future__ import annotations

import pytest
from django.utils import timezone

from briefing import services
from briefing.models import DutyLog, DutyLogTransition
from command_center.errors import Refused
from command_center.models import HandlingResult
from command_center.transitions import InvalidTransition
from dispatch import services as dispatch_services
from incidents import services as incident_services
from intel import services as loop
from intel.models import Task
from tests.concurrency import parallel
from tests.dispatch.conftest import dispatch, make_incident, make_unit
from tests.intel.conftest import api_as, issue


@pytest.fixture
def busy(coded):
    """Station A1's day: an order signed and on scene, its feedback, a task signed."""
    w = coded
    officer = w.station_a1_officer
    i = make_incident(w, org=w.station_a1, position=None)
    o = dispatch(w, i, unit=make_unit(w.station_a1))
    dispatch_services.order_sign(order_id=o.pk, actor=officer)
    dispatch_services.order_arrive(order_id=o.pk, actor=officer)
    incident_services.incident_feedback(
        incident_id=i.pk, actor=officer, text="现场已劝离", result=HandlingResult.objects.get(code="05")
    )
    d = issue(w, w.station_a1, title="夜间巡防")
    loop.task_sign(task_id=Task.objects.get(carried__directive=d).pk, actor=officer)
    issue(w, w.station_b1, title="西溪的任务")  # B1's: not in A1's log
    return w, i


@pytest.mark.django_db
def test_the_log_is_generated_from_the_stations_day(busy):
    w, i = busy
    log = services.duty_log_for(org=w.station_a1, day=timezone.localdate())
    kinds = [e["kind"] for e in log.entries]
    assert kinds == ["order_signed", "order_arrived", "feedback", "task_signed"]
    assert log.entries[0]["title"] == i.number and log.entries[3]["title"] == "夜间巡防"
    # Made once: the page asking again refreshes the same row.
    assert services.duty_log_for(org=w.station_a1, day=timezone.localdate()).pk == log.pk
    assert DutyLog.objects.count() == 1
    with pytest.raises(Refused) as refused:
        services.duty_log_for(org=w.county_a, day=timezone.localdate())
    assert refused.value.field == "org"


@pytest.mark.django_db
def test_notes_handover_and_one_signature(busy):
    w, _i = busy
    officer = w.station_a1_officer
    log = services.duty_log_for(org=w.station_a1, day=timezone.localdate())
    api = api_as(officer)
    res = api.post(f"/api/briefing/duty-logs/{log.pk}/notes/", {"text": "22:10 社区走访"}, format="json")
    assert res.status_code == 201 and [n["text"] for n in res.json()["notes"]] == ["22:10 社区走访"]
    res = api.patch(f"/api/briefing/duty-logs/{log.pk}/", {"handover": "车辆钥匙已交接"}, format="json")
    assert res.status_code == 200 and res.json()["handover"] == "车辆钥匙已交接"
    # Another station's officer: not theirs (404); the county above reads it but signs nothing without a role.
    assert api_as(w.station_b1_officer).post(f"/api/briefing/duty-logs/{log.pk}/sign/").status_code == 404
    assert api_as(w.analyst).get(f"/api/briefing/duty-logs/{log.pk}/").status_code == 200
    assert api_as(w.analyst).post(f"/api/briefing/duty-logs/{log.pk}/sign/").status_code == 403
    res = api.post(f"/api/briefing/duty-logs/{log.pk}/sign/")
    assert res.status_code == 200 and res.json()["state"] == "signed"
    assert res.json()["signed_by"]["username"] == officer.username
    assert api.post(f"/api/briefing/duty-logs/{log.pk}/sign/").status_code == 409
    assert api.post(f"/api/briefing/duty-logs/{log.pk}/notes/", {"text": "迟到的"}, format="json").status_code == 409
    assert api.patch(f"/api/briefing/duty-logs/{log.pk}/", {"handover": "改"}, format="json").status_code == 409
    # Frozen: a new business of the day does not change a signed log.
    frozen = DutyLog.objects.get(pk=log.pk).entries
    issue(w, w.station_a1, title="签字后的指令")
    loop.task_sign(task_id=Task.objects.get(title="签字后的指令").pk, actor=officer)
    assert services.duty_log_for(org=w.station_a1, day=timezone.localdate()).entries == frozen


@pytest.mark.django_db(transaction=True)
def test_two_signs_at_once_one_wins(coded):
    log = services.duty_log_for(org=coded.station_a1, day=timezone.localdate())

    def sign(k: int) -> str:
        try:
            services.duty_log_sign(log_id=log.pk, actor=coded.station_a1_officer)
        except InvalidTransition:
            return "409"
        return "signed"

    assert sorted(parallel(2, sign)) == ["409", "signed"]
    assert DutyLogTransition.objects.filter(subject=log, event="sign").count() == 1
