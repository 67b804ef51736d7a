"""Pages of 网情 (online public opinion): the monitor (a live stream of flagged posts, events with their
growth, open warnings, the spike chart, watch-list hits and the watch-list editor), an event's page and a
post's page. Each page is a shell: rows come from /api/sentiment/ (the one contract, docs in api.py), live
pushes over /ws/board/ (static/js/sentiment.js, sentiment_event.js), actions through the API — the 研判
button posts to intel's /api/analyses/ and opens the workspace on the new analysis.

Who: analysts, commanders, duty officers and supervisors of an area read its 网情; analysts and commanders
also turn a warning, an event or a post into a 研判 (intel's ANALYSIS_ROLES decide, the API refuses
anyone else; the button only follows them). Station officers are sent to their inbox; anyone else gets 403.
An event or a post outside the reader's area is a 404, scoped as the API scopes it (orgs.restrict).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from command_center import links, orgs, screens
from command_center.models import Role

from .models import Event, Polarity, Post, Risk, Warning

PAGE_ROLES = [Role.ANALYST, Role.COMMANDER, Role.DUTY_OFFICER, Role.SUPERVISOR]
# Who may turn 网情 into a 研判: intel's ANALYSIS_ROLES (sentiment imports no intel: the same list, and the
# API is the judge; a button shown to someone it refuses would only say so).
JUDGE_ROLES = [Role.ANALYST, Role.COMMANDER]
WATCH_ROLES = [Role.ANALYST, Role.COMMANDER, Role.DUTY_OFFICER]
# Who is offered a warning's CAP alert for the public: intel's cap.PUBLISH_ROLES (the API decides; a test
# holds the two lists equal).
CAP_ROLES = [Role.COMMANDER]


def _has(request: HttpRequest, roles: Sequence[str]) -> bool:
    if request.user.is_superuser:
        return True
    person = orgs.person_of(request.user)
    return person is not None and person.has_role(*roles)


def _allowed(request: HttpRequest) -> None:
    if not _has(request, PAGE_ROLES):
        raise PermissionDenied


def _url(name: str, *args: Any) -> str:
    """A URL of an app above sentiment (intel's analyses), named, never imported; '' when it is not there."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


def labels() -> dict[str, Any]:
    """Names the sentiment scripts show, in the request's language."""
    return {
        "risk": {str(v.value): str(v.label) for v in Risk if v.value},
        "polarity": {str(v.value): str(v.label) for v in Polarity},
        "warning_kind": {str(v.value): str(v.label) for v in Warning.Kind},
        "warning_state": {str(v.value): str(v.label) for v in Warning.State},
        "t": {
            **screens.live_labels(),
            "judge": _("Analyse (研判)"),
            "judging": _("Opening the analysis…"),
            "judge_failed": _("The analysis was not created"),
            "dismiss": _("Dismiss"),
            "dismiss_confirm": _("Dismiss this warning? It leaves the list."),
            "posts": _("posts"),
            "reach": _("reach"),
            "police": _("Police-related (涉警)"),
            "no_posts": _("No flagged posts yet."),
            "no_events": _("No events in the last 48 hours."),
            "no_warnings": _("No open warnings."),
            "no_hits": _("No watch-list hits yet."),
            "no_event_warnings": _("No warnings on this event."),
            "no_analyses": _("No analyses made from it yet."),
            "no_watchlists": _("No watch lists yet."),
            "baseline": _("baseline"),
            "count": _("Posts per hour"),
            "mean": _("Mean"),
            "threshold": _("Threshold (mean + k·σ)"),
            "warning": _("Warning"),
            "all_topics": _("All topics"),
            "no_data": _("No posts in this window."),
            "edit": _("Edit"),
            "deactivate": _("Deactivate"),
            "activate": _("Activate"),
            "inactive": _("Inactive"),
            "hits": _("hits"),
            "saved": _("Saved"),
            "save": _("Save"),
            "create": _("Create"),
            "failed": _("Not done"),
            "event": _("Event"),
            "first_seen": _("First seen"),
            "last_seen": _("Last seen"),
            "analyses": _("Analyses made from it"),
            "analysed": _("Analysed"),
            "open_event": _("Open the event"),
            "cap": _("CAP alert for the public"),
            "why": _("Why it was flagged"),
            "matched": _("matched"),
            "watch_hit": _("Watched (布控)"),
            "more": _("More"),
            "negative": _("Negative"),
            "neutral": _("Neutral"),
            "positive": _("Positive"),
            "hour_count": _("%(count)s posts in the hour (baseline %(mean)s ± %(sd)s)"),
            "acknowledge": _("Got it"),
            "acknowledged": _("Acknowledged"),
            "feeds": _("Feeds"),
            "feeds_ok": _("%(n)s feeds, all pulling"),
            "feeds_failing": _("%(bad)s of %(n)s feeds failing"),
            "feed_failing": _("failing since %(when)s: %(error)s"),
        },
    }


def _api() -> dict[str, str]:
    """The API's addresses (sentiment/urls.py), for the scripts."""
    return {
        "state": reverse("sentiment-state"),
        "spikes": reverse("sentiment-spikes"),
        "posts": reverse("sentiment-post-list"),
        "events": reverse("sentiment-event-list"),
        "warnings": reverse("sentiment-warning-list"),
        "watchlists": reverse("sentiment-watchlist-list"),
        "hit": reverse("sentiment-hit-acknowledge", args=[0]),
    }


def _page_context(request: HttpRequest) -> dict[str, Any]:
    return {
        "api": _api(),
        "labels": labels(),
        "can_judge": _has(request, JUDGE_ROLES) and bool(_url("analysis-list")),
        "analyses_url": _url("analysis-list"),
        "workspace_url": _url("intel:workspace"),
        "cap_url": _url("cap-sentiment-warning", 0) if _has(request, CAP_ROLES) else "",
    }


@login_required
def monitor(request: HttpRequest) -> HttpResponse:
    """网情监测: the area's flagged posts as they arrive, its events and warnings, the spike chart, the
    watch lists."""
    if not _has(request, PAGE_ROLES):
        if _has(request, [Role.STATION_OFFICER]):
            return redirect("dispatch:inbox")
        raise PermissionDenied
    person = orgs.person_of(request.user)
    return render(
        request,
        "sentiment/monitor.html",
        {
            **_page_context(request),
            "org_name": person.org.name if person else "",
            "org_id": person.org_id if person else "",
            "can_watch": _has(request, WATCH_ROLES),
            "colours": [(v.value, v.label) for v in Risk if v.value],
        },
    )


@login_required
def event_page(request: HttpRequest, pk: int) -> HttpResponse:
    """An event: its figures, growth, polarity mix, places, top posts, warnings and the analyses made."""
    _allowed(request)
    event = orgs.restrict(Event.objects.select_related("org"), request.user).filter(pk=pk).first()
    if event is None:
        raise Http404
    made = links.collect("sentiment.event", [event.pk], request.user).get(event.pk, [])
    return render(request, "sentiment/event.html", {**_page_context(request), "event": event, "analyses": made})


@login_required
def post_page(request: HttpRequest, pk: int) -> HttpResponse:
    """A post: its text and figures, why it was flagged, its terms, topics, places and event."""
    _allowed(request)
    post = orgs.restrict(Post.objects.select_related("org", "source", "event"), request.user).filter(pk=pk).first()
    if post is None:
        raise Http404
    made = links.collect("sentiment.post", [post.pk], request.user).get(post.pk, [])
    return render(request, "sentiment/post.html", {**_page_context(request), "post": post, "analyses": made})
