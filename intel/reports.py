"""The closure report (办结报告) of a directive: for each recipient, when it was issued, signed, reported and
approved, what was reported, what was returned (reasons, count) and which steps were late.

`closure_data` builds the data (JSON-safe: times as ISO-8601 strings); the closing service stores it once in
`ClosureReport`, so the report says what was true when the directive closed. `closure_xlsx` renders the same
data as a workbook (command_center.exports): a summary sheet, the reports, the late steps.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from command_center import clocks, exports
from command_center.models import Deadline

from .models import Attachment, Directive, Task, TaskDirective, TaskReport, TaskTransition

TASK_CLOCK_PREFIX = "intel.task."


def _username(user: Any) -> str | None:
    if user is None:
        return None
    person = getattr(user, "person", None)
    return str(person) if person else user.get_username()


def _label(kind: str) -> str:
    try:
        return str(clocks.kind(kind).label)
    except clocks.UnknownClockKind:
        return kind


def closure_data(d: Directive, *, final: bool, at: datetime | None = None) -> dict[str, Any]:
    """The report's data for directive `d` (final=False: a preview while it is still open)."""
    carried = list(
        TaskDirective.objects.filter(directive=d)
        .select_related("task__org", "task__signed_by__person", "task__approved_by__person")
        .order_by("org__path", "id")
    )
    task_ids = [td.task_id for td in carried]
    returns: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for tr in (
        TaskTransition.objects.filter(subject_id__in=task_ids, event="return")
        .select_related("actor__person")
        .order_by("at", "id")
    ):
        returns[tr.subject_id].append({"at": tr.at, "by": _username(tr.actor), "reason": tr.reason})
    files: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for a in Attachment.objects.filter(report__task_id__in=task_ids).order_by("uploaded_at", "id"):
        assert a.report_id is not None
        files[a.report_id].append({"id": a.pk, "name": a.name, "size": a.size, "content_type": a.content_type})
    reports: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for r in TaskReport.objects.filter(task_id__in=task_ids).select_related("author__person", "decided_by__person"):
        reports[r.task_id].append(
            {
                "id": r.pk,
                "at": r.created_at,
                "author": _username(r.author),
                "text": r.text,
                "checklist": r.checklist,
                "decision": r.decision,
                "decided_by": _username(r.decided_by),
                "decided_at": r.decided_at,
                "reason": r.reason,
                "files": files.get(r.pk, []),
            }
        )
    overdue: dict[int, list[dict[str, Any]]] = defaultdict(list)
    late = Deadline.objects.filter(
        subject_type=ContentType.objects.get_for_model(Task),
        subject_id__in=task_ids,
        kind__startswith=TASK_CLOCK_PREFIX,
        breached_at__isnull=False,
    ).order_by("due_at", "id")
    for dl in late:
        overdue[dl.subject_id].append(
            {
                "kind": dl.kind,
                "label": _label(dl.kind),
                "due_at": dl.due_at,
                "breached_at": dl.breached_at,
                "met_at": dl.met_at,
            }
        )
    recipients: list[dict[str, Any]] = []
    for td in carried:
        t = td.task
        task_reports = reports.get(t.pk, [])
        recipients.append(
            {
                "org": t.org_id,
                "org_name": t.org.name,
                "task": t.pk,
                "state": t.state,
                "merged": td.merged,
                "withdrawn": td.withdrawn_at is not None,
                "issued_at": td.added_at,
                "sign_due_at": t.sign_due_at,
                "signed_at": t.signed_at,
                "signed_by": _username(t.signed_by),
                "first_reported_at": task_reports[0]["at"] if task_reports else None,
                "reported_at": t.reported_at,
                "report_due_at": t.report_due_at,
                "approved_at": td.approved_at,
                "approved_by": _username(t.approved_by) if td.approved_at else None,
                "rework_count": t.rework_count,
                "returns": returns.get(t.pk, []),
                "reports": task_reports,
                "overdue": overdue.get(t.pk, []),
            }
        )
    data = {
        "final": final,
        "generated_at": at or timezone.now(),
        "directive": {
            "id": d.pk,
            "title": d.title,
            "content": d.content,
            "actions": list(d.actions),
            "colour": d.colour,
            "colour_label": d.get_colour_display(),
            "source": d.source,
            "source_label": d.get_source_display(),
            "state": d.state,
            "issuer": _username(d.issuer),
            "issuer_org": d.issuer_org_id,
            "issuer_org_name": d.issuer_org.name,
            "issued_at": d.issued_at,
            "closed_at": d.closed_at,
            "sign_within_s": d.sign_within_s,
            "report_within_s": d.report_within_s,
        },
        "summary": summary(recipients),
        "recipients": recipients,
    }
    # JSON-safe now: stored in a JSONField and served as it is.
    result: dict[str, Any] = json.loads(json.dumps(data, cls=DjangoJSONEncoder))
    return result


