"""Incident pages: intake (接警), the list with filters and export, the detail with its timeline and
actions, and the partner's diversion inbox. Pages read through the scoped selectors; every action is a
call to the API from the page (static/js/incidents.js), so pages and API share one write path."""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from command_center import orgs
from command_center.models import HandlingResult, Org, Role

from . import selectors
from .api import IncidentFilter, timeline
from .models import Callback, Diversion, LinkType, Satisfaction, Source, State
from .services import INTAKE_ROLES
from .transitions import INCIDENT, allowed_events


def _require_roles(request: HttpRequest, roles: Sequence[str]) -> None:
    person = orgs.person_of(request.user)
    if not request.user.is_superuser and (person is None or not person.has_role(*roles)):
        raise PermissionDenied


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
            "phone": phone,
            "timeline": timeline(incident, request.user),
            "hints": hints,
            "allowed": allowed_events(INCIDENT, incident.state),
            "partners": Org.objects.filter(kind=Org.Kind.PARTNER).order_by("name"),
            "results": HandlingResult.objects.filter(active=True),
            "satisfactions": Satisfaction.choices,
            "channels": Callback.Channel.choices,
            "has_callback": Callback.objects.filter(incident=incident).exists(),
            "tile_url": settings.MAP_TILE_URL,
        },
    )


@login_required
def partner_inbox(request: HttpRequest) -> HttpResponse:
    _require_roles(request, [Role.PARTNER, Role.DUTY_OFFICER, Role.COMMANDER])
    qs = orgs.restrict(
        Diversion.objects.select_related("incident__category", "partner"),
        request.user,
        org_field="incident__org",
        addressed_fields=["partner"],
    )
    state = request.GET.get("state", "")
    if state:
        qs = qs.filter(state=state)
    return render(
        request,
        "incidents/partner_inbox.html",
        {"diversions": qs[:200], "states": Diversion.State.choices, "state": state},
    )
