"""How the sentiment app's rows read on the wire: the API's rows and the pushes are the same dicts, so a
screen that reloads sees what the pushes showed (docs/architecture.md, live screens)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from command_center import codes

from .models import Event, Post, Warning, WatchHit


def _cat(code: str) -> dict[str, str]:
    row = codes.active_categories().get(code)
    return {"code": code, "name": row.local_name if row else code}


def category_name(code: str) -> str:
    return _cat(code)["name"] if code else ""


def post_row(p: Post, *, hits: Iterable[WatchHit] = ()) -> dict[str, Any]:
    source = p.source
    return {
        "id": p.pk,
        "source": {"code": source.code, "name": source.name},
        "external_id": p.external_id,
        "author": p.author,
        "url": p.url,
        "text": p.text,
        "published_at": p.published_at,
        "received_at": p.received_at,
        "place": p.place,
        "lat": p.lat,
        "lon": p.lon,
        "reposts": p.reposts,
        "comments": p.comments,
        "likes": p.likes,
        "polarity": p.polarity,
        "polarity_score": p.polarity_score,
        "police": p.police,
        "police_terms": p.police_terms,
        "categories": [_cat(c) for c in p.categories],
        "category": p.category,
        "topic_terms": p.topic_terms,
        "places": p.places,
        "org": p.org_id,
        "org_name": p.org.name,
        "risk": p.risk,
        "flagged": p.flagged,
        "event": p.event_id,
        "model": p.model,
        "hits": [{"watch": h.watch_id, "name": h.watch.name, "matched": h.matched} for h in hits],
    }


def hit_row(h: WatchHit, p: Post) -> dict[str, Any]:
    return {
        "id": h.pk,
        "watch": h.watch_id,
        "name": h.watch.name,
        "colour": h.watch.colour,
        "org": h.org_id,
        "post": post_row(p, hits=[h]),
        "matched": h.matched,
        "created_at": h.created_at,
        "acknowledged_at": h.acknowledged_at,
    }


def event_row(e: Event) -> dict[str, Any]:
    return {
        "id": e.pk,
        "title": e.title,
        "category": e.category,
        "category_name": category_name(e.category),
        "org": e.org_id,
        "org_name": e.org.name,
        "first_seen": e.first_seen,
        "last_seen": e.last_seen,
        "posts_n": e.posts_n,
        "negative_n": e.negative_n,
        "neutral_n": e.neutral_n,
        "positive_n": e.positive_n,
        "reach": e.reach,
        "places": e.places,
        "risk": e.risk,
        "version": e.version,
    }


def warning_row(w: Warning, *, analyses: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "id": w.pk,
        "kind": w.kind,
        "colour": w.colour,
        "org": w.org_id,
        "org_name": w.org.name,
        "category": w.category,
        "category_name": category_name(w.category),
        "hour": w.hour,
        "count": w.count,
        "baseline_mean": w.baseline_mean,
        "baseline_sd": w.baseline_sd,
        "reason": w.reason,
        "state": w.state,
        "event": w.event_id,
        "posts_n": n if (n := getattr(w, "posts_count", None)) is not None else w.posts.count(),
        "created_at": w.created_at,
        "analyses": analyses if analyses is not None else [],
    }
