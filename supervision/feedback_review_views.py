"""The feedback review pages (反馈审核, supervision/feedback_review.py).

- /supervision/feedback/ (supervisors and commanders): the queue with its filters — station, dates, result,
  sample or all — each feedback with its incident, times and callback; accept, or return with a note; the
  sampling rule of the reader's org (supervisors set it). A shell: rows over the API, actions through it
  (static/js/feedback.js).
- /supervision/feedback/rework/ (a station's people, phone-sized): what was returned to their org, each with
  the supervisor's note and the rectification form — the incident page's review panel, one per feedback.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from command_center import orgs
from command_center.models import HandlingResult, Org, Role

from . import feedback_review as fr
from .transitions import RECTIFY_ROLES, REVIEW_ROLES

PAGE_ROLES = [Role.SUPERVISOR, Role.COMMANDER]


def _has(request: HttpRequest, roles: Sequence[str]) -> bool:
    if request.user.is_superuser:
        return True
    person = orgs.person_of(request.user)
    return person is not None and person.has_role(*roles)


@login_required
def queue_page(request: HttpRequest) -> HttpResponse:
    if not _has(request, PAGE_ROLES):
        if _has(request, RECTIFY_ROLES):
            return redirect("supervision:feedback-rework")
        raise PermissionDenied
    person = orgs.person_of(request.user)
    stations = orgs.visible_orgs(request.user).filter(kind=Org.Kind.POLICE).exclude(level=Org.Level.COMMUNITY)
    return render(
        request,
        "supervision/feedback.html",
        {
            "org_name": person.org.name if person else "",
            "can_review": _has(request, REVIEW_ROLES),
            "stations": stations.order_by("path"),
            "results": HandlingResult.objects.filter(active=True).order_by("code"),
            "note_max": fr.NOTE_MAX,
        },
    )


@login_required
def rework_page(request: HttpRequest) -> HttpResponse:
    if not _has(request, RECTIFY_ROLES):
        raise PermissionDenied
    person = orgs.person_of(request.user)
    rows = []
    for review in fr.station_returns(request.user):
        panel = fr.incident_review_panel(request.user, review.feedback.incident_id)
        if panel is not None:
            rows += [r for r in panel["rows"] if r["review"] is not None and r["review"].pk == review.pk]
    return render(
        request,
        "supervision/feedback_rework.html",
        {
            "org_name": person.org.name if person else "",
            "panel": {"rows": rows, "note_max": fr.NOTE_MAX, "standalone": True},
        },
    )
