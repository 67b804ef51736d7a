"""Pages of the loop 研交办督结: the analysis workspace (研判工作台: analyses and directives with their progress,
write an analysis, issue a directive), a directive's page (each recipient's progress, live) and its closure
report (办结报告, with the workbook's download). Each page is a shell: it loads its rows over the API, follows
/ws/board/ and acts through the API (static/js/loop.js), so pages and API share one write path. The station's
side of the loop (sign, start, report) is the station inbox's tasks tab (dispatch's page; its rows come from
`selectors.inbox_tasks`, its names from `screen_labels`).

Who opens what: analysts, commanders, duty officers and supervisors the workspace and a directive's pages
(supervisors read; analysts and commanders write analyses; analysts, commanders and duty officers issue);
station officers are sent to their inbox; anyone else gets 403.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from command_center import orgs, screens
from command_center.models import Category, Org, Role

from . import reports, selectors
from .models import Analysis, Colour, Directive, Hotspot, Task
from .services import ANALYSIS_ROLES, ISSUE_ROLES, TASK_CLOCKS

WORKSPACE_ROLES = [Role.ANALYST, Role.COMMANDER, Role.DUTY_OFFICER, Role.SUPERVISOR]


def _has(request: HttpRequest, roles: Sequence[str]) -> bool:
    if request.user.is_superuser:
        return True
    person = orgs.person_of(request.user)
    return person is not None and person.has_role(*roles)


def _allowed(request: HttpRequest) -> None:
    if not _has(request, WORKSPACE_ROLES):
        raise PermissionDenied


def screen_labels() -> dict[str, Any]:
    """Names the loop's scripts show (workspace, directive page, the inbox's tasks tab, the board's watch
    list), in the request's language. Contributed to the dispatch screens through command_center.screens."""
    return {
        "task_state": {s.value: str(s.label) for s in Task.State},
        "directive_state": {s.value: str(s.label) for s in Directive.State},
        "analysis_state": {s.value: str(s.label) for s in Analysis.State},
        "colour": {s.value: str(s.label) for s in Colour},
        "source": {s.value: str(s.label) for s in Directive.Source},
        "task_clock": {k: str(v) for k, v in TASK_CLOCKS.items()},
        # The loop's endpoints, for the pages of the apps below it (the dispatch screens cannot name them).
        "urls": {"task": reverse("task-detail", args=[0])},
        "t": {
            "tasks_empty": _("No directive tasks. Directives addressed to your station will appear here."),
            "task_sign": _("Sign"),
            "task_start": _("Start work"),
            "task_rework": _("Start the rework"),
            "task_report": _("Report back"),
            "task_submit_report": _("Submit the report"),
            "task_report_text": _("What was done"),
            "task_report_placeholder": _("What was done, what was found, what is left"),
            "task_checklist": _("Required actions"),
            "task_note": _("Note"),
            "task_files": _("Files (photos, documents)"),
            "task_returned": _("Returned for rework"),
            "task_returned_n": _("Returned for rework, time %(n)s"),
            "task_waiting_review": _("Reported — awaiting review"),
            "task_approved": _("Approved (办结)"),
            "task_issued_by": _("Issued by"),
            "task_assignee": _("Carried by"),
            "task_sign_by": _("Sign within"),
            "task_report_by": _("Report within"),
            "task_no_actions": _("No checklist: say what was done."),
            "task_cannot_act": _("Only the recipient's own officers sign, start and report."),
            "file_too_many": _("Too many files."),
            "uploading": _("Sending…"),
            "finished_today_tasks": _("Closed today"),
            "issued_at": _("Issued at"),
            "source": _("Source"),
            "subject": _("Subject key"),
            "closed_at": _("Closed at"),
            "withdrawn_at": _("Withdrawn at"),
            "closure_report": _("Closure report"),
            "closure_preview": _("Preview the closure report"),
            "approved_n": _("approved"),
            "overdue": _("Overdue"),
            **screens.live_labels(),
        },
    }


def _defaults() -> dict[str, dict[str, int]]:
    return {colour: {"sign_s": int(row["sign_s"]), "report_s": int(row["report_s"])} for colour, row in
            settings.DIRECTIVE_CLOCKS.items()}  # fmt: skip


