"""Supervision's state table: the review of a feedback form (反馈审核) — data, checked by `next_state`.

`new` (no review yet) → `accepted`, or `returned` (整改, with a note) → `rectified` (the station's answer) →
`accepted`, or `returned` again (another round). `accepted` is final: an accepted feedback is neither
reviewed nor rectified again (409).
"""

from __future__ import annotations

from command_center.models import Role
from command_center.transitions import Table

from .models import FeedbackReview


class Event:
    ACCEPT = "accept"
    RETURN = "return"
    RECTIFY = "rectify"


R = FeedbackReview.State
# A feedback nobody has reviewed yet: its review row does not exist.
NEW = ""

FEEDBACK_REVIEW: Table = {
    NEW: {Event.ACCEPT: R.ACCEPTED, Event.RETURN: R.RETURNED},
    R.RETURNED: {Event.RECTIFY: R.RECTIFIED},
    R.RECTIFIED: {Event.ACCEPT: R.ACCEPTED, Event.RETURN: R.RETURNED},
    R.ACCEPTED: {},
}

# Who reviews (supervisors), and who answers a return: the filing org's own people.
REVIEW_ROLES = [Role.SUPERVISOR]
RECTIFY_ROLES = [Role.STATION_OFFICER, Role.DUTY_OFFICER, Role.COMMANDER]