def summary(recipients: list[dict[str, Any]]) -> dict[str, int]:
    return {
        "recipients": len(recipients),
        "approved": sum(1 for r in recipients if r["approved_at"]),
        "returns": sum(len(r["returns"]) for r in recipients),
        "overdue_steps": sum(len(r["overdue"]) for r in recipients),
        "on_time": sum(1 for r in recipients if r["approved_at"] and not r["overdue"]),
    }


def for_reader(data: dict[str, Any], task_ids: set[int]) -> dict[str, Any]:
    """The report as one reader may see it: only the recipients whose task (`task_ids`) they see, the summary
    counted over those. The issuer's area sees every task, so it reads the report as it was stored."""
    mine = [r for r in data["recipients"] if r["task"] in task_ids]
    if len(mine) == len(data["recipients"]):
        return data
    return {**data, "summary": summary(mine), "recipients": mine}


def for_user(d: Directive, user: Any) -> dict[str, Any]:
    """The closure report of `d` (stored when it closed, else a preview) as `user` may read it: the one
    path for the API, the XLSX and the page."""
    from .selectors import visible_tasks

    stored = getattr(d, "closure_report", None)
    data = stored.data if stored is not None else closure_data(d, final=False)
    tasks = [r["task"] for r in data["recipients"]]
    seen = set(visible_tasks(user).filter(pk__in=tasks).values_list("pk", flat=True))
    return for_reader(data, seen)


def _when(value: str | None) -> str:
    """An ISO time from the data as people read it: in the server's zone, with the offset."""
    if not value:
        return ""
    parsed = parse_datetime(value)
    return exports.local_time(parsed) if parsed else value


def _choice(choices: Any, value: str) -> str:
    """A stored state or decision as people read it (the raw value if the table no longer has it)."""
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def closure_xlsx(data: dict[str, Any]) -> bytes:
    """The closure report as a workbook: summary per recipient, the reports, the late steps. Written by
    command_center.exports, so every text (titles, reasons, reports, names, file names) is a text cell."""
    d = data["directive"]
    summary_ws = exports.Sheet(_("Closure report"), widths=[24, 12, 26, 26, 26, 26, 10, 40, 30, 60])
    summary_ws.row(
        _("Closure report") if data["final"] else _("Closure report (preview: not closed yet)"), style="title"
    )
    for label, value in [
        (_("Directive"), d["title"]),
        (_("Risk colour"), d["colour_label"]),
        (_("Source"), d["source_label"]),
        (_("Issued by"), f"{d['issuer_org_name']} {d['issuer'] or ''}".strip()),
        (_("Issued at"), _when(d["issued_at"])),
        (_("Closed at"), _when(d["closed_at"])),
        (_("Recipients"), data["summary"]["recipients"]),
        (_("Approved"), data["summary"]["approved"]),
        (_("Returns for rework"), data["summary"]["returns"]),
        (_("Late steps"), data["summary"]["overdue_steps"]),
    ]:
        summary_ws.row(label, value, style="label")
    summary_ws.row()
    summary_ws.row(
        _("Recipient"),
        _("State"),
        _("Issued at"),
        _("Signed at"),
        _("Report filed at"),
        _("Approved at"),
        _("Returns for rework"),
        _("Return reasons"),
        _("Late steps"),
        _("Last report"),
        style="header",
    )
    for r in data["recipients"]:
        summary_ws.row(
            r["org_name"],
            _choice(Task.State, r["state"]),
            _when(r["issued_at"]),
            _when(r["signed_at"]),
            _when(r["reported_at"]),
            _when(r["approved_at"]),
            r["rework_count"],
            "；".join(x["reason"] for x in r["returns"]),
            "；".join(x["label"] for x in r["overdue"]),
            r["reports"][-1]["text"] if r["reports"] else "",
        )

    reports_ws = exports.Sheet(_("Reports"))
    reports_ws.row(_("Recipient"), _("Report filed at"), _("Author"), _("Report"), _("Checklist"), _("Decision"),
                   _("Reviewer's reason"), _("Files"), style="header")  # fmt: skip
    for r in data["recipients"]:
        for rep in r["reports"]:
            checklist = "；".join(f"{'✓' if c['done'] else '✗'} {c['action']}" for c in rep["checklist"])
            reports_ws.row(
                r["org_name"],
                _when(rep["at"]),
                rep["author"] or "",
                rep["text"],
                checklist,
                _choice(TaskReport.Decision, rep["decision"]),
                rep["reason"],
                "；".join(f["name"] for f in rep["files"]),
            )

    late_ws = exports.Sheet(_("Late steps"))
    late_ws.row(_("Recipient"), _("Step"), _("Due at"), _("Breached at"), _("Done at"), style="header")
    for r in data["recipients"]:
        for o in r["overdue"]:
            late_ws.row(r["org_name"], o["label"], _when(o["due_at"]), _when(o["breached_at"]), _when(o["met_at"]))
    return exports.xlsx_bytes(summary_ws, reports_ws, late_ws)
