"""The briefing's pages: the reports of the person's subtree, one report (figures, editor with preview,
publish, downloads, suggestions with their one-click 研判), and the station's duty log of today (phone
first). The pages render what they hold on the server; static/js/briefing.js saves, previews, publishes
and signs through the API (the CSP forbids inline script)."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from command_center import orgs
from command_center.models import Org, Role

from . import payloads, rendering, selectors, services


def _can(request: HttpRequest, org: Org, roles: Iterable[str]) -> bool:
    try:
        orgs.require(request.user, org, roles=roles)
    except PermissionDenied:  # the page hides the button
        return False
    return True


@login_required
def report_list(request: HttpRequest) -> HttpResponse:
    """Every report of the person's subtree, newest day first (server-rendered: a short list), and the
    duty logs under it."""
    reports = list(selectors.visible_reports(request.user).order_by("-day", "org__path")[:200])
    logs = list(selectors.visible_duty_logs(request.user).order_by("-day", "org__path")[:100])
    return render(request, "briefing/list.html", {"reports": reports, "logs": logs})


@login_required
def report_page(request: HttpRequest, pk: int) -> HttpResponse:
    r = get_object_or_404(selectors.visible_reports(request.user), pk=pk)
    draft = r.state == r.State.DRAFT
    config = {
        "report": payloads.report_payload(r),
        "urls": {
            "api": reverse("briefing-report-detail", args=[r.pk]),
            "publish": reverse("briefing-report-publish", args=[r.pk]),
            "redraft": reverse("briefing-report-redraft", args=[r.pk]),
            "preview": reverse("briefing-preview"),
            "analyses": reverse("analysis-list"),
            "hotspot_analyse": reverse("hotspot-analyse"),
            "workspace": reverse("intel:workspace"),
        },
        "t": {
            "saved": _("Saved."),
            "stale": _("Someone saved this report since you loaded it: reload it first."),
            "published": _("Published."),
            "failed": _("Not done:"),
        },
    }
    return render(
        request,
        "briefing/report.html",
        {
            "r": r,
            "sections": selectors.section_rows(r),
            "suggestions": selectors.report_suggestions(r),
            "html": rendering.markdown_html(r.body),
            "can_edit": draft and _can(request, r.org, services.EDIT_ROLES),
            "can_publish": draft and _can(request, r.org, services.PUBLISH_ROLES),
            "can_analyse": _can(request, r.org, [*services.EDIT_ROLES, Role.DUTY_OFFICER, Role.SUPERVISOR]),
            "config": config,
        },
    )


def _duty(request: HttpRequest, log_id: int) -> HttpResponse:
    log = get_object_or_404(selectors.visible_duty_logs(request.user), pk=log_id)
    return render(
        request,
        "briefing/duty.html",
        {
            "log": log,
            "entries": selectors.entry_rows(log),
            "notes": list(log.notes.select_related("author__person")),
            "can_write": log.state == log.State.OPEN and _can(request, log.org, services.DUTY_ROLES),
            "config": {
                "log": log.pk,
                "urls": {
                    "api": reverse("briefing-duty-log-detail", args=[log.pk]),
                    "notes": reverse("briefing-duty-log-notes", args=[log.pk]),
                    "sign": reverse("briefing-duty-log-sign", args=[log.pk]),
                },
                "t": {"failed": _("Not done:")},
            },
        },
    )


@login_required
def duty_page(request: HttpRequest) -> HttpResponse:
    """Today's log of the person's station, generated from its rows now (while open)."""
    station = selectors.own_station(request.user)
    if station is None:
        raise Http404
    log = services.duty_log_for(org=station, day=timezone.localdate())
    return _duty(request, log.pk)


@login_required
def duty_log_page(request: HttpRequest, pk: int) -> HttpResponse:
    """One duty log of the person's subtree (a county reads its stations')."""
    return _duty(request, pk)
