"""Corrections from the desk (issue 12): 更正 / 重新定性 of an incident, logged field by field and re-timing its
clocks; 改派 and 撤派 of an order with a reason; a call whose last order is called off waits again; merge
by the number a person reads."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from command_center import clocks
from command_center.models import Deadline
from dispatch import services
from dispatch.models import DispatchOrder, Unit
from incidents import services as incident_services
from incidents.api import timeline
from incidents.models import CLOCK_DISPATCH, Correction, Incident, IncidentTransition
from tests.conftest import capture_broadcasts

from .conftest import api_as, dispatch, make_incident, make_unit

pytestmark = pytest.mark.django_db


def correct(user, incident, **body):
    return api_as(user).post(f"/api/incidents/{incident.pk}/correct/", body, format="json")


def dispatch_clocks(incident):
    return Deadline.objects.filter(subject_id=incident.pk, kind=CLOCK_DISPATCH).order_by("pk")


def unmet_dispatch_clock(incident) -> Deadline:
    (d,) = clocks.unmet_for(incident).filter(kind=CLOCK_DISPATCH)
    return d


def reload(obj):
    return type(obj).objects.get(pk=obj.pk)


# --- 更正 / 重新定性 ---------------------------------------------------------------------------------------


def test_reclassifying_a_waiting_call_logs_each_field_and_re_times_its_dispatch_clock(coded):
    i = make_incident(coded, level=3)  # 020500, level 3: 300 s to dispatch
    first = unmet_dispatch_clock(i)
    r = correct(coded.duty, i, category="010100", level=1, reason="来电补充：持刀")
    assert r.status_code == 200, r.json()
    assert r.json()["category"] == "010100" and r.json()["level"] == 1
    assert r.json()["first_category"] == "020500"  # the first classification stays
    rows = {c.field: c for c in Correction.objects.filter(incident=i)}
    assert set(rows) == {"category", "level"}
    assert (rows["category"].old, rows["category"].new) == ("020500", "010100")
    assert (rows["level"].old, rows["level"].new) == ("3", "1")
    assert rows["level"].reason == "来电补充：持刀" and rows["level"].by == coded.duty
    log = IncidentTransition.objects.filter(subject=i).last()
    assert log is not None
    assert log.event == "reclassify" and log.from_state == log.to_state == "received"
    # The old clock is cancelled; the new one started when the call came in and is due by level 1's 60 s.
    assert reload(first).cancelled_at is not None
    new = unmet_dispatch_clock(i)
    assert new.started_at == first.started_at and new.due_at == first.started_at + timedelta(seconds=60)


def test_the_timeline_says_what_was_corrected_in_words(coded):
    i = make_incident(coded)
    correct(coded.duty, i, category="010100", address="东湖路14号", reason="核实")
    items = [t for t in timeline(i, coded.duty) if t["type"] == "correction"]
    by_field = {t["field"]: t for t in items}
    assert by_field["category"]["old_label"].startswith("020500 ")
    assert by_field["category"]["new_label"].startswith("010100 ")
    assert by_field["address"]["new_label"] == "东湖路14号"
    assert by_field["address"]["actor"] and by_field["address"]["reason"] == "核实"


def test_a_shorter_clock_already_past_breaches_at_the_next_sweep_and_leads_the_queue(coded):
    i = make_incident(coded, level=3)
    Incident.objects.filter(pk=i.pk).update(reported_at=timezone.now() - timedelta(seconds=200))
    Deadline.objects.filter(subject_id=i.pk, kind=CLOCK_DISPATCH).update(
        started_at=timezone.now() - timedelta(seconds=200), due_at=timezone.now() + timedelta(seconds=100)
    )
    assert correct(coded.duty, i, level=1, reason="升级").status_code == 200
    clocks.sweep()
    assert unmet_dispatch_clock(i).breached_at is not None
    rows = api_as(coded.duty).get("/api/board/").json()["incidents"]
    assert rows[0]["id"] == i.pk


def test_a_waiting_call_moved_into_another_area_goes_to_that_station_and_both_boards_hear(coded):
    i = make_incident(coded)
    assert i.org_id == coded.station_a1.pk
    with capture_broadcasts() as sent:
        r = correct(coded.duty, i, address="新华路1号", lat=30.3001, lon=120.2001, reason="地址有误")
    assert r.status_code == 200 and r.json()["org"] == coded.station_a2.pk
    fields = set(Correction.objects.filter(incident=i).values_list("field", flat=True))
    assert fields == {"address", "position", "org"}
    assert unmet_dispatch_clock(i).org_id == coded.station_a2.pk
    groups = {s["group"] for s in sent if s["event"] == "incident.updated"}
    assert any(str(coded.station_a1.pk) in g for g in groups) and any(str(coded.station_a2.pk) in g for g in groups)


def test_a_dispatched_call_keeps_its_station_when_its_position_is_corrected(coded, car):
    i = make_incident(coded)
    dispatch(coded, i, unit=car)
    r = correct(coded.duty, i, lat=30.3001, lon=120.2001, reason="定位偏差")
    assert r.status_code == 200 and r.json()["org"] == coded.station_a1.pk


def test_a_station_corrects_its_own_incident_but_not_another_areas(coded):
    i = make_incident(coded)
    assert correct(coded.station_a1_officer, i, level=2, reason="现场核实").status_code == 200
    assert correct(coded.station_b1_officer, i, level=1, reason="x").status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"level": 1}, "reason"),
        ({"level": 1, "reason": "   "}, "reason"),
        ({"level": 3, "reason": "同原值"}, "reason"),  # nothing differs
        ({"level": 5, "reason": "x"}, "level"),
        ({"category": "999999", "reason": "x"}, "category"),
        ({"lat": 30.3, "reason": "x"}, "lon"),
        ({"address": "路" * 201, "reason": "x"}, "address"),
        ({"level": 1, "reason": "x", "org": 1}, "org"),  # unknown fields are refused, not ignored
    ],
)
def test_bad_corrections_are_refused_with_the_field_named(coded, body, field):
    i = make_incident(coded)
    r = correct(coded.duty, i, **body)
    assert r.status_code == 400 and field in r.json(), r.json()
    assert not Correction.objects.filter(incident=i).exists()


def test_a_merged_incident_cannot_be_corrected(coded):
    master, dup = make_incident(coded), make_incident(coded)
    incident_services.incident_merge(incident_id=dup.pk, actor=coded.duty, into_id=master.pk)
    r = correct(coded.duty, dup, level=1, reason="x")
    assert r.status_code == 409


# --- 撤派 / 改派 ------------------------------------------------------------------------------------------


def test_reassign_calls_the_order_off_and_sends_another_unit_in_one_step(coded, car):
    i = make_incident(coded)
    old = dispatch(coded, i, unit=car)
    other = make_unit(coded.station_a1)
    r = api_as(coded.duty).post(
        f"/api/orders/{old.pk}/reassign/", {"unit": other.pk, "reason": "该车故障"}, format="json"
    )
    assert r.status_code == 201, r.json()
    new = DispatchOrder.objects.get(pk=r.json()["id"])
    assert r.json()["replaces"] == old.pk and new.replaces_id == old.pk
    old = reload(old)
    assert old.state == "cancelled" and old.cancel_reason == "该车故障"
    assert reload(car).status == Unit.Status.AVAILABLE and reload(other).status == Unit.Status.EN_ROUTE
    assert new.kind == DispatchOrder.Kind.FIRST and reload(i).state == "dispatched"
    # The call never waited in between: no dispatch clock ran again.
    assert dispatch_clocks(i).count() == 1


def test_reassign_to_a_station_and_the_refusals(coded, car):
    i = make_incident(coded)
    old = dispatch(coded, i, unit=car)
    post = api_as(coded.duty).post
    assert post(f"/api/orders/{old.pk}/reassign/", {"unit": car.pk, "reason": "x"}, format="json").status_code == 400
    assert post(f"/api/orders/{old.pk}/reassign/", {"unit": car.pk}, format="json").json()["reason"]
    both = {"unit": car.pk, "org": coded.station_a2.pk, "reason": "x"}
    assert post(f"/api/orders/{old.pk}/reassign/", both, format="json").status_code == 400
    r = post(f"/api/orders/{old.pk}/reassign/", {"org": coded.station_a2.pk, "reason": "跨辖区"}, format="json")
    assert r.status_code == 201 and r.json()["org"] == coded.station_a2.pk and r.json()["unit"] is None
    # Once on scene, an order is not called off (409), nor reassigned.
    o2 = dispatch(coded, i, unit=make_unit(coded.station_a1))
    services.order_sign(order_id=o2.pk, actor=coded.station_a1_officer)
    services.order_arrive(order_id=o2.pk, actor=coded.station_a1_officer)
    third = make_unit(coded.station_a1)
    assert post(f"/api/orders/{o2.pk}/reassign/", {"unit": third.pk, "reason": "x"}, format="json").status_code == 409
    assert reload(third).status == Unit.Status.AVAILABLE  # nothing half-done


def test_calling_off_the_last_order_puts_the_call_back_on_its_dispatch_clock(coded, car):
    i = make_incident(coded, level=1)
    o = dispatch(coded, i, unit=car)
    assert not clocks.unmet_for(i).filter(kind=CLOCK_DISPATCH).exists()
    before = timezone.now()
    services.order_cancel(order_id=o.pk, actor=coded.duty, reason="派错车")
    d = unmet_dispatch_clock(i)
    assert d.started_at >= before and before + timedelta(seconds=60) <= d.due_at <= d.started_at + timedelta(seconds=60)
    rows = api_as(coded.duty).get("/api/board/").json()["incidents"]
    assert [r["id"] for r in rows][:1] == [i.pk]
    # The next order meets it.
    dispatch(coded, i, unit=make_unit(coded.station_a1))
    assert reload(d).met_at is not None


def test_a_station_sending_back_the_only_order_puts_the_call_back_on_its_clock(coded, car):
    i = make_incident(coded)
    o = dispatch(coded, i, unit=car)
    services.order_return(order_id=o.pk, actor=coded.station_a1_officer, reason="不属本所")
    assert unmet_dispatch_clock(i)


def test_calling_off_one_of_two_orders_or_after_a_signature_does_not(coded, car):
    i = make_incident(coded)
    a = dispatch(coded, i, unit=car)
    b = dispatch(coded, i, unit=make_unit(coded.station_a1))
    services.order_cancel(order_id=a.pk, actor=coded.duty, reason="多派")
    assert not clocks.unmet_for(i).filter(kind=CLOCK_DISPATCH).exists()
    services.order_sign(order_id=b.pk, actor=coded.station_a1_officer)
    services.order_cancel(order_id=b.pk, actor=coded.duty, reason="已化解")
    assert not clocks.unmet_for(i).filter(kind=CLOCK_DISPATCH).exists()  # responding: someone has it


# --- Merge by number ------------------------------------------------------------------------------------


def test_merge_by_the_number_a_person_reads(coded):
    master, dup = make_incident(coded), make_incident(coded)
    post = api_as(coded.duty).post
    r = post(f"/api/incidents/{dup.pk}/merge/", {"into_number": master.number}, format="json")
    assert r.status_code == 200 and r.json()["state"] == "merged" and r.json()["merged_into"] == master.pk
    other = make_incident(coded)
    r = post(f"/api/incidents/{other.pk}/merge/", {"into_number": "99999"}, format="json")
    assert r.status_code == 400 and "into_number" in r.json()
    assert post(f"/api/incidents/{other.pk}/merge/", {}, format="json").status_code == 400
