"""The incident and diversion state tables: data, checked by `next_state` (pure, no database).

Events that keep the state (feedback, callback) are listed as self-loops, so one table answers "may
this happen now?" for every action, and the API's 409 lists what is allowed instead.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from command_center.transitions import Table, allowed_events, next_state

from .models import Diversion, RepeatCluster, State


class Event:
    DISPATCH = "dispatch"  # first dispatch order sent (dispatch app)
    RESPOND = "respond"  # first order signed
    ARRIVE = "arrive"  # first unit on scene
    SELF_HANDLE = "self_handle"
    DIVERT = "divert"
    INVALIDATE = "invalidate"
    MERGE = "merge"
    FEEDBACK = "feedback"
    CLEAR_SCENE = "clear_scene"
    CLOSE = "close"
    CALLBACK = "callback"
    RECTIFIED = "rectified"  # the rectification a dissatisfied callback opened was approved (the loop)
    PARTNER_DONE = "partner_done"  # the partner completed a diversion: the incident closes
    PARTNER_RETURNED = "partner_returned"  # the partner sent it back: the command center takes it again
    RECLASSIFY = "reclassify"  # a correction (更正 / 重新定性): services.incident_correct


R, D, RS, SH, OS, SC, C = (
    State.RECEIVED,
    State.DISPATCHED,
    State.RESPONDING,
    State.SELF_HANDLED,
    State.ON_SCENE,
    State.SCENE_CLEARED,
    State.CLOSED,
)
DIV, M, INV = State.DIVERTED, State.MERGED, State.INVALID

INCIDENT: Table = {
    R: {
        Event.DISPATCH: D,
        Event.SELF_HANDLE: SH,
        Event.DIVERT: DIV,
        Event.INVALIDATE: INV,
        Event.MERGE: M,
        Event.RECLASSIFY: R,
    },
    D: {
        Event.DISPATCH: D,  # reinforcements
        Event.RESPOND: RS,
        Event.ARRIVE: OS,  # a unit can report arrival before anyone signed on paper
        Event.MERGE: M,
        Event.FEEDBACK: D,
        Event.RECLASSIFY: D,
    },
    RS: {
        Event.DISPATCH: RS,
        Event.RESPOND: RS,
        Event.ARRIVE: OS,
        Event.FEEDBACK: RS,
        Event.RECLASSIFY: RS,
    },
    OS: {
        Event.DISPATCH: OS,
        Event.RESPOND: OS,
        Event.ARRIVE: OS,
        Event.FEEDBACK: OS,
        Event.CLEAR_SCENE: SC,
        Event.RECLASSIFY: OS,
    },
    SC: {Event.FEEDBACK: SC, Event.CLOSE: C, Event.RECLASSIFY: SC},
    SH: {Event.FEEDBACK: SH, Event.CLOSE: C, Event.RECLASSIFY: SH},
    DIV: {Event.PARTNER_DONE: C, Event.PARTNER_RETURNED: R},
    C: {Event.CALLBACK: C, Event.FEEDBACK: C, Event.RECTIFIED: C, Event.RECLASSIFY: C},
    M: {},
    INV: {},
}

# States in which the incident still needs the command center's attention.
OPEN_STATES = [R, D, RS, OS, SC, SH, DIV]

DS = Diversion.State
DIVERSION: Table = {
    DS.PUSHED: {"accept": DS.ACCEPTED, "return": DS.RETURNED, "void": DS.VOID},
    DS.ACCEPTED: {"complete": DS.DONE, "return": DS.RETURNED, "void": DS.VOID},
    DS.RETURNED: {},
    DS.DONE: {},
    DS.VOID: {},
}


# The repeat ledger's line (挂账销号), moved by the loop (intel): put into the loop as a directive, struck off
# when its task is approved, back to open if the directive is withdrawn.
CS = RepeatCluster.Status
CLUSTER: Table = {
    CS.OPEN: {"govern": CS.GOVERNED},
    CS.GOVERNED: {"strike_off": CS.STRUCK_OFF, "reopen": CS.OPEN},
    CS.STRUCK_OFF: {},
}


def next_incident_state(state: str, event: str) -> str:
    return next_state(INCIDENT, state, event)


def next_diversion_state(state: str, event: str) -> str:
    return next_state(DIVERSION, state, event)


# What each event is called on a timeline ("东湖派出所 张三 签收"), beside the tables it moves. The first
# log row of an incident ("intake") and of a diversion ("push") are not table events but are named too.
EVENT_LABELS: dict[str, Any] = {
    "intake": _("took the call"),
    Event.DISPATCH: _("dispatched"),
    Event.RESPOND: _("signed"),
    Event.ARRIVE: _("arrived on scene"),
    Event.SELF_HANDLE: _("handled it themselves"),
    Event.DIVERT: _("diverted"),
    Event.INVALIDATE: _("marked it invalid"),
    Event.MERGE: _("merged it"),
    Event.FEEDBACK: _("reported back"),
    Event.CLEAR_SCENE: _("cleared the scene"),
    Event.CLOSE: _("closed"),
    Event.CALLBACK: _("called the caller back"),
    Event.RECTIFIED: _("rectified"),
    Event.PARTNER_DONE: _("finished (partner)"),
    Event.PARTNER_RETURNED: _("sent back (partner)"),
    Event.RECLASSIFY: _("corrected"),
}
DIVERSION_EVENT_LABELS: dict[str, Any] = {
    "push": _("sent to the partner"),
    "accept": _("accepted"),
    "return": _("sent back"),
    "complete": _("finished"),
    "void": _("withdrew"),
}

__all__ = [
    "CLUSTER",
    "DIVERSION",
    "DIVERSION_EVENT_LABELS",
    "EVENT_LABELS",
    "INCIDENT",
    "OPEN_STATES",
    "Event",
    "allowed_events",
    "next_diversion_state",
    "next_incident_state",
]
