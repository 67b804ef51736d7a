"""The supervision page (督办中心): the review queue (reports awaiting approval or return, and incidents a
dissatisfied callback marked for rectification), the overdue list by org and kind, and the watch list (盯办).
A shell like the other live pages: rows over the API, live over /ws/board/, actions through the API
(static/js/review.js).

Who: supervisors decide reports; commanders put tasks and incidents on the watch list and take them off;
both see everything on the page (a commander sees the queue, a supervisor the watch list). Station officers
are sent to their inbox; anyone else gets 403.

Supervision also adds to the dispatch screens (command_center.screens, see apps.py): `screen_labels` names
what its reminders and watch rows show there.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from command_center import clocks, orgs
from command_center.models import Role
from incidents.models import State as IncidentState
from intel.views import screen_labels as loop_labels

from .models import Reminder
from .services import HAND_ROLES, WATCH_ROLES

PAGE_ROLES = [Role.SUPERVISOR, Role.COMMANDER]
REVIEW_ROLES = [Role.SUPERVISOR]


def _has(request: HttpRequest, roles: Sequence[str]) -> bool:
    if request.user.is_superuser:
        return True
    person = orgs.person_of(request.user)
    return person is not None and person.has_role(*roles)


def screen_labels() -> dict[str, Any]:
    """Names of supervision's rows on the dispatch screens (the inbox's reminders, the board's strip and
    watch list), in the request's language."""
    return {
        "reminder_level": {str(v.value): str(v.label) for v in Reminder.Level},
        "urls": {"reminder": reverse("reminder-detail", args=[0]), "watch": reverse("watch-list")},
        "t": {
            "reminder": _("Reminder (催办)"),
            "supervision": _("Formal supervision (督办)"),
            "acknowledge": _("Got it"),
            "acknowledged": _("Acknowledged"),
            "watch": _("Watch list (盯办)"),
            "watch_empty": _("Nothing on the watch list."),
            "watch_task": _("Task"),
            "watch_incident": _("Incident"),
        },
    }


@login_required
def review(request: HttpRequest) -> HttpResponse:
    if not _has(request, PAGE_ROLES):
        if _has(request, [Role.STATION_OFFICER]):
            return redirect("dispatch:inbox")
        raise PermissionDenied
    person = orgs.person_of(request.user)
    labels = loop_labels()
    labels["clock"] = {name: str(k.label) for name, k in clocks.registered().items()}
    labels["incident_state"] = {s.value: str(s.label) for s in IncidentState}
    return render(
        request,
        "supervision/review.html",
        {
            "org_name": person.org.name if person else "",
            "can_review": _has(request, REVIEW_ROLES),
            "can_watch": _has(request, WATCH_ROLES),
            "can_hand": _has(request, HAND_ROLES),
            "loop_labels": labels,
            "kinds": sorted({name.split(".")[0] for name in clocks.registered()}),
        },
    )


MEASURES_ROLES = [Role.SUPERVISOR, Role.COMMANDER, Role.DUTY_OFFICER, Role.ANALYST, Role.STATION_OFFICER]


@login_required
def measures(request: HttpRequest) -> HttpResponse:
    """考评指标: the measures of an org's area and a period, beside the previous period and last year's, each
    drilled down to its rows, with a trend line and the ranking of the orgs under it (static/js/kpis.js over
    GET /api/kpis/…). Stations read their own area."""
    if not _has(request, MEASURES_ROLES):
        raise PermissionDenied
    person = orgs.person_of(request.user)
    areas = list(orgs.visible_orgs(request.user).filter(kind="police").exclude(level="community").order_by("path"))
    return render(
        request,
        "supervision/kpis.html",
        {
            "areas": areas,
            "own": person.org.pk if person else (areas[0].pk if areas else None),
            "today": timezone.localdate(),
            "labels": {
                "t": {
                    "previous": _("Previous period"),
                    "last_year": _("Same period last year"),
                    "rows": _("Rows behind this figure"),
                    "trend": _("Day by day"),
                    "ranking": _("Ranking"),
                    "none": _("Nothing to measure"),
                    "better": _("better"),
                    "worse": _("worse"),
                    "failed": _("Not loaded"),
                    "s": _("s"),
                    "more": _("More"),
                },
                "groups": {
                    "dispatch": _("Dispatch"),
                    "feedback": _("Feedback"),
                    "callbacks": _("Callbacks"),
                    "repeats": _("Repeats"),
                    "diversions": _("Diversions"),
                    "directives": _("Directives"),
                },
            },
        },
    )
