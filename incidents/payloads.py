"""What a push, a screen and the API say about an incident or a diversion: built from the row, never from a
write (services send these, selectors and screens read them; nothing here imports services)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.contrib.contenttypes.models import ContentType

from command_center import clocks
from command_center.models import Deadline, Org

from .models import Diversion, DiversionProposal, Feedback, HandlingGuide, Incident


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


def diversion_clock(d: Deadline) -> dict[str, Any]:
    """One of a diversion's clocks (受理时限, 办结时限) as its screens count it down: running while neither met
    nor cancelled, red once `breached_at` is set."""
    k = clocks.registered().get(d.kind)
    return {
        "id": d.pk,
        "kind": d.kind,
        "label": str(k.label) if k else d.kind,
        "due_at": d.due_at,
        "breached_at": d.breached_at,
        "met_at": d.met_at,
        "cancelled_at": d.cancelled_at,
    }


def diversion_clocks(ids: Iterable[int]) -> dict[int, list[dict[str, Any]]]:
    """{diversion id: its clocks, by due time}, one query for a page of diversions (index deadline_subject).
    A clock once started stays listed (met, cancelled or broken), so a screen shows how it ended."""
    ids = list(ids)
    if not ids:
        return {}
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    ct = ContentType.objects.get_for_model(Diversion)
    for d in Deadline.objects.filter(subject_type=ct, subject_id__in=ids).order_by("due_at", "id"):
        out[d.subject_id].append(diversion_clock(d))
    return dict(out)


def diversion_payload(d: Diversion, *, clock_rows: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """What a push says about a diversion: its state and clocks (never the incident's text: screens fetch
    it over REST). `clock_rows` when the caller read them for a page (diversion_clocks)."""
    return {
        "id": d.pk,
        "incident": d.incident_id,
        "partner": d.partner_id,
        "state": d.state,
        "version": d.version,
        "pushed_at": d.pushed_at,
        "accepted_at": d.accepted_at,
        "finished_at": d.finished_at,
        "clocks": clock_rows if clock_rows is not None else diversion_clocks([d.pk]).get(d.pk, []),
    }


def partner_incident_payload(i: Incident) -> dict[str, Any]:
    """What a partner reads of an incident diverted to it, outside our pages (its webhooks): the fields of
    api.PartnerIncidentSerializer without its diversion — never the caller, nor the police's handling."""
    return {
        "id": i.pk,
        "number": i.number,
        "category": i.category_id,
        "category_name": i.category.local_name,
        "level": i.level,
        "address": i.address,
        "lat": i.lat,
        "lon": i.lon,
        "narrative": i.narrative,
        "reported_at": i.reported_at,
    }


def guide_payload(g: HandlingGuide) -> dict[str, Any]:
    """A handling guide's version as the desk, the station inbox and the API show it."""
    return {
        "id": g.pk,
        "title": g.title,
        "version": g.version,
        "current": g.current,
        "category_prefix": g.category_prefix,
        "level": g.level,
        "items": [{"n": i["n"], "text": i["text"], "required": bool(i.get("required"))} for i in g.items],
    }


def checklist_payload(f: Feedback) -> dict[str, Any] | None:
    """A feedback's ticks against its guide's version (Feedback.checklist); None without a checklist."""
    return f.checklist()


def proposal_payload(p: DiversionProposal) -> dict[str, Any]:
    """The rule proposed to the desk at intake: what one key confirms."""
    return {
        "rule": p.rule_id,
        "rule_name": p.rule.name,
        "target": p.target_id,
        "target_name": p.target.name,
        "target_kind": "community" if p.target.level == Org.Level.COMMUNITY else "partner",
    }
