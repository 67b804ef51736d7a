"""The report's state table, without a database."""

from __future__ import annotations

import pytest

from command_center.transitions import InvalidTransition, allowed_events, next_state
from community.models import VolunteerReport
from community.transitions import REPORT, TRIAGE_EVENTS, Event

S = VolunteerReport.State


def test_a_submitted_report_has_exactly_the_four_triage_outcomes() -> None:
    assert allowed_events(REPORT, S.SUBMITTED) == sorted(TRIAGE_EVENTS)
    assert next_state(REPORT, S.SUBMITTED, Event.MAKE_INCIDENT) == S.INCIDENT
    assert next_state(REPORT, S.SUBMITTED, Event.TASK) == S.TASKED
    assert next_state(REPORT, S.SUBMITTED, Event.FORWARD) == S.FORWARDED
    assert next_state(REPORT, S.SUBMITTED, Event.CLOSE) == S.CLOSED


@pytest.mark.parametrize("state", [S.INCIDENT, S.TASKED, S.FORWARDED, S.CLOSED])
@pytest.mark.parametrize("event", TRIAGE_EVENTS)
def test_every_outcome_is_final(state: str, event: str) -> None:
    with pytest.raises(InvalidTransition) as err:
        next_state(REPORT, state, event)
    assert err.value.allowed == []


def test_every_state_is_in_the_table() -> None:
    assert set(REPORT) == set(S.values)
