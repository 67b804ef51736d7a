"""What a push, the live screens and the API say about a unit or a dispatch order. Services send these; the
board, selectors and the API read them; nothing here imports services.

An order has one shape, ORDER_FIELDS: the `order.*` push (`order_payload`, from a row), the board's rows
(`order_payload_of_values`, from plain values: model instances cost most of a large board's time) and the
API (api.OrderSerializer) all start from it. Where a reader needs more, it adds named extras to it — the
screens the addressed org's name and the broken clocks (`order_row`), the inbox and the API what a station
needs to act — instead of keeping a list of its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from incidents.models import Incident

from .models import DispatchOrder, Unit


def unit_payload(u: Unit) -> dict[str, Any]:
    return {
        "id": u.pk,
        "call_sign": u.call_sign,
        "kind": u.kind,
        "org": u.org_id,
        "status": u.status,
        "ring_minutes": u.ring_minutes,
        "capabilities": list(u.capabilities),
        "lat": u.lat,
        "lon": u.lon,
        "position_at": u.position_at,
        "version": u.version,
    }


# What an order says, key by key, with the column each is read from (`a__b` follows a link; an empty link
# reads as None). `incident` carries the incident's brief (INCIDENT_BRIEF) in place of its id.
ORDER_FIELDS: tuple[tuple[str, str], ...] = (
    ("id", "id"),
    ("incident", "incident_id"),
    ("org", "org_id"),
    ("unit", "unit_id"),
    ("unit_call_sign", "unit__call_sign"),
    ("kind", "kind"),
    ("state", "state"),
    ("version", "version"),
    ("ring_minutes", "ring_minutes"),
    ("dispatcher", "dispatcher__username"),
    ("signed_by", "signed_by__username"),
    ("sent_at", "sent_at"),
    ("delivered_at", "delivered_at"),
    ("signed_at", "signed_at"),
    ("arrived_at", "arrived_at"),
    ("done_at", "done_at"),
    ("returned_at", "returned_at"),
    ("cancelled_at", "cancelled_at"),
    ("sign_due_at", "sign_due_at"),
    ("arrive_due_at", "arrive_due_at"),
    ("feedback_due_at", "feedback_due_at"),
    ("replaces", "replaces_id"),  # 改派: the cancelled order this one took over from
)
ORDER_COLUMNS = tuple(column for _key, column in ORDER_FIELDS)

# The incident as an order carries it: enough to draw it — never the caller's number or name.
INCIDENT_BRIEF: tuple[tuple[str, str], ...] = (
    ("id", "id"),
    ("number", "number"),
    ("category", "category_id"),
    ("level", "level"),
    ("address", "address"),
    ("lat", "lat"),
    ("lon", "lon"),
)
INCIDENT_BRIEF_COLUMNS = tuple(column for _key, column in INCIDENT_BRIEF)


def _read(obj: Any, column: str) -> Any:
    for name in column.split("__"):
        if obj is None:
            return None
        obj = getattr(obj, name)
    return obj


def incident_brief(i: Incident) -> dict[str, Any]:
    return {key: _read(i, column) for key, column in INCIDENT_BRIEF}


def incident_brief_of_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """The brief from a row of `.values(*INCIDENT_BRIEF_COLUMNS)`."""
    return {key: values[column] for key, column in INCIDENT_BRIEF}


def order_payload(o: DispatchOrder, incident: Incident | None = None) -> dict[str, Any]:
    """What boards and inboxes get: the order with enough of its incident to draw it — never the caller's
    number or name."""
    payload = {key: _read(o, column) for key, column in ORDER_FIELDS}
    payload["incident"] = incident_brief(incident or o.incident)
    return payload


def order_payload_of_values(values: Mapping[str, Any], brief: dict[str, Any]) -> dict[str, Any]:
    """The same payload from a row of `.values(*ORDER_COLUMNS)` and its incident's brief."""
    payload = {key: values[column] for key, column in ORDER_FIELDS}
    payload["incident"] = brief
    return payload


def order_row(payload: dict[str, Any], *, org_name: str, overdue: Iterable[str]) -> dict[str, Any]:
    """An order as the screens draw it: its payload (so REST and pushes share one shape) plus the addressed
    org's name and the clocks that broke and are not met yet."""
    return {**payload, "org_name": org_name, "overdue": sorted(overdue)}
