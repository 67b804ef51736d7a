"""What other apps do to an incident or a line of the repeat ledger, as a consequence of their own acts.

These services TRUST THEIR CALLER: they check no role and no scope. The caller is another app's service,
which has checked the actor on its own subject (dispatch: the order; the loop: the directive or the task)
and calls in inside its own transaction. Nothing a person sends reaches here directly; a view, an API or a
task calls `incidents.services`, which checks.

The incident decides how it moves: dispatch tells it what happened to an order (sent, signed, arrived) and
the incident's table says whether it moves — a caller never names an incident's states.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from command_center import clocks, realtime, transitions

from .models import Incident, RepeatCluster, State
from .payloads import incident_payload
from .services import CLOCK_DISPATCH, CLOCK_FEEDBACK, _changed, _cluster_push, _start_dispatch_clock, sla_for
from .transitions import CLUSTER, INCIDENT, Event

# --- For the dispatch app: the incident moves with its orders -------------------------------------------


@transaction.atomic
def incident_mark_dispatched(*, incident_id: int, actor: Any, at: datetime | None = None) -> Incident:
    """An order went out. The first one moves received → dispatched, meets the dispatch clock (late if it
    broke) and starts the feedback clock; later ones (reinforcements) are logged in the state the incident
    is in, and meet a dispatch clock that runs again (incident_waiting_again). A closed, merged or invalid
    incident refuses (409)."""
    i = transitions.lock(Incident, incident_id, related=["org"])
    first = i.dispatched_at is None
    transitions.apply(i, INCIDENT, Event.DISPATCH, actor)
    clocks.meet(i, CLOCK_DISPATCH, at=at)
    if first:
        i.dispatched_at = at or timezone.now()
        clocks.start(
            i,
            CLOCK_FEEDBACK,
            due=i.dispatched_at + timedelta(seconds=sla_for(i.category_id, i.level).feedback_s),
            org=i.org,
        )
    transitions.save(i, "dispatched_at")
    _changed(i, "updated")
    return i


@transaction.atomic
def incident_waiting_again(*, incident_id: int, since: datetime) -> Incident:
    """Its last live order was called off or sent back before anyone signed: the call waits for a unit again.
    The dispatch clock runs again from `since` (a call may not wait unseen); the next order meets it. Only
    for an incident still `dispatched` (no one has signed) with no dispatch clock owed already."""
    i = transitions.lock(Incident, incident_id, related=["org"])
    if i.state != State.DISPATCHED or clocks.unmet_for(i).filter(kind=CLOCK_DISPATCH).exists():
        return i
    clock = _start_dispatch_clock(i, since=since)
    realtime.broadcast_on_commit(i.org, "incident.updated", {**incident_payload(i), "clocks": [clock]})
    return i


@transaction.atomic
def incident_mark_responding(*, incident_id: int, actor: Any, at: datetime | None = None) -> Incident:
    """An order was signed: the first signature moves dispatched → responding (已出警). Any other signature
    leaves the incident as it is (no log row, no push): one that is responding or on scene already, or one
    that has left the dispatch path — the table decides (RESPOND must lead to another state)."""
    i = transitions.lock(Incident, incident_id, related=["org"])
    if not transitions.moves(INCIDENT, i.state, Event.RESPOND):
        return i
    transitions.apply(i, INCIDENT, Event.RESPOND, actor)
    i.signed_at = i.signed_at or at or timezone.now()
    transitions.save(i, "signed_at")
    _changed(i, "updated")
    return i


@transaction.atomic
def incident_mark_on_scene(*, incident_id: int, actor: Any, at: datetime | None = None) -> Incident:
    """A unit arrived: the first arrival moves the incident to on_scene (到达现场). Any other arrival leaves
    it as it is, as for a signature (ARRIVE must lead to another state)."""
    i = transitions.lock(Incident, incident_id, related=["org"])
    if not transitions.moves(INCIDENT, i.state, Event.ARRIVE):
        return i
    transitions.apply(i, INCIDENT, Event.ARRIVE, actor)
    i.arrived_at = i.arrived_at or at or timezone.now()
    transitions.save(i, "arrived_at")
    _changed(i, "updated")
    return i


# --- For the loop (intel): a rectification done, a ledger line governed or struck off (挂账销号) --------


def incident_rectified(*, incident_id: int, actor: Any, reason: str = "") -> Incident:
    """The rectification (整改) opened by a dissatisfied callback was approved: the mark comes off. Called by
    the loop inside its own transaction (it checked the actor); a no-op when there is no mark."""
    i = transitions.lock(Incident, incident_id, related=["org"])
    if not i.needs_rectification:
        return i
    transitions.apply(i, INCIDENT, Event.RECTIFIED, actor, reason=reason)
    i.needs_rectification = False
    transitions.save(i, "needs_rectification")
    _changed(i, "updated")
    return i


@transaction.atomic
def repeat_cluster_move(*, cluster_id: int, event: str) -> RepeatCluster:
    """Move a ledger line by CLUSTER's table (govern, strike_off, reopen) inside the caller's transaction.

    Called by the intel services that own the reason (a directive issued, its task approved, withdrawn); they
    checked the actor. Locks the cluster row (never its org). A line has no version and no log: its status
    is all there is.
    """
    c = transitions.lock(RepeatCluster, cluster_id, related=["org"])
    c.status = transitions.next_state(CLUSTER, c.status, event)
    c.save(update_fields=["status"])
    _cluster_push(c)
    return c


__all__ = [
    "incident_mark_dispatched",
    "incident_mark_on_scene",
    "incident_mark_responding",
    "incident_rectified",
    "incident_waiting_again",
    "repeat_cluster_move",
]
