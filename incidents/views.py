"""Incident pages: intake (接警), the list with filters and export, the detail with its timeline and
actions, and the partner's diversion inbox. Pages read through the scoped selectors; every action is a
call to the API from the page (static/js/incidents.js), so pages and API share one write path."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from command_center import codes, orgs, screens
from command_center.models import HandlingResult, Org, Role

from . import phones, selectors
from .api import ADDRESS_MAX, NARRATIVE_MAX, IncidentFilter, timeline
from .models import Callback, Diversion, LinkType, Satisfaction, Source, State
from .services import COMMAND_ROLES, CORRECT_ROLES, INTAKE_ROLES
from .transitions import INCIDENT, allowed_events


def _has_roles(request: HttpRequest, roles: Sequence[str]) -> bool:
    person = orgs.person_of(request.user)
    return bool(request.user.is_superuser or (person is not None and person.has_role(*roles)))


def _require_roles(request: HttpRequest, roles: Sequence[str]) -> None:
    if not _has_roles(request, roles):
        raise PermissionDenied


def intake_labels(user: Any) -> dict[str, Any]:
    """What the intake page's scripts show and call (static/js/desk.js), in the page's language, with what
    the apps above add (command_center.screens: dispatch's recommendations and dispatch call). `0` in a URL
    stands for the incident's id."""
    own: dict[str, Any] = {
        "urls": {
            "incident": reverse("incident-detail", args=[0]),
            "self_handle": reverse("incident-self-handle", args=[0]),
            "divert": reverse("incident-divert", args=[0]),
            "link": reverse("incident-link", args=[0]),
            "page": reverse("incidents:detail", args=[0]),
            "guide": reverse("guide-match"),
        },
        "partners": [{"id": p.pk, "name": p.name} for p in selectors.diversion_targets(user)],
        "phone": {"markers": list(phones.MARKERS), "error": phones.phone_error()},
        "limits": {"address": ADDRESS_MAX, "narrative": NARRATIVE_MAX},
        "t": {
            "saved": _("Saved as"),
            "loading": _("Loading…"),
            "failed": _("Not done"),
            "too_long": _("At most %(n)s characters; this has %(len)s."),
            "required": _("This field is required."),
            "next_call": _("New call (F2)"),
            "keys": _(
                "Enter: first unit · 1–9: that unit · Shift+1–9: its station, sent after 5 s (Enter: now · Esc: undo)"
                " · F2: next call"
            ),
            "self_handle": _("Handle it ourselves"),
            "self_handled": _("Marked self-handled"),
            "divert": _("Divert"),
            "diverted": _("Diverted to"),
            "link": _("Same event: link"),
            "linked": _("Linked"),
            "no_position": _("No position: recommendations need a point on the map."),
            "leave": _("This call is not saved. Leave the page and lose it?"),
            "not_allowed": _("No action is open in this state."),
            "guide": _("Handling guide"),
            "req": _("required"),
            "proposal": _("Proposed diversion"),
            "confirm_divert": _("Confirm the diversion (D)"),
            "diverting": _("Diverting"),
            "rule": _("rule"),
        },
    }
    extra = screens.labels(screens.INTAKE)
    return {**own, **{k: v for k, v in extra.items() if k != "t"}, "t": {**own["t"], **extra.get("t", {})}}


@login_required
def intake(request: HttpRequest) -> HttpResponse:
    _require_roles(request, INTAKE_ROLES)
    person = orgs.person_of(request.user)
    center = person.org if person else Org.objects.filter(depth=1).first()
    return render(
        request,
        "incidents/intake.html",
        {
            "sources": Source.choices,
            "link_types": LinkType.choices,
            "tile_url": settings.MAP_TILE_URL,
            "center": center,
            "intake_labels": intake_labels(request.user),
            "phone_markers": phones.MARKERS,
        },
    )


@login_required
def incident_list(request: HttpRequest) -> HttpResponse:
    qs = selectors.visible_incidents(request.user).select_related("category", "org")
    f = IncidentFilter(request.GET, queryset=qs)
    page = Paginator(f.qs if f.is_valid() else qs.none(), 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "incidents/list.html",
        {"filter": f, "page": page, "states": State.choices, "query": query.urlencode()},
    )


@login_required
def incident_detail(request: HttpRequest, pk: int) -> HttpResponse:
    incident = (
        selectors.visible_incidents(request.user).select_related("category", "org", "intake_org").filter(pk=pk).first()
    )
    if incident is None:
        raise Http404
    if selectors.reads_as_partner(request.user):
        # What the diversion needs (api.PartnerIncidentSerializer): no caller, actions, timeline or hints.
        return render(request, "incidents/detail.html", {"incident": incident, "partner_view": True})
    phone = (
        incident.caller_phone if selectors.sees_phones(request.user) else selectors.mask_phone(incident.caller_phone)
    )
    hints = selectors.hints_for(request.user, incident)
    return render(
        request,
        "incidents/detail.html",
        {
            "incident": incident,
            "may_command": _has_roles(request, COMMAND_ROLES) and orgs.can_act(request.user, incident.org),
            "may_correct": _has_roles(request, CORRECT_ROLES) and orgs.can_act(request.user, incident.org),
            "categories": sorted(codes.active_categories().values(), key=lambda c: c.code),
            "levels": [1, 2, 3, 4],
            "address_max": ADDRESS_MAX,
            "narrative_max": NARRATIVE_MAX,
            # What the apps above add: dispatch's orders with 撤派 / 改派 (command_center.screens).
            "panels": screens.panels(screens.INCIDENT_PAGE, request.user, incident.pk),
            "phone": phone,
            "timeline": timeline(incident, request.user),
            "hints": hints,
            "allowed": allowed_events(INCIDENT, incident.state),
            "partners": selectors.diversion_targets(request.user),
            "proposal": selectors.open_proposal(request.user, incident),
            # The handling guide (处置指引) the feedback form's checklist shows, ticked by whoever files it.
            "guide": selectors.guide_for(incident.category_id, incident.level),
            "results": HandlingResult.objects.filter(active=True),
            "satisfactions": Satisfaction.choices,
            "channels": Callback.Channel.choices,
            "has_callback": Callback.objects.filter(incident=incident).exists(),
            "tile_url": settings.MAP_TILE_URL,
        },
    )


PARTNER_INBOX_ROLES = [Role.PARTNER, Role.DUTY_OFFICER, Role.COMMANDER]
# Who reads the auto-diversion rules' counters (the command center's people).
RULES_ROLES = [*COMMAND_ROLES, Role.SUPERVISOR, Role.ANALYST, Role.ADMIN]


def partner_inbox_labels() -> dict[str, Any]:
    """What the live partner inbox (static/js/partnerinbox.js) shows, in the page's language; the clocks'
    names come from the page's CLOCK_LABELS (CCFmt.clockLabel)."""
    return {
        "state": {s.value: str(s.label) for s in Diversion.State},
        "t": {
            **screens.live_labels(),
            "sound_on": _("Sound on"),
            "sound_off": _("Sound off"),
            "sound_enable": _("Tap to enable sound"),
            "failed": _("Not done"),
            "breach": _("Overdue"),
            "accept": _("Accept"),
            "complete": _("Complete"),
            "submit_complete": _("File the result and finish"),
            "return": _("Return"),
            "return_reason": _("Why it is not ours"),
            "result": _("What was done"),
            "note": _("Note"),
            "result_label": _("Result"),
            "returned": _("Returned"),
            "pushed": _("diverted"),
            "met": _("on time"),
            "met_late": _("late"),
            "nothing": _("Nothing here."),
        },
    }


@login_required
def partner_inbox(request: HttpRequest) -> HttpResponse:
    """分流工单: a shell that loads its state over REST (GET /api/diversions/inbox/), follows /ws/board/ and
    acts through the diversions API (static/js/partnerinbox.js)."""
    _require_roles(request, PARTNER_INBOX_ROLES)
    person = orgs.person_of(request.user)
    return render(
        request,
        "incidents/partner_inbox.html",
        {
            "screen_labels": partner_inbox_labels(),
            "org_name": person.org.name if person else "",
            # The desk that diverts follows its rules' counters from here.
            "show_rules": _has_roles(request, RULES_ROLES),
        },
    )


@login_required
def diversion_rules(request: HttpRequest) -> HttpResponse:
    """非警务警情自动分流: the rules with their counters over the reader's area (selectors.rule_stats; the same
    as GET /api/diversion-rules/), for the command center."""
    _require_roles(request, RULES_ROLES)
    return render(
        request,
        "incidents/diversion_rules.html",
        {
            "rules": selectors.rule_stats(request.user),
            "may_edit": request.user.has_perm("incidents.change_diversionrule"),
        },
    )
