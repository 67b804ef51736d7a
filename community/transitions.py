"""The volunteer report's state table — data, checked by `next_state` (pure, no database).

`submitted` → one triage outcome: `incident` (an incident was made of it), `tasked` (a directive went to the
community), `forwarded` (to a community or partner org), `closed` (with a reason). Every outcome is final: a
second triage of the same report is a 409.
"""

from __future__ import annotations

from command_center.transitions import Table

from .models import VolunteerReport


class Event:
    SUBMIT = "submit"
    MAKE_INCIDENT = "make_incident"
    TASK = "task"
    FORWARD = "forward"
    CLOSE = "close"


S = VolunteerReport.State

REPORT: Table = {
    S.SUBMITTED: {
        Event.MAKE_INCIDENT: S.INCIDENT,
        Event.TASK: S.TASKED,
        Event.FORWARD: S.FORWARDED,
        Event.CLOSE: S.CLOSED,
    },
    S.INCIDENT: {},
    S.TASKED: {},
    S.FORWARDED: {},
    S.CLOSED: {},
}

TRIAGE_EVENTS = [Event.MAKE_INCIDENT, Event.TASK, Event.FORWARD, Event.CLOSE]
