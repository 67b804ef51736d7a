"""Reads of the briefing, always scoped: a person sees the reports and duty logs of their org's subtree (a
station its own log; a county or city every log under it)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from command_center import orgs
from command_center.models import Org

from . import dutylog, rendering
from .models import DailyReport, DutyLog


def visible_reports(user: Any) -> QuerySet[DailyReport]:
    return orgs.restrict(DailyReport.objects.select_related("org", "edited_by", "published_by"), user)


def visible_duty_logs(user: Any) -> QuerySet[DutyLog]:
    return orgs.restrict(DutyLog.objects.select_related("org", "signed_by"), user)


def own_station(user: Any) -> Org | None:
    """The person's station, whose duty log /briefing/duty/ opens (None above or beside a station)."""
    person = orgs.person_of(user)
    if person is None or person.org.level != Org.Level.STATION:
        return None
    return person.org


def section_rows(r: DailyReport) -> list[dict[str, Any]]:
    """The snapshot's sections in order: key, title, figures, Markdown and its sanitised HTML."""
    found = r.figures.get("sections", {})
    return [
        {"key": k, **found[k], "html": rendering.markdown_html(found[k].get("markdown", ""))}
        for k in r.figures.get("order", [])
        if k in found
    ]


def report_suggestions(r: DailyReport) -> list[dict[str, Any]]:
    return list(r.figures.get("sections", {}).get("suggestions", {}).get("figures", {}).get("suggestions", []))


def entry_rows(log: DutyLog) -> list[dict[str, Any]]:
    return [{**e, "label": dutylog.label(e["kind"])} for e in log.entries]
