"""Kernel pages: login/logout (Django's views with our templates), the home page, the site's icon and the
error pages (the API answers its errors as JSON)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.views import defaults
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from . import orgs


@dataclass
class Area:
    title: str | Promise
    description: str | Promise
    url: str


def areas_for(request: HttpRequest) -> list[Area]:
    """The screens this user may open. The API and health pages only for staff, who run the platform: the
    people on duty work on screens, not on endpoints."""
    from .context import navigation

    items = [Area(n["title"], "", n["url"]) for n in navigation(request)["nav"]]
    if getattr(request.user, "is_staff", False):
        items += [
            Area(_("Administration"), _("Org tree, people, code tables."), reverse("admin:index")),
            Area(_("API documentation"), _("Every endpoint, tried out in the browser."), reverse("api-docs")),
            Area(_("System health"), _("Database, Redis, worker and clock sweeper."), reverse("healthz")),
        ]
    return items


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Each role's working screen (context.LANDING); the home page for whoever has none: a volunteer reads
    what a volunteer does here, an account without an organisation reads whom to ask."""
    from .context import landing_url

    target = landing_url(request.user)
    if target:
        return redirect(target)
    person = orgs.person_of(request.user)
    lineage = person.org.lineage() if person else []
    return render(
        request,
        "home.html",
        {
            "person": person,
            "lineage": lineage,
            "role_labels": [orgs.Role(r).label for r in person.roles] if person else [],
            "volunteer": bool(person and orgs.Role.VOLUNTEER in person.roles),
            "areas": areas_for(request),
        },
    )


@cache
def _favicon() -> bytes:
    path = finders.find("favicon.ico")
    assert isinstance(path, str), "static/favicon.ico is missing"
    with open(path, "rb") as f:
        return f.read()


@require_GET
@cache_control(public=True, max_age=86400)
def favicon(request: HttpRequest) -> HttpResponse:
    """/favicon.ico, which browsers ask for whatever the page says (pages link static/favicon.svg)."""
    return HttpResponse(_favicon(), content_type="image/vnd.microsoft.icon")


# --- Error pages (urls.py's handler400/403/404/500) ------------------------------------------------------
# Pages get templates/<status>.html in the site's layout, in the visitor's language, with a way back and
# nothing of the error itself; /api/ gets DRF's shape, {"detail": ...}. Django's debug pages only with DEBUG=1.


def _api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def _api_error(status: int) -> JsonResponse:
    detail = {
        400: _("Bad request."),
        403: _("You do not have permission to perform this action."),
        404: _("Not found."),
        500: _("A server error occurred."),
    }[status]
    return JsonResponse({"detail": str(detail)}, status=status, json_dumps_params={"ensure_ascii": False})


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _api_error(400) if _api(request) else defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _api_error(403) if _api(request) else defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _api_error(404) if _api(request) else defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """Django renders 500.html without the request (no context processors, no database): the layout shows
    without the person's navigation."""
    return _api_error(500) if _api(request) else defaults.server_error(request)
