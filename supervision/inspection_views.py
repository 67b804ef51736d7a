"""The inspection queue page (数字督察): open findings with their subjects in words, confirm or dismiss with
a reason, and the rules with their counts and dismissal rates. A shell: rows over the API, actions through
it (static/js/inspection.js). Supervisors and commanders; station officers go to their inbox."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from command_center import orgs
from command_center.models import Role

from .inspection import DECIDE_ROLES, may_set_rules


@login_required
def inspection_queue(request: HttpRequest) -> HttpResponse:
    person = orgs.person_of(request.user)
    if not request.user.is_superuser and (person is None or not person.has_role(*DECIDE_ROLES)):
        if person is not None and person.has_role(Role.STATION_OFFICER):
            return redirect("dispatch:inbox")
        raise PermissionDenied
    return render(
        request,
        "supervision/inspection.html",
        {"org_name": person.org.name if person else "", "can_set_rules": may_set_rules(request.user)},
    )
