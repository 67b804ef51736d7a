"""What a push, the screens and the API say about the loop's analyses, directives and tasks: built from the
row, never from a write (services send these, selectors and screens read them; nothing here imports
services)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .models import Analysis, Directive, Task, TaskDirective


def task_payload(t: Task, directive_ids: Sequence[int] | None = None) -> dict[str, Any]:
    """What boards and inboxes get: enough to draw a row and its countdowns."""
    if directive_ids is None:
        directive_ids = list(
            TaskDirective.objects.filter(task=t, withdrawn_at__isnull=True)
            .order_by("directive_id")
            .values_list("directive_id", flat=True)
        )
    return {
        "id": t.pk,
        "org": t.org_id,
        "org_name": t.org.name,
        "title": t.title,
        "colour": t.colour,
        "subject": t.subject,
        "state": t.state,
        "version": t.version,
        "directives": list(directive_ids),
        "rework_count": t.rework_count,
        "issued_at": t.issued_at,
        "sign_due_at": t.sign_due_at,
        "report_due_at": t.report_due_at,
        "signed_at": t.signed_at,
        "started_at": t.started_at,
        "reported_at": t.reported_at,
        "approved_at": t.approved_at,
        "withdrawn_at": t.withdrawn_at,
        "assignee": {"id": t.assignee_id, "name": str(t.assignee)} if t.assignee_id else None,
    }


def directive_payload(d: Directive, recipient_ids: Sequence[int] | None = None) -> dict[str, Any]:
    if recipient_ids is None:
        recipient_ids = sorted(d.recipients.values_list("pk", flat=True))
    return {
        "id": d.pk,
        "title": d.title,
        "colour": d.colour,
        "source": d.source,
        "subject": d.subject,
        "state": d.state,
        "version": d.version,
        "issuer_org": d.issuer_org_id,
        "recipients": list(recipient_ids),
        "issued_at": d.issued_at,
        "closed_at": d.closed_at,
        "withdrawn_at": d.withdrawn_at,
    }


def analysis_payload(a: Analysis) -> dict[str, Any]:
    return {"id": a.pk, "title": a.title, "org": a.org_id, "state": a.state, "version": a.version}
