"""Races between real threads on separate database connections: one order, two signatures; one unit, two
dispatchers."""

import pytest

from command_center import codes
from command_center.models import Role
from dispatch.models import DispatchOrder, OrderTransition, Unit
from incidents.models import Incident
from tests.concurrency import parallel
from tests.conftest import build_world
from tests.factories import make_person

from .conftest import A1, api_as, dispatch, make_incident, make_unit


def _world():
    w = build_world()
    codes.load_defaults()
    from command_center.models import Org

    Org.objects.filter(pk=w.station_a1.pk).update(lat=A1[0], lon=A1[1])
    return w


@pytest.mark.django_db(transaction=True)
def test_two_officers_sign_the_same_order_at_once_exactly_one_wins():
    w = _world()
    second = make_person("station1b", w.station_a1, Role.STATION_OFFICER)
    order = dispatch(w, make_incident(w), unit=make_unit(w.station_a1))
    officers = [w.station_a1_officer, second]

    def sign(k):
        r = api_as(officers[k]).post(f"/api/orders/{order.pk}/sign/", {}, format="json")
        return r.status_code, r.json()

    results = parallel(2, sign)
    assert sorted(code for code, _ in results) == [200, 409]
    loser = next(body for code, body in results if code == 409)
    assert loser["state"] == "signed" and loser["allowed"] == ["arrive", "cancel"]
    o = DispatchOrder.objects.get(pk=order.pk)
    assert o.state == "signed" and o.version == 2
    assert OrderTransition.objects.filter(subject=o, event="sign").count() == 1
    winner = next(body for code, body in results if code == 200)
    assert winner["signed_by"]["id"] == o.signed_by_id
    assert [t.event for t in Incident.objects.get(pk=o.incident_id).transitions.all()] == [
        "intake",
        "dispatch",
        "respond",
    ]


@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_send_the_same_unit_at_once_exactly_one_wins():
    w = _world()
    unit = make_unit(w.station_a1)
    incidents = [make_incident(w), make_incident(w)]
    users = [w.duty, w.commander]

    def send(k):
        r = api_as(users[k]).post(f"/api/incidents/{incidents[k].pk}/dispatch/", {"unit": unit.pk}, format="json")
        return r.status_code

    assert sorted(parallel(2, send)) == [201, 409]
    assert DispatchOrder.objects.filter(unit=unit).count() == 1
    assert Unit.objects.get(pk=unit.pk).status == "en_route"
    states = sorted(Incident.objects.filter(pk__in=[i.pk for i in incidents]).values_list("state", flat=True))
    assert states == ["dispatched", "received"]  # the loser's incident rolled back with its order


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_", range(3))
def test_crosswise_dispatches_between_two_stations_do_not_deadlock(round_):
    """Station A1's incident gets A2's unit while A2's incident gets A1's, at the same moment: each
    transaction touches both stations' rows, and they must queue, not lock each other out."""
    w = _world()
    from command_center.models import Org

    Org.objects.filter(pk=w.station_a2.pk).update(lat=30.30, lon=120.20)
    incidents = [make_incident(w, org=w.station_a1), make_incident(w, org=w.station_a2)]
    units = [make_unit(w.station_a2), make_unit(w.station_a1)]
    users = [w.duty, w.commander]

    def send(k):
        r = api_as(users[k]).post(f"/api/incidents/{incidents[k].pk}/dispatch/", {"unit": units[k].pk}, format="json")
        return r.status_code

    assert parallel(2, send) == [201, 201]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_", range(3))
def test_crosswise_signatures_between_two_stations_do_not_deadlock(round_):
    w = _world()
    a2_officer = make_person("station_a2", w.station_a2, Role.STATION_OFFICER)
    incidents = [make_incident(w, org=w.station_a1), make_incident(w, org=w.station_a2)]
    orders = [dispatch(w, incidents[0], org=w.station_a2), dispatch(w, incidents[1], org=w.station_a1)]
    officers = [a2_officer, w.station_a1_officer]

    def sign(k):
        return api_as(officers[k]).post(f"/api/orders/{orders[k].pk}/sign/", {}, format="json").status_code

    assert parallel(2, sign) == [200, 200]
    assert set(Incident.objects.filter(pk__in=[i.pk for i in incidents]).values_list("state", flat=True)) == {
        "responding"
    }
