"""Reads of the sentiment app, scoped like everything else: a post, an event or a warning belongs to the org
whose area it lies in, and is read by that org's subtree's ancestors and by the org itself (orgs.restrict);
a post a watch list caught is read by the watching org too."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncHour
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from command_center import links, orgs, realtime
from command_center.models import Org

from . import payloads
from .models import Event, Feed, Polarity, Post, Risk, Warning, WatchHit, WatchList
from .services import rule_for


def _hit_posts(org: Org) -> QuerySet[Any]:
    return WatchHit.objects.filter(org=org).values("post_id")


def visible_posts(user: Any) -> QuerySet[Post]:
    return orgs.restrict(Post.objects.all(), user, addressed=[_hit_posts]).select_related("source", "org")


def visible_events(user: Any) -> QuerySet[Event]:
    return orgs.restrict(Event.objects.all(), user).select_related("org")


def visible_warnings(user: Any) -> QuerySet[Warning]:
    qs = orgs.restrict(Warning.objects.all(), user).select_related("org").annotate(posts_count=Count("posts"))
    return qs.order_by("-created_at", "-id")  # an aggregate drops Meta.ordering


def visible_watch_lists(user: Any) -> QuerySet[WatchList]:
    qs = orgs.restrict(WatchList.objects.all(), user).select_related("org").annotate(hits_n=Count("hits"))
    return qs.order_by("org__path", "name", "id")  # an aggregate drops Meta.ordering


def visible_hits(user: Any) -> QuerySet[WatchHit]:
    return orgs.restrict(WatchHit.objects.all(), user).select_related("watch", "post__source", "post__org")


def hits_of(posts: list[Post], user: Any) -> dict[int, list[WatchHit]]:
    out: dict[int, list[WatchHit]] = {}
    for h in visible_hits(user).filter(post__in=[p.pk for p in posts]):
        out.setdefault(h.post_id, []).append(h)
    return out


def post_rows(posts: list[Post], user: Any) -> list[dict[str, Any]]:
    hits = hits_of(posts, user)
    return [payloads.post_row(p, hits=hits.get(p.pk, [])) for p in posts]


def warning_rows(warnings: list[Warning], user: Any) -> list[dict[str, Any]]:
    found = links.collect("sentiment.warning", [w.pk for w in warnings], user)
    return [payloads.warning_row(w, analyses=found.get(w.pk, [])) for w in warnings]


def _local_day_start(now: datetime) -> datetime:
    return timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)


def counts(user: Any, now: datetime | None = None) -> dict[str, int]:
    """Today's posts in the user's area (Asia/Shanghai day): all, flagged, negative."""
    today = visible_posts(user).filter(published_at__gte=_local_day_start(now or timezone.now()))
    agg = today.aggregate(
        n=Count("id"),
        flagged=Count("id", filter=Q(flagged=True)),
        negative=Count("id", filter=Q(polarity=Polarity.NEGATIVE)),
    )
    return {"today": agg["n"], "flagged_today": agg["flagged"], "negative_today": agg["negative"]}


def top_events(user: Any, *, limit: int = 10, hours: int = 48) -> list[dict[str, Any]]:
    since = timezone.now() - timedelta(hours=hours)
    rows = visible_events(user).filter(last_seen__gte=since).order_by("-posts_n", "-last_seen")[:limit]
    return [payloads.event_row(e) for e in rows]


def monitor_state(user: Any) -> dict[str, Any]:
    """The monitor's state; `seq` read first, so no push older than it is missing from the rows."""
    person = orgs.person_of(user)
    seq = realtime.current_seq(realtime.org_group(person.org_id)) if person else 0
    posts = list(visible_posts(user).filter(flagged=True).order_by("-received_at", "-id")[:50])
    hits = list(visible_hits(user).order_by("-created_at", "-id")[:20])
    return {
        "seq": seq,
        "posts": post_rows(posts, user),
        "events": top_events(user),
        "warnings": warning_rows(list(visible_warnings(user).filter(state=Warning.State.OPEN)[:50]), user),
        "hits": [payloads.hit_row(h, h.post) for h in hits],
        "counts": counts(user),
        "feeds": feeds_health(),
    }


def feeds_health() -> list[dict[str, Any]]:
    """The active feeds and whether each is failing (the desk sees a silent source at once; the URL and the
    authorisation header stay in the admin)."""
    return [
        {
            "name": f.name,
            "source": f.source.name,
            "failing": f.failing,
            "failures": f.failures,
            "last_error": f.last_error,
            "last_ok_at": f.last_ok_at,
            "next_pull_at": f.next_pull_at,
        }
        for f in Feed.objects.filter(active=True).select_related("source").order_by("-failures", "name")[:50]
    ]


def wall(user: Any) -> dict[str, Any]:
    """The big screen's 网情 strip: today's counts and the top events of the area."""
    return {**counts(user), "events": top_events(user, limit=5, hours=24)}


