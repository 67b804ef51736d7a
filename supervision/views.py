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


def wall_labels() -> dict[str, Any]:
    """What the big screen's measures strip says besides the measures' own names."""
    return {"t": {"s": _("s"), "counted": _("counted")}}


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
            "feedback_return": _("Returned for rectification"),
            "rectify": _("Rectify"),
            "rectify_by": _("Rectify by"),
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
                    "remind": _("Remind (催办)"),
                    "supervise": _("Supervise (督办)"),
                    "reminded": _("Reminded"),
                    "supervised": _("Under supervision (督办)"),
                    "hand_note": _("Note: what is expected, by when"),
                    "hand_send": _("Send"),
                    "hand_done": _("Sent to the organisation that must act."),
                },
                "by": {"partner": _("By partner"), "kind": _("By kind"), "theme": _("By theme")},
                "can_hand": _has(request, HAND_ROLES),
                "hand_url": reverse("overdue-remind", args=[0]),
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


# --- Bulletins (通报): the list, and one bulletin to read (and, a draft, to edit and publish) -------------
# Appended, with its imports here, to keep merges of this shared file simple.

from django.contrib import messages  # noqa: E402
from django.shortcuts import get_object_or_404  # noqa: E402

from command_center.errors import Refused  # noqa: E402
from command_center.transitions import InvalidTransition  # noqa: E402

from . import bulletins  # noqa: E402


@login_required
def bulletin_list(request: HttpRequest) -> HttpResponse:
    """Every bulletin the person may read, newest period first (server-rendered: a short list)."""
    rows = list(bulletins.visible_bulletins(request.user).order_by("-first", "kind", "-id")[:200])
    return render(request, "supervision/bulletins.html", {"bulletins": rows})


@login_required
def bulletin_page(request: HttpRequest, pk: int) -> HttpResponse:
    """The bulletin: its text (a form for a draft's editors), the measures against the period before and
    last year, the ranking of the orgs it covers with its chart (static/js/bulletin.js, ECharts), and the
    downloads. Outside the reader's area, or a draft for someone who may not edit it: 404.

    A draft's editors POST the form: `save` keeps the text, `publish` keeps it and publishes (the same
    services as the API)."""
    b = get_object_or_404(bulletins.visible_bulletins(request.user), pk=pk)
    if request.method == "POST":
        changes = {f: request.POST[f] for f in bulletins.TEXT_FIELDS if f in request.POST}
        try:
            b = bulletins.bulletin_update(bulletin_id=b.pk, actor=request.user, changes=changes)
            if request.POST.get("do") == "publish":
                b = bulletins.bulletin_publish(bulletin_id=b.pk, actor=request.user)
                messages.success(request, _("Published: the organisations it covers have a task to sign for it."))
            else:
                messages.success(request, _("Saved."))
        except Refused as e:
            messages.error(request, e.message)
        except InvalidTransition:
            messages.error(request, _("This bulletin is published already: it no longer changes."))
        return redirect("supervision:bulletin", pk=b.pk)
    cols, rows = bulletins.ranking(b)
    chart = {
        "measures": [{"key": k.key, "label": str(k.label), "unit": k.unit} for k in cols],
        "orgs": [
            {"name": r["name"], "values": {k.key: r["kpis"].get(k.key, {}).get("value") for k in cols}} for r in rows
        ],
    }
    table = [
        {"name": r["name"], "cells": [bulletins.fmt(k.unit, r["kpis"].get(k.key, {}).get("value")) for k in cols]}
        for r in rows
    ]
    return render(
        request,
        "supervision/bulletin.html",
        {
            "b": b,
            "lines": bulletins.lines(b),
            "ranked": cols,
            "table": table,
            "chart": chart,
            "can_edit": b.state == b.State.DRAFT and bulletins.can_edit(request.user, b),
        },
    )


@login_required
def scores_page(request: HttpRequest) -> HttpResponse:
    """考评: the ranking of a level for a week or a month under the active scheme, with the 红榜 / 黑榜 and the
    rule that made them; a row opens every part of the score and each deduction's cause (static/js/scores.js
    over GET /api/scores/…). A station sees its own row: its score, its rank and why."""
    if not _has(request, MEASURES_ROLES):
        raise PermissionDenied
    return render(
        request,
        "supervision/scores.html",
        {
            "today": timezone.localdate(),
            "labels": {
                "t": {
                    "red": _("Red list (十佳)"),
                    "black": _("Black list"),
                    "none": _("No scores for this period yet."),
                    "failed": _("Not loaded"),
                    "points": _("points"),
                    "kpi": _("Measure"),
                    "bonus": _("Bonus"),
                    "deduction": _("Deduction"),
                    "not_measured": _("nothing to measure"),
                    "of": _("of"),
                },
            },
        },
    )
