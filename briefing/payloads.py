"""What the API says about a report and a duty log: one shape each."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from command_center.serializers import datetime_text, person_brief
from command_center.transitions import allowed_events

from . import selectors
from .models import DailyReport, DutyLog
from .transitions import DUTY, REPORT


def _person(user: Any) -> dict[str, Any] | None:
    return None if user is None else person_brief(user)


def report_payload(r: DailyReport, *, full: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": r.pk,
        "org": r.org_id,
        "org_name": r.org.name,
        "day": r.day.isoformat(),
        "title": r.title,
        "state": r.state,
        "state_label": r.get_state_display(),
        "allowed": allowed_events(REPORT, r.state),
        "version": r.version,
        "drafted_at": datetime_text(r.drafted_at),
        "edited_at": datetime_text(r.edited_at),
        "edited_by": _person(r.edited_by),
        "published_at": datetime_text(r.published_at),
        "published_by": _person(r.published_by),
        "urls": {
            "page": reverse("briefing:report", args=[r.pk]),
            "docx": reverse("briefing-report-docx", args=[r.pk]),
            "pdf": reverse("briefing-report-pdf", args=[r.pk]),
        },
    }
    if full:
        data["body"] = r.body
        data["sections"] = selectors.section_rows(r)
        data["suggestions"] = selectors.report_suggestions(r)
    return data


def duty_log_payload(log: DutyLog) -> dict[str, Any]:
    return {
        "id": log.pk,
        "org": log.org_id,
        "org_name": log.org.name,
        "day": log.day.isoformat(),
        "state": log.state,
        "state_label": log.get_state_display(),
        "allowed": allowed_events(DUTY, log.state),
        "version": log.version,
        "entries": selectors.entry_rows(log),
        "generated_at": datetime_text(log.generated_at),
        "notes": [
            {"id": n.pk, "text": n.text, "author": _person(n.author), "at": datetime_text(n.at)}
            for n in log.notes.select_related("author").all()
        ],
        "handover": log.handover,
        "signed_at": datetime_text(log.signed_at),
        "signed_by": _person(log.signed_by),
    }