@login_required
def workspace(request: HttpRequest) -> HttpResponse:
    """研判工作台: analyses and directives of the caller's area with their progress; write, publish, issue."""
    if not _has(request, WORKSPACE_ROLES):
        if _has(request, [Role.STATION_OFFICER]):
            return redirect("dispatch:inbox")
        raise PermissionDenied
    person = orgs.person_of(request.user)
    return render(
        request,
        "intel/workspace.html",
        {
            "org_name": person.org.name if person else "",
            "org_id": person.org_id if person else "",
            "can_analyse": _has(request, ANALYSIS_ROLES),
            "can_issue": _has(request, ISSUE_ROLES),
            "loop_labels": screen_labels(),
            "clock_defaults": _defaults(),
            "colours": Colour.choices,
        },
    )


def _visible_directive(request: HttpRequest, pk: int) -> Directive:
    d = selectors.visible_directives(request.user).select_related("issuer_org").filter(pk=pk).first()
    if d is None:
        raise Http404
    return d


@login_required
def directive_page(request: HttpRequest, pk: int) -> HttpResponse:
    """A directive and each recipient's progress, live; withdraw it; watch a recipient's task (盯办)."""
    _allowed(request)
    d = _visible_directive(request, pk)
    return render(
        request,
        "intel/directive.html",
        {
            "directive": d,
            "can_withdraw": _has(request, ISSUE_ROLES) and orgs.can_act(request.user, d.issuer_org),
            "can_watch": _has(request, [Role.COMMANDER]),
            "loop_labels": screen_labels(),
        },
    )


def _times(value: Any, keys: tuple[str, ...] = ()) -> Any:
    """The report's ISO times as local datetimes, for the template (the stored data is JSON)."""
    if isinstance(value, dict):
        return {k: _times(v, (*keys, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_times(v, keys) for v in value]
    if isinstance(value, str) and keys and (keys[-1] == "at" or keys[-1].endswith("_at")):
        parsed: datetime | None = parse_datetime(value)
        return timezone.localtime(parsed) if parsed is not None else value
    if isinstance(value, datetime):
        return timezone.localtime(value)
    return value


@login_required
def report_page(request: HttpRequest, pk: int) -> HttpResponse:
    """办结报告: the stored report of a closed directive (a preview while it is open), with the XLSX link."""
    _allowed(request)
    d = _visible_directive(request, pk)
    data = reports.for_user(d, request.user)  # a station on a shared directive reads its own line only
    return render(request, "intel/report.html", {"directive": d, "report": _times(data)})


HOTSPOT_ROLES = [Role.ANALYST, Role.COMMANDER]


@login_required
def hotspots_page(request: HttpRequest) -> HttpResponse:
    """热点: the map with a heat layer and coloured cells, the ranked list, filters, the incidents behind one
    hotspot and 研判 from it. `?hotspot=ID` asks again for a kept hotspot's area, window and category."""
    if not _has(request, HOTSPOT_ROLES):
        if _has(request, [Role.STATION_OFFICER]):
            return redirect("dispatch:inbox")
        raise PermissionDenied
    person = orgs.person_of(request.user)
    org = person.org if person else Org.objects.filter(depth=1).order_by("path").first()
    initial: dict[str, Any] = {"org": org.pk if org else "", "period": "day", "area": "cell", "category": ""}
    raw = request.GET.get("hotspot", "")
    if raw.isdigit():
        h = Hotspot.objects.filter(pk=int(raw), scope__in=orgs.visible_orgs(request.user)).first()
        if h is None:
            raise Http404
        initial = {
            "org": h.scope_id, "area": h.area, "category": h.category, "start": h.start.isoformat(),
            "end": h.end.isoformat(), "key": h.cell if h.area == "cell" else h.org_id, "hotspot": h.pk,
        }  # fmt: skip
    categories = [
        {"code": c.code[: Category.SIGNIFICANT_DIGITS[c.level]], "name": c.local_name}
        for c in Category.objects.filter(level__lte=2, active=True).order_by("code")
    ]
    centre = [org.lat, org.lon] if org is not None and getattr(org, "lat", None) is not None else None
    return render(
        request,
        "intel/hotspots.html",
        {
            "org_name": org.name if org else "",
            "initial": initial,
            "categories": categories,
            "centre": centre,
            "tile_url": settings.MAP_TILE_URL,
            "can_analyse": _has(request, ANALYSIS_ROLES),
            "labels": {
                "colour": {s.value: str(s.label) for s in Colour},
                "t": {
                    "none": _("No hotspots in this period."),
                    "count": _("count"),
                    "baseline": _("baseline"),
                    "incidents": _("Incidents"),
                    "analyse": _("研判"),
                    "analysed": _("Analyses made"),
                    "cap": _("CAP alert for the public"),
                    "loading": _("Loading…"),
                    "failed": _("Could not load."),
                    "close": _("Close"),
                    "more": _("more not listed"),
                },
            },
        },
    )
