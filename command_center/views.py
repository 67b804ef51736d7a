"""Kernel pages: login/logout (Django's views with our templates) and the home page."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from . import orgs


@dataclass
class Area:
    title: str | Promise
    description: str | Promise
    url: str


def areas_for(request: HttpRequest) -> list[Area]:
    """The parts of the platform that exist today and that this user may open."""
    from .context import navigation

    items = [Area(n["title"], "", n["url"]) for n in navigation(request)["nav"]]
    items += [
        Area(_("API documentation"), _("Every endpoint, tried out in the browser."), reverse("api-docs")),
        Area(_("My account (API)"), _("Who the system thinks you are, as JSON."), reverse("api-me")),
        Area(_("Organisations (API)"), _("The part of the org tree you may see."), reverse("api-orgs")),
        Area(_("Incident categories (API)"), _("The four-level category table."), reverse("api-categories")),
        Area(_("System health"), _("Database, Redis, worker and clock sweeper."), reverse("healthz")),
    ]
    if getattr(request.user, "is_staff", False):
        items.insert(0, Area(_("Administration"), _("Org tree, people, code tables."), reverse("admin:index")))
    return items


@login_required
def home(request: HttpRequest) -> HttpResponse:
    person = orgs.person_of(request.user)
    lineage = person.org.lineage() if person else []
    return render(
        request,
        "home.html",
        {
            "person": person,
            "lineage": lineage,
            "role_labels": [orgs.Role(r).label for r in person.roles] if person else [],
            "areas": areas_for(request),
        },
    )
