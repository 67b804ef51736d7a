"""Reads of 社情, always scoped. A volunteer reads only their own reports and points; police read the
reports of their area (`org`, the triaging station, in their subtree)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from command_center import orgs
from command_center.models import Org, Role

from .models import PointsEntry, ReportPhoto, Volunteer, VolunteerReport

POLICE_ROLES = [r for r in Role if r not in (Role.PARTNER, Role.VOLUNTEER)]


def is_police(user: Any) -> bool:
    if getattr(user, "is_superuser", False):
        return True
    person = orgs.person_of(user)
    return bool(person and person.has_role(*POLICE_ROLES))


def reports_qs() -> QuerySet[VolunteerReport]:
    return VolunteerReport.objects.select_related("category", "volunteer__person").prefetch_related("photos")


def my_reports(user: Any) -> QuerySet[VolunteerReport]:
    person = orgs.person_of(user)
    if person is None:
        return VolunteerReport.objects.none()
    return reports_qs().filter(volunteer__person=person)


def visible_reports(user: Any) -> QuerySet[VolunteerReport]:
    """The reports of the caller's area, for police; nothing for anyone else (a volunteer uses my_reports)."""
    if not is_police(user):
        return VolunteerReport.objects.none()
    return orgs.restrict(reports_qs(), user)


def visible_volunteers(user: Any) -> QuerySet[Volunteer]:
    if not is_police(user):
        return Volunteer.objects.none()
    return orgs.restrict(Volunteer.objects.select_related("person", "station", "community"), user, org_field="station")


def visible_photos(user: Any) -> QuerySet[ReportPhoto]:
    """A photo for the volunteer who took it and for police who may read its report."""
    return ReportPhoto.objects.filter(
        Q(report__in=my_reports(user).values("pk")) | Q(report__in=visible_reports(user).values("pk"))
    )


def my_points(user: Any) -> dict[str, Any]:
    person = orgs.person_of(user)
    v = Volunteer.objects.filter(person=person).first() if person else None
    if v is None:
        return {"points": 0, "entries": []}
    entries = PointsEntry.objects.filter(volunteer=v).select_related("report")[:50]
    return {
        "points": v.points,
        "entries": [
            {"report": e.report_id, "event": e.event, "label": e.get_event_display(), "points": e.points, "at": e.at}
            for e in entries
        ],
    }


def describe_reports(ids: list[int]) -> dict[int, dict[str, Any]]:
    """A volunteer report as a supervisor reads it in a list (words.provide_subject), e.g. the overdue list
    of a broken triage clock: its kind and category, its text, the station, the triage queue's page."""
    url = reverse("community:triage")
    return {
        r.pk: {
            "title": f"{r.get_kind_display()} · {r.category.name}",
            "detail": r.text[:80],
            "org_name": r.org.name,
            "url": url,
        }
        for r in VolunteerReport.objects.filter(pk__in=ids).select_related("category", "org")
    }


def incident_panel(user: Any, incident_id: int) -> dict[str, Any] | None:
    """The incident page's panel: the volunteer report it was made from (for police who see the report)."""
    r = visible_reports(user).filter(incident_id=incident_id).first()
    if r is None:
        return None
    return {"template": "community/incident_panel.html", "report": r, "photos": list(r.photos.all())}


def summary(*, org: Org, start: datetime, end: datetime) -> dict[str, Any]:
    """社情 of `org`'s area for the daily report (briefing): reports submitted in [start, end).

    Returns {"total", "by_kind": {kind: n}, "by_category": [{code, name, kind, count}], "outcomes": {state:
    n} (submitted = not yet triaged), "open": reports still awaiting triage now (any submission time),
    "late": of those, past their triage due time, "incidents": [{report, incident, number, category, kind,
    submitted_at}] for the period's reports that became incidents}. Not scoped to a user: the caller decides
    who reads `org`'s report."""
    area = VolunteerReport.objects.filter(org__path__startswith=org.path)
    period = area.filter(submitted_at__gte=start, submitted_at__lt=end)
    by_kind = {row["kind"]: row["n"] for row in period.values("kind").annotate(n=Count("id"))}
    by_category = [
        {"code": row["category"], "name": row["category__name"], "kind": row["kind"], "count": row["n"]}
        for row in period.values("category", "category__name", "kind")
        .annotate(n=Count("id"))
        .order_by("-n", "category")
    ]
    outcomes = {row["state"]: row["n"] for row in period.values("state").annotate(n=Count("id"))}
    waiting = area.filter(state=VolunteerReport.State.SUBMITTED)
    made = period.filter(incident__isnull=False).select_related("incident", "category").order_by("submitted_at")
    return {
        "total": sum(by_kind.values()),
        "by_kind": by_kind,
        "by_category": by_category,
        "outcomes": outcomes,
        "open": waiting.count(),
        "late": waiting.filter(triage_due_at__lt=timezone.now()).count(),
        "incidents": [
            {
                "report": r.pk,
                "incident": r.incident_id,
                "number": r.incident.number if r.incident else "",
                "category": r.category.name,
                "kind": r.kind,
                "submitted_at": r.submitted_at,
            }
            for r in made
        ],
    }
