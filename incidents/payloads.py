"""What a push, a screen and the API say about an incident or a diversion: built from the row, never from a
write (services send these, selectors and screens read them; nothing here imports services)."""

from __future__ import annotations

from typing import Any

from command_center.models import Deadline

from .models import Diversion, Incident


def incident_payload(i: Incident) -> dict[str, Any]:
    """What boards get: enough to draw a row and a marker, never the caller's number (nor name).

    A push goes to groups (an org and its ancestors), and every socket in a group gets the same message:
    it cannot be masked per reader, and a group may hold people who must not read numbers (partners and
    volunteers: selectors.MASKED_ROLES). So no push carries a number; a screen that needs one fetches the
    incident over REST, which masks it per reader (selectors.sees_phones)."""
    return {
        "id": i.pk,
        "number": i.number,
        "state": i.state,
        "version": i.version,
        "category": i.category_id,
        "level": i.level,
        "address": i.address,
        "lat": i.lat,
        "lon": i.lon,
        "org": i.org_id,
        "reported_at": i.reported_at,
    }


def clock_row(d: Deadline, *, label: str) -> dict[str, Any]:
    """An incident's own clock as the board lists it (dispatch/board.py board_incidents: `clocks`)."""
    return {"id": d.pk, "kind": d.kind, "label": label, "order": None, "due_at": d.due_at, "breached_at": d.breached_at}


def diversion_payload(d: Diversion) -> dict[str, Any]:
    return {"id": d.pk, "incident": d.incident_id, "partner": d.partner_id, "state": d.state, "version": d.version}
