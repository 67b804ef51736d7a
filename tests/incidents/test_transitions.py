"""The state tables, checked without a database: every allowed move and every refused one."""

import pytest

from command_center.transitions import InvalidTransition
from incidents.models import Diversion, State
from incidents.transitions import DIVERSION, INCIDENT, Event, next_diversion_state, next_incident_state

ALL_EVENTS = sorted({e for row in INCIDENT.values() for e in row} | {v for k, v in vars(Event).items() if k.isupper()})


@pytest.mark.parametrize("state", [s.value for s in State])
@pytest.mark.parametrize("event", ALL_EVENTS)
def test_every_incident_state_and_event(state, event):
    allowed = INCIDENT[state]
    if event in allowed:
        assert next_incident_state(state, event) == allowed[event]
    else:
        with pytest.raises(InvalidTransition) as exc:
            next_incident_state(state, event)
        assert exc.value.allowed == sorted(allowed)


def test_the_main_path_follows_the_national_codes():
    s: str = State.RECEIVED
    for event, expected in [
        (Event.DISPATCH, State.DISPATCHED),
        (Event.RESPOND, State.RESPONDING),
        (Event.ARRIVE, State.ON_SCENE),
        (Event.CLEAR_SCENE, State.SCENE_CLEARED),
        (Event.CLOSE, State.CLOSED),
    ]:
        s = next_incident_state(s, event)
        assert s == expected


def test_exits_are_final():
    for final in (State.MERGED, State.INVALID):
        assert INCIDENT[final] == {}


@pytest.mark.parametrize("state", [s.value for s in Diversion.State])
@pytest.mark.parametrize("event", ["accept", "return", "complete", "void"])
def test_every_diversion_state_and_event(state, event):
    allowed = DIVERSION[state]
    if event in allowed:
        assert next_diversion_state(state, event) == allowed[event]
    else:
        with pytest.raises(InvalidTransition):
            next_diversion_state(state, event)
