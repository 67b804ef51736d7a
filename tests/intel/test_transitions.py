"""The task, directive and analysis state tables, checked without a database: every allowed move and every
refused one."""

import pytest

from command_center.transitions import InvalidTransition
from intel.models import Analysis, Directive, Task
from intel.transitions import (
    ANALYSIS,
    DIRECTIVE,
    REVIEW_EVENTS,
    STATION_EVENTS,
    TASK,
    Event,
    next_analysis_state,
    next_directive_state,
    next_task_state,
)

EVENTS = sorted(v for k, v in vars(Event).items() if k.isupper())


def test_every_state_has_a_row():
    assert set(TASK) == {s.value for s in Task.State}
    assert set(DIRECTIVE) == {s.value for s in Directive.State}
    assert set(ANALYSIS) == {s.value for s in Analysis.State}


@pytest.mark.parametrize("state", [s.value for s in Task.State])
@pytest.mark.parametrize("event", EVENTS)
def test_every_task_state_and_event(state, event):
    allowed = TASK[state]
    if event in allowed:
        assert next_task_state(state, event) == allowed[event]
    else:
        with pytest.raises(InvalidTransition) as exc:
            next_task_state(state, event)
        assert exc.value.state == state and exc.value.allowed == sorted(allowed)


@pytest.mark.parametrize("state", [s.value for s in Directive.State])
@pytest.mark.parametrize("event", EVENTS)
def test_every_directive_state_and_event(state, event):
    allowed = DIRECTIVE[state]
    if event in allowed:
        assert next_directive_state(state, event) == allowed[event]
    else:
        with pytest.raises(InvalidTransition):
            next_directive_state(state, event)


@pytest.mark.parametrize("state", [s.value for s in Analysis.State])
@pytest.mark.parametrize("event", EVENTS)
def test_every_analysis_state_and_event(state, event):
    allowed = ANALYSIS[state]
    if event in allowed:
        assert next_analysis_state(state, event) == allowed[event]
    else:
        with pytest.raises(InvalidTransition):
            next_analysis_state(state, event)


def test_the_main_path_and_the_rework_loop():
    s: str = Task.State.ISSUED
    for event, expected in [
        (Event.SIGN, "signed"),
        (Event.START, "in_progress"),
        (Event.REPORT, "reported"),
        (Event.RETURN, "returned"),
        (Event.START, "in_progress"),
        (Event.REPORT, "reported"),
        (Event.APPROVE, "approved"),
    ]:
        s = next_task_state(s, event)
        assert s == expected


def test_ends_are_final_and_open_states_take_merges_and_withdrawals():
    assert TASK["approved"] == {} and TASK["withdrawn"] == {}
    for state, row in TASK.items():
        if row:
            assert row[Event.MERGE] == state  # a merge never moves the task
            assert row[Event.WITHDRAW] == "withdrawn"


def test_only_a_reported_task_is_reviewed():
    for state, row in TASK.items():
        assert bool(set(row) & set(REVIEW_EVENTS)) == (state == "reported")
    assert set(STATION_EVENTS) == {"sign", "start", "report"}
