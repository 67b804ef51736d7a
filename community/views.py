"""Pages of 社情, phone-sized: the volunteer's page (report a hazard or clue with photos and a place, their
reports and points), the station's triage queue (live, each report's clock counting down, four actions), and
the register of the area's volunteers. Each page is a shell over /api/community/ (the one contract)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from command_center import orgs, screens
from command_center.models import Role

from . import selectors
from .models import Kind, ReportCategory, Volunteer, VolunteerReport


def _labels() -> dict[str, Any]:
    return {
        "state": {s.value: str(s.label) for s in VolunteerReport.State},
        "kind": {k.value: str(k.label) for k in Kind},
        "t": {
            **screens.live_labels(),
            "make_incident": _("Make an incident"),
            "task": _("Task to the community"),
            "forward": _("Forward"),
            "close": _("Close the report"),
            "reason": _("Reason"),
            "note": _("Note"),
            "target": _("Forward to"),
            "assignee": _("Community officer (社区民警)"),
            "confirm": _("Confirm"),
            "nothing": _("Nothing here."),
            "breach": _("Overdue"),
            "anonymous": _("Anonymous to the public"),
            "photos": _("Photos"),
            "sent": _("Sent. Thank you!"),
            "failed": _("Not sent"),
            "located": _("Place taken"),
            "no_gps": _("The phone gave no position; pick the place on the map."),
            "incident": _("Incident"),
            "points": _("points"),
        },
    }


@login_required
def volunteer_page(request: HttpRequest) -> HttpResponse:
    """平安义警's page: volunteers only (the police triage on /community/triage/)."""
    person = orgs.person_of(request.user)
    v = Volunteer.objects.filter(person=person, active=True).first() if person else None
    if v is None or person is None or not person.has_role(Role.VOLUNTEER):
        raise PermissionDenied
    categories = [{"code": c.code, "name": c.name, "kind": c.kind} for c in ReportCategory.objects.filter(active=True)]
    return render(
        request,
        "community/volunteer.html",
        {"labels": _labels(), "categories": categories, "volunteer": v, "tile_url": _tile_url(), "centre": _centre(v)},
    )


def _tile_url() -> str:
    from django.conf import settings

    return str(getattr(settings, "MAP_TILE_URL", "") or "")


def _centre(v: Volunteer) -> list[float]:
    org = v.community or v.station
    if org.lat is not None and org.lon is not None:
        return [org.lat, org.lon]
    return [v.station.lat or 30.1, v.station.lon or 114.97]


def _police(request: HttpRequest) -> None:
    if not selectors.is_police(request.user):
        raise PermissionDenied


@login_required
def triage_page(request: HttpRequest) -> HttpResponse:
    """The station's triage queue: a shell over GET /api/community/reports/queue/ and /ws/board/."""
    _police(request)
    person = orgs.person_of(request.user)
    return render(
        request,
        "community/triage.html",
        {"labels": _labels(), "org_name": person.org.name if person else ""},
    )


@login_required
def register_page(request: HttpRequest) -> HttpResponse:
    """The area's volunteers: who, where, skills, trainings, points."""
    _police(request)
    rows = selectors.visible_volunteers(request.user)
    return render(request, "community/register.html", {"volunteers": rows})