def growth(event: Event) -> list[dict[str, Any]]:
    """Posts per hour (Asia/Shanghai) from the event's first post to its last, with empty hours as 0."""
    tz = timezone.get_default_timezone()
    rows = (
        Post.objects.filter(event=event)
        .annotate(h=TruncHour("published_at", tzinfo=tz))
        .values("h")
        .annotate(n=Count("id"))
        .order_by("h")
    )
    found = {r["h"]: r["n"] for r in rows}
    if not found:
        return []
    start, end = min(found), max(found)
    out: list[dict[str, Any]] = []
    h = start
    while h <= end and len(out) < 24 * 14:
        out.append({"hour": h, "n": found.get(h, 0)})
        h = timezone.localtime(h + timedelta(hours=1))
    return out


def spike_series(user: Any, *, hours: int = 48, category: str | None = None, org: Org | None = None) -> dict[str, Any]:
    """The spike chart: hourly counts per main topic in the user's area over the last `hours`, with each
    hour's baseline (the same hour of the previous days: mean and σ) by the area's spike rule."""
    person = orgs.person_of(user)
    area = org or (person.org if person else Org.objects.get_first_root_node())
    assert area is not None
    rule = rule_for(area)
    now = timezone.localtime()
    end = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    start = end - timedelta(hours=hours)
    qs = visible_posts(user).filter(
        org__path__startswith=area.path, published_at__gte=start - timedelta(days=rule.days)
    )
    qs = qs.exclude(category="")
    if category:
        qs = qs.filter(category=category)
    tz = timezone.get_default_timezone()
    rows = qs.annotate(h=TruncHour("published_at", tzinfo=tz)).values("category", "h").annotate(n=Count("id"))
    counts_by: dict[str, dict[datetime, int]] = {}
    for r in rows:
        counts_by.setdefault(r["category"], {})[r["h"]] = r["n"]
    hours_list = [timezone.localtime(start + timedelta(hours=i)) for i in range(hours)]
    series = []
    for cat, by_hour in sorted(counts_by.items(), key=lambda kv: -sum(kv[1].values())):
        window = [by_hour.get(h, 0) for h in hours_list]
        if not any(window):
            continue
        means, sds = [], []
        for h in hours_list:
            past = [by_hour.get(h - timedelta(days=d), 0) for d in range(1, rule.days + 1)]
            mean = sum(past) / len(past)
            sd = (sum((c - mean) ** 2 for c in past) / len(past)) ** 0.5
            means.append(round(mean, 3))
            sds.append(round(sd, 3))
        series.append(
            {"category": cat, "category_name": payloads.category_name(cat), "counts": window, "mean": means, "sd": sds}
        )
    warnings = list(visible_warnings(user).filter(hour__gte=start, kind=Warning.Kind.SPIKE).order_by("hour")[:200])
    return {
        "hours": hours_list,
        "k": {"blue": rule.k_blue, "yellow": rule.k_yellow, "red": rule.k_red},
        "series": series[:8],
        "warnings": warning_rows(warnings, user),
    }


# --- The dispatch board's strip --------------------------------------------------------------------------------

BOARD_ALERT_HOURS = 24
MAX_BOARD_ALERTS = 20


def board_alerts(user: Any) -> list[dict[str, Any]]:
    """网情 on the dispatch board's strip (screens.provide_alerts): the area's watch hits not yet acknowledged
    and its open red and yellow warnings, of the last day, newest first; each links to its page."""
    since = timezone.now() - timedelta(hours=BOARD_ALERT_HOURS)
    out: list[dict[str, Any]] = []
    hits = (
        visible_hits(user)
        .filter(acknowledged_at__isnull=True, created_at__gte=since)
        .select_related("org")
        .order_by("-created_at", "-id")[:MAX_BOARD_ALERTS]
    )
    for h in hits:
        out.append(
            {
                "key": f"sentiment-hit:{h.pk}",
                "kind": "sentiment_hit",
                "at": h.created_at,
                "colour": h.watch.colour,
                "org_name": h.org.name,
                "label": h.watch.name,
                "text": h.post.text[:80],
                "url": reverse("sentiment:post", args=[h.post_id]),
            }
        )
    warnings = (
        visible_warnings(user)
        .filter(state=Warning.State.OPEN, colour__in=[Risk.RED, Risk.YELLOW], created_at__gte=since)
        .order_by("-created_at", "-id")[:MAX_BOARD_ALERTS]
    )
    for w in warnings:
        out.append(
            {
                "key": f"sentiment-warning:{w.pk}",
                "kind": "sentiment_warning",
                "at": w.created_at,
                "colour": w.colour,
                "org_name": w.org.name,
                "label": payloads.category_name(w.category),
                "text": w.reason,
                "url": reverse("sentiment:monitor") + f"?warning={w.pk}",
            }
        )
    return out


def board_labels() -> dict[str, Any]:
    """What the dispatch board's script needs for 网情 alerts that arrive by push (in the request's language)."""
    return {
        "urls": {
            "sentiment_post": reverse("sentiment:post", args=[0]),
            "sentiment_monitor": reverse("sentiment:monitor"),
        },
        "t": {"sentiment_hit": _("Watch-list hit (布控)"), "sentiment_warning": _("网情 warning")},
    }
