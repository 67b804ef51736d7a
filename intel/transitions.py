"""The loop's state tables: analysis, directive and task — data, checked by `next_state` (pure, no database).

Task: `issued → signed → in_progress → reported → approved`, or `returned` (the reviewer sends the report
back with a reason) → `in_progress` again (rework), or `withdrawn` when every directive it carried was
withdrawn. `merge` (another directive of the same subject joins) keeps the state, so it is listed as a
self-loop in every open state: one table answers "may this happen now?" for every action.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from command_center.models import Role
from command_center.transitions import Table, allowed_events, next_state

from .models import Analysis, Directive, Task


class Event:
    ISSUE = "issue"
    SIGN = "sign"
    START = "start"
    REPORT = "report"
    APPROVE = "approve"
    RETURN = "return"
    MERGE = "merge"
    WITHDRAW = "withdraw"
    CLOSE = "close"
    PUBLISH = "publish"
    EDIT = "edit"


T = Task.State

TASK: Table = {
    T.ISSUED: {Event.SIGN: T.SIGNED, Event.MERGE: T.ISSUED, Event.WITHDRAW: T.WITHDRAWN},
    T.SIGNED: {Event.START: T.IN_PROGRESS, Event.MERGE: T.SIGNED, Event.WITHDRAW: T.WITHDRAWN},
    T.IN_PROGRESS: {Event.REPORT: T.REPORTED, Event.MERGE: T.IN_PROGRESS, Event.WITHDRAW: T.WITHDRAWN},
    T.REPORTED: {
        Event.APPROVE: T.APPROVED,
        Event.RETURN: T.RETURNED,
        Event.MERGE: T.REPORTED,
        Event.WITHDRAW: T.WITHDRAWN,
    },
    T.RETURNED: {Event.START: T.IN_PROGRESS, Event.MERGE: T.RETURNED, Event.WITHDRAW: T.WITHDRAWN},
    T.APPROVED: {},
    T.WITHDRAWN: {},
}

# What the station does (sign, start, report) and what the reviewer does (approve, return).
STATION_EVENTS = [Event.SIGN, Event.START, Event.REPORT]
REVIEW_EVENTS = [Event.APPROVE, Event.RETURN]
# And who: the recipient's own people sign, start and report (a station's officers; a county's duty officers
# when the county is the recipient) — not someone above them on their behalf; supervisors review.
RECIPIENT_ROLES = [Role.STATION_OFFICER, Role.DUTY_OFFICER, Role.COMMANDER]
REVIEW_ROLES = [Role.SUPERVISOR]
# What a person may do to a task, and so what a refusal (409) offers: not the system's moves (merge) nor the
# issuer's (withdraw, which acts on the directive).
PEOPLE_EVENTS = [*STATION_EVENTS, *REVIEW_EVENTS]

D = Directive.State

DIRECTIVE: Table = {
    D.ISSUED: {Event.CLOSE: D.CLOSED, Event.WITHDRAW: D.WITHDRAWN},
    D.CLOSED: {},
    D.WITHDRAWN: {},
}

A = Analysis.State

ANALYSIS: Table = {
    A.DRAFT: {Event.EDIT: A.DRAFT, Event.PUBLISH: A.PUBLISHED},
    A.PUBLISHED: {},
}


def next_task_state(state: str, event: str) -> str:
    return next_state(TASK, state, event)


def next_directive_state(state: str, event: str) -> str:
    return next_state(DIRECTIVE, state, event)


def next_analysis_state(state: str, event: str) -> str:
    return next_state(ANALYSIS, state, event)


# What each task event is called on a timeline ("东湖派出所 张三 签收"), beside the table.
TASK_EVENT_LABELS: dict[str, Any] = {
    Event.ISSUE: _("issued"),
    Event.SIGN: _("signed"),
    Event.START: _("started"),
    Event.REPORT: _("reported"),
    Event.APPROVE: _("approved the report"),
    Event.RETURN: _("returned the report"),
    Event.MERGE: _("merged a directive"),
    Event.WITHDRAW: _("withdrew"),
}

__all__ = [
    "ANALYSIS",
    "DIRECTIVE",
    "PEOPLE_EVENTS",
    "RECIPIENT_ROLES",
    "REVIEW_EVENTS",
    "REVIEW_ROLES",
    "STATION_EVENTS",
    "TASK",
    "TASK_EVENT_LABELS",
    "Event",
    "allowed_events",
    "next_analysis_state",
    "next_directive_state",
    "next_task_state",
]
