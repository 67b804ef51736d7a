"""The order and unit state tables, checked without a database: every allowed move and every refused one."""

import pytest

from command_center.transitions import InvalidTransition
from dispatch.models import DispatchOrder, Unit
from dispatch.transitions import (
    MANUAL_EVENTS,
    ORDER,
    UNIT,
    Event,
    UnitEvent,
    next_order_state,
    next_unit_status,
)

ORDER_EVENTS = sorted(v for k, v in vars(Event).items() if k.isupper())
UNIT_EVENTS = sorted(v for k, v in vars(UnitEvent).items() if k.isupper())


def test_every_state_has_a_row():
    assert set(ORDER) == {s.value for s in DispatchOrder.State}
    assert set(UNIT) == {s.value for s in Unit.Status}


@pytest.mark.parametrize("state", [s.value for s in DispatchOrder.State])
@pytest.mark.parametrize("event", ORDER_EVENTS)
def test_every_order_state_and_event(state, event):
    allowed = ORDER[state]
    if event in allowed:
        assert next_order_state(state, event) == allowed[event]
    else:
        with pytest.raises(InvalidTransition) as exc:
            next_order_state(state, event)
        assert exc.value.state == state and exc.value.allowed == sorted(allowed)


@pytest.mark.parametrize("status", [s.value for s in Unit.Status])
@pytest.mark.parametrize("event", UNIT_EVENTS)
def test_every_unit_status_and_event(status, event):
    allowed = UNIT[status]
    if event in allowed:
        assert next_unit_status(status, event) == allowed[event]
    else:
        with pytest.raises(InvalidTransition):
            next_unit_status(status, event)


def test_the_main_path():
    s: str = DispatchOrder.State.SENT
    for event, expected in [
        (Event.DELIVER, "delivered"),
        (Event.SIGN, "signed"),
        (Event.ARRIVE, "arrived"),
        (Event.DONE, "done"),
    ]:
        s = next_order_state(s, event)
        assert s == expected


def test_ends_are_final():
    for final in ("done", "returned", "cancelled"):
        assert ORDER[final] == {}


def test_a_return_comes_before_the_signature_and_a_cancel_before_arrival():
    assert Event.RETURN not in ORDER["signed"] and Event.RETURN in ORDER["delivered"]
    assert Event.CANCEL in ORDER["signed"] and Event.CANCEL not in ORDER["arrived"]


def test_a_unit_with_a_live_order_moves_only_with_it():
    for status in ("en_route", "on_scene"):
        assert not set(UNIT[status]) & set(MANUAL_EVENTS)


def test_manual_events_lead_to_the_status_they_name():
    for row in UNIT.values():
        for event, to in row.items():
            if event in MANUAL_EVENTS:
                assert to == event
