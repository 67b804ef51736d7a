"""Dispatch orders through the services and the API: the path, the incident and the unit moving with it,
the clocks, the pushes, who may act, what is refused."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from command_center import clocks
from command_center.models import Deadline, Role
from command_center.transitions import InvalidTransition
from dispatch import services
from dispatch.models import DispatchOrder, OrderTransition, Unit, UnitTransition
from incidents import services as incident_services
from incidents.models import Incident, SlaPolicy
from tests.conftest import capture_broadcasts
from tests.factories import make_person

from .conftest import api_as, dispatch, make_incident, make_unit


def post(client, order, action, body=None):
    return client.post(f"/api/orders/{order.pk}/{action}/", body or {}, format="json")


def reload(obj):
    return type(obj).objects.get(pk=obj.pk)


def open_clock(order, kind):
    return clocks.open_for(order).filter(kind=kind).first()


def lineage_groups(world, station):
    return [f"org.{world.city.pk}", f"org.{world.county_a.pk}", f"org.{station.pk}"]


# --- Dispatch -------------------------------------------------------------------------------------------


def test_dispatch_to_a_unit_through_the_api(duty, coded, incident, car):
    r = duty.post(f"/api/incidents/{incident.pk}/dispatch/", {"unit": car.pk, "note": "速到现场"}, format="json")
    assert r.status_code == 201, r.json()
    body = r.json()
    assert body["state"] == "sent" and body["version"] == 1 and body["kind"] == "first"
    assert body["org"] == coded.station_a1.pk  # addressed to the unit's station
    assert body["unit"]["id"] == car.pk and body["unit"]["status"] == "en_route"
    assert body["dispatcher"]["username"] == "duty"
    assert body["incident"]["number"] == incident.number and "caller_phone" not in body["incident"]
    assert body["allowed"] == ["cancel", "deliver", "return", "sign"]
    assert body["ring_minutes"] == 3 and body["note"] == "速到现场"
    order = DispatchOrder.objects.get(pk=body["id"])
    assert order.sign_due_at == order.sent_at + timedelta(seconds=30)
    assert reload(incident).state == "dispatched" and reload(incident).dispatched_at
    assert reload(car).status == "en_route"
    assert list(order.transitions.values_list("from_state", "to_state", "event")) == [("", "sent", "send")]
    assert list(UnitTransition.objects.filter(subject=car).values_list("from_state", "to_state", "event")) == [
        ("available", "en_route", "dispatch")
    ]
    sign = open_clock(order, "dispatch.sign")
    assert sign.due_at == order.sign_due_at and sign.org_id == coded.station_a1.pk


def test_dispatch_to_a_station(duty, coded, incident):
    r = duty.post(f"/api/incidents/{incident.pk}/dispatch/", {"org": coded.station_a2.pk}, format="json")
    assert r.status_code == 201
    body = r.json()
    assert body["org"] == coded.station_a2.pk and body["unit"] is None and body["ring_minutes"] is None


def test_later_orders_are_reinforcements_and_each_is_on_the_incidents_log(coded, incident, car):
    first = dispatch(coded, incident, unit=car)
    second = dispatch(coded, incident, org=coded.station_a2)
    assert (first.kind, second.kind) == ("first", "reinforcement")
    assert [t.event for t in reload(incident).transitions.all()] == ["intake", "dispatch", "dispatch"]
    # A returned first order leaves the next one first again.
    other = make_incident(coded)
    returned = dispatch(coded, other, org=coded.station_a1)
    services.order_return(order_id=returned.pk, actor=coded.station_a1_officer, reason="不属本所")
    assert dispatch(coded, other, org=coded.station_a1).kind == "first"


def test_dispatch_pushes_the_incident_the_unit_and_the_order(coded, incident, car):
    with capture_broadcasts() as sent:
        order = dispatch(coded, incident, unit=car)
    groups = lineage_groups(coded, coded.station_a1)
    assert [(m["group"], m["event"]) for m in sent] == [
        *((g, "incident.updated") for g in groups),
        *((g, "unit.updated") for g in groups),
        *((g, "order.sent") for g in groups),
    ]
    data = sent[-1]["data"]
    assert data["id"] == order.pk and data["version"] == 1 and data["state"] == "sent"
    assert data["incident"]["number"] == incident.number and data["unit_call_sign"] == car.call_sign
    assert sent[3]["data"]["status"] == "en_route" and sent[3]["data"]["version"] == 2
    assert "13800138000" not in json.dumps([m["data"] for m in sent])


# --- The path -------------------------------------------------------------------------------------------


def test_the_whole_path_moves_the_incident_and_the_unit(coded, duty, station, order, incident, car):
    r = post(station, order, "deliver")
    assert r.status_code == 200 and r.json()["state"] == "delivered" and r.json()["version"] == 2
    assert reload(incident).state == "dispatched"
    r = post(station, order, "sign")
    assert r.json()["state"] == "signed" and r.json()["signed_by"]["username"] == "station1"
    assert reload(incident).state == "responding"
    assert reload(car).status == "en_route"
    r = post(station, order, "arrive")
    assert r.json()["state"] == "arrived"
    assert reload(incident).state == "on_scene" and reload(car).status == "on_scene"
    r = post(station, order, "done", {"note": "已调解"})
    assert r.json()["state"] == "done" and r.json()["version"] == 5 and r.json()["allowed"] == []
    assert reload(car).status == "available"
    o = reload(order)
    times = [o.sent_at, o.delivered_at, o.signed_at, o.arrived_at, o.done_at]
    assert all(times) and times == sorted(times)
    assert list(o.transitions.values_list("to_state", flat=True)) == ["sent", "delivered", "signed", "arrived", "done"]
    assert [t.event for t in o.transitions.all()][-1] == "done" and o.transitions.last().reason == "已调解"
    assert list(UnitTransition.objects.filter(subject=car).values_list("to_state", flat=True)) == [
        "en_route",
        "on_scene",
        "available",
    ]
    i = reload(incident)
    assert [t.to_state for t in i.transitions.all()] == ["received", "dispatched", "responding", "on_scene"]
    assert i.signed_at == o.signed_at and i.arrived_at == o.arrived_at
    assert reload(car).version == 4  # dispatch, arrive, release


def test_signing_straight_from_sent_stamps_delivery(coded, station, order):
    r = post(station, order, "sign")
    assert r.status_code == 200
    o = reload(order)
    assert o.delivered_at == o.signed_at


def test_only_the_first_signature_and_arrival_move_the_incident(coded, incident, car):
    first = dispatch(coded, incident, unit=car)
    second = dispatch(coded, incident, unit=make_unit(coded.station_a1))
    officer = coded.station_a1_officer
    services.order_sign(order_id=first.pk, actor=officer)
    services.order_sign(order_id=second.pk, actor=officer)
    services.order_arrive(order_id=second.pk, actor=officer)
    services.order_arrive(order_id=first.pk, actor=officer)
    events = [t.event for t in reload(incident).transitions.all()]
    assert events == ["intake", "dispatch", "dispatch", "respond", "arrive"]


def test_a_late_signature_on_a_cleared_incident_leaves_it_alone(coded, incident, car):
    first = dispatch(coded, incident, unit=car)
    late = dispatch(coded, incident, org=coded.station_a2)
    officer = coded.station_a1_officer
    services.order_sign(order_id=first.pk, actor=officer)
    services.order_arrive(order_id=first.pk, actor=officer)
    incident_services.incident_clear_scene(incident_id=incident.pk, actor=officer)
    a2 = api_as(_station_a2_officer(coded))
    assert post(a2, late, "sign").status_code == 200
    assert reload(incident).state == "scene_cleared"


def _station_a2_officer(world):
    return make_person("station_a2", world.station_a2, Role.STATION_OFFICER)


def test_return_needs_a_reason_frees_the_unit_and_stops_the_clock(coded, station, order, car):
    assert post(station, order, "return").status_code == 400
    assert post(station, order, "return", {"reason": "  "}).status_code == 400
    r = post(station, order, "return", {"reason": "不属本所辖区"})
    assert r.status_code == 200 and r.json()["state"] == "returned" and r.json()["return_reason"] == "不属本所辖区"
    assert reload(car).status == "available"
    assert not clocks.open_for(order).exists()
    assert Deadline.objects.get(subject_id=order.pk, kind="dispatch.sign").cancelled_at


def test_cancel_by_the_command_center_frees_the_unit(coded, duty, station, order, car):
    post(station, order, "sign")
    assert post(station, order, "cancel", {"reason": "x"}).status_code == 403  # a station does not cancel
    assert post(duty, order, "cancel").json()["reason"]  # 撤派 says why
    assert post(duty, order, "cancel", {"reason": "  "}).status_code == 400
    r = post(duty, order, "cancel", {"reason": "警情已化解"})
    assert r.status_code == 200 and r.json()["state"] == "cancelled" and r.json()["cancel_reason"] == "警情已化解"
    assert reload(car).status == "available"
    assert not clocks.open_for(order).exists()


def test_the_command_center_may_record_arrival_and_done_on_the_units_behalf(coded, duty, station, order):
    post(station, order, "sign")
    assert post(duty, order, "sign").status_code == 403  # signing is the station's own act
    r = post(duty, order, "arrive")
    assert r.status_code == 200
    assert reload(order).transitions.last().actor == coded.duty
    assert post(duty, order, "done").status_code == 200


def test_the_command_center_does_not_sign_or_return_for_a_station(coded, duty, order):
    assert post(duty, order, "sign").status_code == 403
    assert post(duty, order, "return", {"reason": "x"}).status_code == 403
    assert post(duty, order, "deliver").status_code == 403
    assert reload(order).state == "sent"


# --- Every transition through the services --------------------------------------------------------------

SERVICE = {
    "deliver": lambda w, o: services.order_deliver(order_id=o.pk, actor=w.station_a1_officer),
    "sign": lambda w, o: services.order_sign(order_id=o.pk, actor=w.station_a1_officer),
    "arrive": lambda w, o: services.order_arrive(order_id=o.pk, actor=w.station_a1_officer),
    "done": lambda w, o: services.order_done(order_id=o.pk, actor=w.station_a1_officer),
    "return": lambda w, o: services.order_return(order_id=o.pk, actor=w.station_a1_officer, reason="r"),
    "cancel": lambda w, o: services.order_cancel(order_id=o.pk, actor=w.duty, reason="r"),
}
PATH_TO = {
    "sent": [],
    "delivered": ["deliver"],
    "signed": ["sign"],
    "arrived": ["sign", "arrive"],
    "done": ["sign", "arrive", "done"],
    "returned": ["return"],
    "cancelled": ["cancel"],
}
EXPECTED = {
    ("sent", "deliver"): "delivered",
    ("sent", "sign"): "signed",
    ("sent", "return"): "returned",
    ("sent", "cancel"): "cancelled",
    ("delivered", "sign"): "signed",
    ("delivered", "return"): "returned",
    ("delivered", "cancel"): "cancelled",
    ("signed", "arrive"): "arrived",
    ("signed", "cancel"): "cancelled",
    ("arrived", "done"): "done",
}


@pytest.mark.parametrize("state", list(PATH_TO))
@pytest.mark.parametrize("event", list(SERVICE))
def test_every_order_transition_through_its_service(coded, incident, car, state, event):
    order = dispatch(coded, incident, unit=car)
    for step in PATH_TO[state]:
        SERVICE[step](coded, order)
    assert reload(order).state == state
    expected = EXPECTED.get((state, event))
    if expected:
        assert SERVICE[event](coded, order).state == expected
        assert reload(order).state == expected
        unit_status = {"arrived": "on_scene", "done": "available", "returned": "available", "cancelled": "available"}
        assert reload(car).status == unit_status.get(expected, "en_route")
    else:
        version = reload(order).version
        with pytest.raises(InvalidTransition) as exc:
            SERVICE[event](coded, order)
        assert exc.value.state == state
        assert reload(order).version == version  # nothing written


def test_a_refused_action_is_a_409_with_what_is_allowed(coded, station, order):
    post(station, order, "sign")
    r = post(station, order, "sign")
    assert r.status_code == 409
    assert r.json()["state"] == "signed" and r.json()["allowed"] == ["arrive", "cancel"] and r.json()["detail"]
    assert post(station, order, "done").status_code == 409
    assert post(station, order, "return", {"reason": "x"}).status_code == 409


# --- Dispatch refused -----------------------------------------------------------------------------------


def test_a_unit_that_is_not_available_is_refused_with_its_status(coded, duty, incident, car):
    for status in ("busy", "off_duty", "out_of_service"):
        Unit.objects.filter(pk=car.pk).update(status=status)
        r = duty.post(f"/api/incidents/{incident.pk}/dispatch/", {"unit": car.pk}, format="json")
        assert r.status_code == 409 and r.json()["state"] == status
    assert not DispatchOrder.objects.exists()
    assert reload(incident).state == "received"  # the whole dispatch rolled back


def test_a_unit_carries_one_live_order(coded, duty, incident, car):
    dispatch(coded, incident, unit=car)
    r = duty.post(f"/api/incidents/{make_incident(coded).pk}/dispatch/", {"unit": car.pk}, format="json")
    assert r.status_code == 409 and r.json()["state"] == "en_route"


def test_a_closed_or_invalid_incident_takes_no_orders(coded, duty, incident, car):
    incident_services.incident_invalidate(incident_id=incident.pk, actor=coded.duty, reason="误拨")
    r = duty.post(f"/api/incidents/{incident.pk}/dispatch/", {"unit": car.pk}, format="json")
    assert r.status_code == 409 and r.json()["state"] == "invalid"
    assert reload(car).status == "available"


@pytest.mark.parametrize(
    "body, fields",
    [
        ({}, {"unit", "org"}),
        ({"unit": None, "org": None}, {"unit", "org"}),
        ("both", {"unit", "org"}),
        ({"unit": "x"}, {"unit"}),
        ({"unit": 0}, {"unit"}),
        ({"unit": 1, "colour": "red", "priority": 1}, {"colour", "priority"}),
        ({"org": 1, "note": "x" * 2001}, {"note"}),
    ],
)
def test_bad_dispatch_input_is_named(coded, duty, incident, car, body, fields):
    if body == "both":
        body = {"unit": car.pk, "org": coded.station_a1.pk}
    r = duty.post(f"/api/incidents/{incident.pk}/dispatch/", body, format="json")
    assert r.status_code == 400 and set(r.json()) == fields, r.json()
    assert not DispatchOrder.objects.exists()


def test_targets_outside_the_area_or_of_the_wrong_kind_are_refused(coded, incident, car):
    county_a = api_as(coded.county_a_duty)
    b_unit = make_unit(coded.station_b1, at=(30.25, 120.10))
    for body, field in [
        ({"unit": b_unit.pk}, "unit"),
        ({"unit": 999999}, "unit"),
        ({"org": coded.station_b1.pk}, "org"),
        ({"org": 999999}, "org"),
    ]:
        r = county_a.post(f"/api/incidents/{incident.pk}/dispatch/", body, format="json")
        assert r.status_code == 400 and list(r.json()) == [field], (body, r.json())
    duty = api_as(coded.duty)
    for org in (coded.partner, coded.county_a, coded.city):
        r = duty.post(f"/api/incidents/{incident.pk}/dispatch/", {"org": org.pk}, format="json")
        assert r.status_code == 400 and "org" in r.json()
    assert not DispatchOrder.objects.exists()


def test_who_may_dispatch(coded, incident, car):
    for user in (coded.station_a1_officer, coded.analyst, coded.supervisor):
        r = api_as(user).post(f"/api/incidents/{incident.pk}/dispatch/", {"unit": car.pk}, format="json")
        assert r.status_code == 403, user
    assert (
        api_as(coded.commander)
        .post(f"/api/incidents/{incident.pk}/dispatch/", {"unit": car.pk}, format="json")
        .status_code
        == 201
    )


def test_an_incident_outside_the_area_is_a_404(coded, incident, car):
    other = api_as(coded.station_b1_officer)
    assert other.post(f"/api/incidents/{incident.pk}/dispatch/", {"unit": car.pk}, format="json").status_code == 404
    missing = api_as(coded.duty).post("/api/incidents/999999/dispatch/", {"unit": car.pk}, format="json")
    assert missing.status_code == 404


# --- Scope ----------------------------------------------------------------------------------------------


def test_another_station_cannot_see_or_sign_the_order(coded, order):
    b = api_as(coded.station_b1_officer)
    assert b.get(f"/api/orders/{order.pk}/").status_code == 404
    for action in ("deliver", "sign", "arrive", "done", "cancel"):
        assert post(b, order, action).status_code == 404
    assert post(b, order, "return", {"reason": "x"}).status_code == 404
    assert b.get("/api/orders/").json()["count"] == 0
    county_b_duty = make_person("county_b_duty", coded.county_b, Role.DUTY_OFFICER)
    assert api_as(county_b_duty).get("/api/orders/").json()["count"] == 0
    assert reload(order).state == "sent"


def test_the_inbox_is_the_stations_and_the_centers_above_see_it(coded, order, incident):
    a2_order = dispatch(coded, incident, org=coded.station_a2)
    assert [o["id"] for o in api_as(coded.station_a1_officer).get("/api/orders/").json()["results"]] == [order.pk]
    assert {o["id"] for o in api_as(coded.county_a_duty).get("/api/orders/").json()["results"]} == {
        order.pk,
        a2_order.pk,
    }


def test_inbox_filters(coded, duty, incident, car, station):
    first = dispatch(coded, incident, unit=car)
    second = dispatch(coded, incident, org=coded.station_a2)
    post(station, first, "sign")

    def ids(**q):
        r = duty.get("/api/orders/", q)
        assert r.status_code == 200, r.json()
        return sorted(o["id"] for o in r.json()["results"])

    assert ids(state="signed") == [first.pk]
    assert ids(state=["sent", "signed"]) == sorted([first.pk, second.pk])
    assert ids(org=coded.station_a2.pk) == [second.pk]
    assert ids(org=coded.county_a.pk) == sorted([first.pk, second.pk])
    assert ids(incident=incident.pk) == sorted([first.pk, second.pk])
    assert ids(unit=car.pk) == [first.pk]
    assert ids(kind="reinforcement") == [second.pk]
    assert ids(live="true") == sorted([first.pk, second.pk])
    assert ids(live="false") == []
    assert duty.get("/api/orders/", {"state": "bogus"}).status_code == 400


def test_order_detail_shows_no_caller_details(coded, station, order):
    body = station.get(f"/api/orders/{order.pk}/").json()
    assert body["incident"]["address"] == "东湖路12号"
    text = json.dumps(body, ensure_ascii=False)
    assert "13800138000" not in text and "张三" not in text


def test_action_bodies_refuse_unknown_fields(coded, station, order):
    r = post(station, order, "sign", {"signed_by": 1})
    assert r.status_code == 400 and set(r.json()) == {"signed_by"}
    assert reload(order).state == "sent"


# --- Clocks ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("ring, arrive_s", [(1, 60), (3, 180), (5, 300)])
def test_sign_meets_its_clock_and_starts_the_arrival_ring(coded, incident, ring, arrive_s):
    unit = make_unit(coded.station_a1, ring_minutes=ring)
    order = dispatch(coded, incident, unit=unit)
    services.order_sign(order_id=order.pk, actor=coded.station_a1_officer)
    o = reload(order)
    sign = Deadline.objects.get(subject_id=o.pk, kind="dispatch.sign")
    assert sign.met_at == o.signed_at and sign.breached_at is None
    arrive = open_clock(o, "dispatch.arrive")
    assert arrive.due_at == o.signed_at + timedelta(seconds=arrive_s) == o.arrive_due_at


def test_an_order_to_a_station_arrives_within_five_minutes(coded, incident):
    order = dispatch(coded, incident, org=coded.station_a1)
    services.order_sign(order_id=order.pk, actor=coded.station_a1_officer)
    o = reload(order)
    assert open_clock(o, "dispatch.arrive").due_at == o.signed_at + timedelta(seconds=300)


def test_arrival_meets_its_clock_and_done_meets_the_report_back(coded, order):
    officer = coded.station_a1_officer
    services.order_sign(order_id=order.pk, actor=officer)
    services.order_arrive(order_id=order.pk, actor=officer)
    o = reload(order)
    assert Deadline.objects.get(subject_id=o.pk, kind="dispatch.arrive").met_at == o.arrived_at
    feedback = open_clock(o, "dispatch.feedback")
    assert feedback.due_at == o.arrived_at + timedelta(seconds=3600) == o.feedback_due_at
    services.order_done(order_id=order.pk, actor=officer)
    assert Deadline.objects.get(subject_id=o.pk, kind="dispatch.feedback").met_at == reload(o).done_at
    assert not clocks.open_for(o).exists()


def test_the_sla_policy_sets_the_clocks(coded, incident, car):
    SlaPolicy.objects.create(name="治安 20 s", category_prefix="02", sign_s=20, arrive_s=120, feedback_s=600)
    order = dispatch(coded, incident, unit=car)
    assert order.sign_due_at == order.sent_at + timedelta(seconds=20)
    services.order_sign(order_id=order.pk, actor=coded.station_a1_officer)
    o = reload(order)
    assert o.arrive_due_at == o.signed_at + timedelta(seconds=120)


def test_a_missed_signature_is_breached_by_the_sweep_and_pushed_with_the_order(coded, duty, order, incident):
    sent = reload(order).sent_at
    assert clocks.sweep(now=sent + timedelta(seconds=29)) == 0
    with capture_broadcasts() as pushes:
        assert clocks.sweep(now=sent + timedelta(seconds=31)) == 1
    groups = lineage_groups(coded, coded.station_a1)
    # The station is reminded too (催办, supervision): to it and the boards above it.
    assert sorted((m["group"], m["event"]) for m in pushes) == sorted(
        [
            *((g, "order.overdue") for g in groups),
            *((g, "deadlines.breached") for g in groups),
            *((g, "reminder.created") for g in groups),
        ]
    )
    overdue = next(m["data"] for m in pushes if m["event"] == "order.overdue")
    assert overdue["clock"] == "dispatch.sign" and overdue["label"]
    assert overdue["order"]["id"] == order.pk and overdue["order"]["incident"]["number"] == incident.number
    breached = next(m["data"] for m in pushes if m["event"] == "deadlines.breached")
    assert breached["deadlines"][0]["subject"] == {"type": "dispatch.dispatchorder", "id": order.pk}
    assert duty.get("/api/orders/").json()["results"][0]["overdue"] == ["dispatch.sign"]
    assert duty.get(f"/api/orders/{order.pk}/").json()["overdue"] == ["dispatch.sign"]
    # Signed late: the breach stays on record, the order is no longer overdue.
    services.order_sign(order_id=order.pk, actor=coded.station_a1_officer)
    d = Deadline.objects.get(subject_id=order.pk, kind="dispatch.sign")
    assert d.breached_at and d.met_at
    assert duty.get(f"/api/orders/{order.pk}/").json()["overdue"] == []


def test_an_arrival_outside_the_ring_is_breached(coded, order):
    services.order_sign(order_id=order.pk, actor=coded.station_a1_officer)
    o = reload(order)
    assert clocks.sweep(now=o.signed_at + timedelta(seconds=179)) == 0
    assert clocks.sweep(now=o.signed_at + timedelta(seconds=181)) == 1
    assert Deadline.objects.get(subject_id=o.pk, kind="dispatch.arrive").breached_at


# --- Exact pushes ---------------------------------------------------------------------------------------


def test_signing_pushes_the_incident_then_the_order(coded, order):
    with capture_broadcasts() as sent:
        services.order_sign(order_id=order.pk, actor=coded.station_a1_officer)
    groups = lineage_groups(coded, coded.station_a1)
    assert [(m["group"], m["event"]) for m in sent] == [
        *((g, "incident.updated") for g in groups),
        *((g, "order.signed") for g in groups),
    ]
    data = sent[-1]["data"]
    assert data["state"] == "signed" and data["version"] == 2 and data["signed_by"] == "station1"
    assert data["arrive_due_at"] and data["sign_due_at"]
    assert "13800138000" not in json.dumps([m["data"] for m in sent])


def test_a_refused_action_pushes_nothing(coded, order):
    services.order_sign(order_id=order.pk, actor=coded.station_a1_officer)
    with capture_broadcasts() as sent, pytest.raises(InvalidTransition):
        services.order_sign(order_id=order.pk, actor=coded.station_a1_officer)
    assert sent == []


def test_done_pushes_the_unit_free_and_the_order(coded, order, car):
    officer = coded.station_a1_officer
    services.order_sign(order_id=order.pk, actor=officer)
    services.order_arrive(order_id=order.pk, actor=officer)
    with capture_broadcasts() as sent:
        services.order_done(order_id=order.pk, actor=officer)
    groups = lineage_groups(coded, coded.station_a1)
    assert [(m["group"], m["event"]) for m in sent] == [
        *((g, "unit.updated") for g in groups),
        *((g, "order.done") for g in groups),
    ]
    assert sent[0]["data"]["status"] == "available"


def test_every_change_bumps_the_version(coded, order):
    versions = [reload(order).version]
    for step in ("deliver", "sign", "arrive", "done"):
        SERVICE[step](coded, order)
        versions.append(reload(order).version)
    assert versions == [1, 2, 3, 4, 5]
    assert OrderTransition.objects.filter(subject=order).count() == 5


def test_the_incident_timeline_api_still_reads(coded, duty, order, incident):
    services.order_sign(order_id=order.pk, actor=coded.station_a1_officer)
    body = duty.get(f"/api/incidents/{incident.pk}/").json()
    assert body["state"] == "responding"
    assert Incident.objects.get(pk=incident.pk).signed_at is not None
    assert timezone.now() - reload(order).signed_at < timedelta(minutes=1)


def test_merging_a_dispatched_duplicate_calls_its_orders_off_and_frees_the_units(coded, duty, incident, car):
    """The duplicate leaves the queue: no station signs for it, no car drives to it, no clock runs on it."""
    master = make_incident(coded)
    order = dispatch(coded, incident, unit=car)
    returned = dispatch(coded, incident, org=coded.station_a2)
    services.order_return(
        order_id=returned.pk, actor=make_person("a2", coded.station_a2, Role.STATION_OFFICER), reason="无警力"
    )
    with capture_broadcasts() as sent:
        r = duty.post(f"/api/incidents/{incident.pk}/merge/", {"into": master.pk}, format="json")
    assert r.status_code == 200, r.content
    order, returned, car = reload(order), reload(returned), reload(car)
    assert order.state == DispatchOrder.State.CANCELLED and master.number in order.cancel_reason
    assert returned.state == DispatchOrder.State.RETURNED  # ended orders stay as they were
    assert car.status == Unit.Status.AVAILABLE
    assert not clocks.open_for(order).exists()
    assert "order.cancelled" in {m["event"] for m in sent}
    # Heard once: a second delivery of the hook changes nothing.
    assert services.orders_cancel_for_merged(incident_id=incident.pk, actor_id=coded.duty.pk) == 0
