"""The briefing's state tables — data, checked by `next_state` (pure, no database).

Report: `draft → published`; a draft is edited and re-drafted (self-loops), a published report no longer
changes. Duty log: `open → signed`; an open log takes notes and handover text, a signed one nothing.
"""

from __future__ import annotations

from command_center.transitions import Table

from .models import DailyReport, DutyLog


class Event:
    REDRAFT = "redraft"
    EDIT = "edit"
    PUBLISH = "publish"
    NOTE = "note"
    SIGN = "sign"


R = DailyReport.State
REPORT: Table = {
    R.DRAFT: {Event.REDRAFT: R.DRAFT, Event.EDIT: R.DRAFT, Event.PUBLISH: R.PUBLISHED},
    R.PUBLISHED: {},
}

D = DutyLog.State
DUTY: Table = {
    D.OPEN: {Event.NOTE: D.OPEN, Event.EDIT: D.OPEN, Event.SIGN: D.SIGNED},
    D.SIGNED: {},
}
