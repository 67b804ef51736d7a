"""A station's day, as its duty log lists it: the steps of its dispatch orders (signed, arrived,
returned), the feedback it filed and the steps of its loop tasks (signed, reported), in time order. A
snapshot of JSON-able rows (`DutyLog.entries`); the officers' own notes are `DutyNote` rows."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.utils.translation import gettext_lazy as _

from command_center.models import Org
from dispatch.models import DispatchOrder
from incidents.models import Feedback
from intel.models import Task

from .sections import bounds

KINDS = {
    "order_signed": _("Order signed"),
    "order_arrived": _("Arrived on scene"),
    "order_returned": _("Order returned"),
    "feedback": _("Feedback filed"),
    "task_signed": _("Task signed"),
    "task_reported": _("Task reported"),
}


def _row(kind: str, at: datetime, title: str, model: str, pk: int, detail: str = "") -> dict[str, Any]:
    return {"kind": kind, "at": at.isoformat(), "title": title, "detail": detail, "model": model, "id": pk}


def entries(org: Org, day: date) -> list[dict[str, Any]]:
    start, end = bounds(day)
    out = []
    orders = DispatchOrder.objects.filter(org=org).select_related("incident")
    for field, kind in (
        ("signed_at", "order_signed"),
        ("arrived_at", "order_arrived"),
        ("returned_at", "order_returned"),
    ):
        for o in orders.filter(**{f"{field}__gte": start, f"{field}__lt": end}):
            detail = o.return_reason if kind == "order_returned" else o.incident.address
            out.append(_row(kind, getattr(o, field), o.incident.number, "order", o.pk, detail))
    for f in Feedback.objects.filter(org=org, created_at__gte=start, created_at__lt=end).select_related("incident"):
        out.append(_row("feedback", f.created_at, f.incident.number, "feedback", f.pk, f.text[:200]))
    tasks = Task.objects.filter(org=org)
    for field, kind in (("signed_at", "task_signed"), ("reported_at", "task_reported")):
        for t in tasks.filter(**{f"{field}__gte": start, f"{field}__lt": end}):
            out.append(_row(kind, getattr(t, field), t.title, "task", t.pk))
    return sorted(out, key=lambda e: (e["at"], e["kind"], e["id"]))


def label(kind: str) -> str:
    return str(KINDS.get(kind, kind))
