"""Writes of the sentiment app: posts in (every channel — the API, the file import, the feeds — goes through
`ingest`), events, watch lists and their hits, spike warnings. Each write is one transaction whose pushes go
out after commit (command_center/realtime.py).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q
from django.db.models.functions import TruncHour
from django.utils import timezone
from django.utils.translation import gettext as _

from command_center import codes, orgs, realtime
from command_center.errors import Refused
from command_center.models import Org, Role
from command_center.transitions import InvalidTransition

from . import payloads, scoring
from .inputs import PostIn
from .models import RISK_RANK, Event, Polarity, Post, Risk, Source, SpikeRule, Warning, WatchHit, WatchList
from .text import NEAR_JACCARD, ExpressionError, bands, compile_expression, shingles

MAX_BATCH = 1000
EVENT_WINDOW = timedelta(hours=72)  # a post joins an event whose posts it resembles within this window
EVENT_WARN_POSTS = 20  # an event that reaches this many posts within EVENT_WARN_WINDOW raises a warning
EVENT_WARN_WINDOW = timedelta(hours=1)
INGEST_ROLES = (Role.ADMIN, Role.ANALYST)
WATCH_ROLES = (Role.ADMIN, Role.ANALYST, Role.COMMANDER, Role.DUTY_OFFICER)


@dataclass
class IngestResult:
    stored: int = 0
    updated: int = 0
    refused: list[dict[str, Any]] = field(default_factory=list)
    post_ids: list[int] = field(default_factory=list)


def load_defaults() -> dict[str, tuple[int, int]]:
    """The shipped sources and the default spike rule (load_codes runs this; an admin's edits are kept)."""
    created = 0
    for row in scoring.default_sources():
        _, was = Source.objects.get_or_create(code=row["code"], defaults={"name": row["name"]})
        created += was
    _, rule = SpikeRule.objects.get_or_create(org=None)
    return {"sentiment sources": (created, 0), "sentiment spike rule": (int(rule), 0)}


# --- Posts in ---------------------------------------------------------------------------------------------


def ingest(items: Sequence[Any], *, actor: Any = None, channel: str = "api") -> IngestResult:
    """Store, score and group a batch of at most MAX_BATCH posts. Each item is checked on its own: the
    ones refused are named with their reasons (index in the batch, external id, field messages) and the
    rest are stored. A post already stored (same source and external id) gets its new metrics and counts as
    updated; it is not scored again. `actor`: the account pushing (None for the import and the feeds)."""
    if actor is not None and not getattr(actor, "is_superuser", False):
        person = orgs.person_of(actor)
        if person is None:
            raise PermissionDenied(_("Only people of the command center may send posts."))
        orgs.require(actor, person.org, roles=INGEST_ROLES)
        if person.org.depth != 1:
            # A post names no area until scoring finds its place; a second push of the same one would tell a
            # station that it exists in another's. Posts come in at the top: the 网情 desk, the integrations.
            raise PermissionDenied(_("Posts are sent by the top of the tree: the 网情 desk or an integration account."))
    if len(items) > MAX_BATCH:
        raise Refused("posts", _("At most %(n)d posts in one batch.") % {"n": MAX_BATCH})
    result = IngestResult()
    sources = {s.code: s for s in Source.objects.filter(active=True)}
    good: dict[tuple[int, str], dict[str, Any]] = {}
    for index, raw in enumerate(items):
        form = PostIn(data=raw, context={"sources": sources})
        if not form.is_valid():
            ext = raw.get("external_id") if isinstance(raw, dict) else None
            result.refused.append({"index": index, "external_id": ext, "errors": form.errors})
            continue
        data = form.validated_data
        good[(data["source"].pk, data["external_id"])] = data  # the last of a duplicate in the batch wins
    if not good:
        return result
    with transaction.atomic():
        _store(list(good.values()), result)
    return result


def _store(rows: list[dict[str, Any]], result: IngestResult) -> None:
    now = timezone.now()
    existing: dict[tuple[int, str], Post] = {}
    wanted = {(r["source"].pk, r["external_id"]) for r in rows}
    q = Q(source__in={k[0] for k in wanted}, external_id__in={k[1] for k in wanted})
    for p in Post.objects.filter(q).select_for_update():
        if (p.source_id, p.external_id) in wanted:
            existing[(p.source_id, p.external_id)] = p
    fresh = [r for r in rows if (r["source"].pk, r["external_id"]) not in existing]
    for r in rows:
        old = existing.get((r["source"].pk, r["external_id"]))
        if old is None:
            continue
        p = old
        m = r["metrics"]
        changed = (p.reposts, p.comments, p.likes) != (m["reposts"], m["comments"], m["likes"])
        if changed:
            Post.objects.filter(pk=p.pk).update(reposts=m["reposts"], comments=m["comments"], likes=m["likes"])
            if p.event_id:
                delta = sum(m.values()) - (p.reposts + p.comments + p.likes)
                Event.objects.filter(pk=p.event_id).update(reach=F("reach") + delta)
        result.updated += 1
        result.post_ids.append(p.pk)
    if not fresh:
        return
    scored = scoring.score(
        [
            {
                "text": r["text"],
                "place": r["place"],
                "lat": r["lat"],
                "lon": r["lon"],
                "reach": sum(r["metrics"].values()),
            }
            for r in fresh
        ]
    )
    root = scoring.root_id()
    posts = []
    for r, s in zip(fresh, scored, strict=True):
        b = bands(r["text"])
        posts.append(
            Post(
                source=r["source"],
                external_id=r["external_id"],
                author=r["author"],
                url=r["url"],
                text=r["text"],
                published_at=r["published_at"],
                received_at=now,
                place=r["place"],
                lat=r["lat"],
                lon=r["lon"],
                reposts=r["metrics"]["reposts"],
                comments=r["metrics"]["comments"],
                likes=r["metrics"]["likes"],
                polarity=s.polarity,
                polarity_score=s.polarity_score,
                police=s.police,
                police_terms=s.police_terms,
                categories=s.categories,
                category=s.category,
                topic_terms=s.topic_terms,
                places=s.places,
                org_id=s.org_id or root,
                risk=s.risk,
                flagged=s.risk != Risk.NONE,
                model=s.model,
                band0=b[0],
                band1=b[1],
                band2=b[2],
                band3=b[3],
            )
        )
    # Two pushes of one post at once: the second waits on the unique index and stores nothing new. Which rows
    # this call stored: those with its own `received_at` (a concurrent call has another); the others were the
    # other call's, which scores, groups and pushes them — they count as updated here.
    stored = Post.objects.bulk_create(posts, ignore_conflicts=True)
    ids = {
        (sid, ext): pk
        for sid, ext, pk in Post.objects.filter(q, received_at=now).values_list("source_id", "external_id", "pk")
        if (sid, ext) in wanted
    }
    created = [p for p in stored if ids.get((p.source_id, p.external_id)) is not None]
    result.updated += len(stored) - len(created)
    for p in created:
        p.pk = ids[(p.source_id, p.external_id)]
    result.stored += len(created)
    result.post_ids.extend(p.pk for p in created)
    watches = _active_watches()
    orgs_by_pk = Org.objects.in_bulk({p.org_id for p in created} | {w.row.org_id for w in watches})
    for p in created:
        p.org = orgs_by_pk[p.org_id]
    events = _group(created)
    hits = _watch(created, watches, now)
    newly_flagged = [p.pk for p in created if hits.get(p.pk) and not p.flagged]
    if newly_flagged:
        Post.objects.filter(pk__in=newly_flagged).update(flagged=True)
    pushes: list[tuple[Org, str, Any]] = []
    for p in created:
        mine = hits.get(p.pk, [])
        p.flagged = p.flagged or bool(mine)
        if p.flagged:
            pushes.append((p.org, "sentiment.post", payloads.post_row(p, hits=mine)))
        for h in mine:
            pushes.append((orgs_by_pk[h.org_id], "sentiment.hit", payloads.hit_row(h, p)))
    for e in events:
        pushes.append((e.org, "sentiment.event", payloads.event_row(e)))
    if pushes:
        realtime.broadcast_many_on_commit(pushes)


# --- Events -----------------------------------------------------------------------------------------------

CANDIDATES_MAX = 5000  # earlier posts a batch compares itself with, newest first
PER_BAND_MAX = 50  # of those, the newest per band value: a post is compared with at most 4 × this many


@dataclass(eq=False)
class _Seen:
    """A post as the grouping needs it: its text's shingles, its event, and what an event made of it takes."""

    pk: int
    shingles: set[str]
    event_id: int | None
    published_at: datetime
    org_id: int
    category: str
    places: list[str]
    risk: str
    polarity: str
    reach: int
    text: str
    stored: bool  # in the database before this batch (its event is set there, not by this batch)


def _seen_of(p: Post) -> _Seen:
    return _Seen(
        p.pk, shingles(p.text), p.event_id, p.published_at, p.org_id, p.category, [x["name"] for x in p.places],
        p.risk, p.polarity, p.reposts + p.comments + p.likes, p.text, False,
    )  # fmt: skip


def _group(posts: list[Post]) -> list[Event]:
    """Group a batch's new posts with their near-duplicates (text.py): each post joins the event of a
    near-duplicate within EVENT_WINDOW — one already in an event first, the most similar among those — or
    makes an event with the most similar lone one. The earlier posts that can match are read in one query;
    the events touched are locked in id order and updated once each. Returns the events that changed."""
    if not posts:
        return []
    ordered = sorted(posts, key=lambda x: (x.published_at, x.pk))
    keys = [{getattr(p, f"band{i}") for p in ordered} for i in range(4)]
    rows = (
        Post.objects.filter(
            Q(band0__in=keys[0]) | Q(band1__in=keys[1]) | Q(band2__in=keys[2]) | Q(band3__in=keys[3]),
            published_at__gte=ordered[0].published_at - EVENT_WINDOW,
            published_at__lte=ordered[-1].published_at + EVENT_WINDOW,
        )
        .exclude(pk__in=[p.pk for p in ordered])
        .order_by("-published_at", "-pk")
        .values_list(
            "pk", "text", "event_id", "published_at", "org_id", "category", "places", "risk", "polarity",
            "reposts", "comments", "likes", "band0", "band1", "band2", "band3",
        )[:CANDIDATES_MAX]
    )  # fmt: skip
    index: dict[tuple[int, int], list[_Seen]] = defaultdict(list)
    for pk, text, event_id, at, org_id, cat, places, risk, pol, rp, cm, lk, *bs in rows:
        seen = _Seen(pk, shingles(text), event_id, at, org_id, cat, [x["name"] for x in places], risk, pol,
                     rp + cm + lk, text, True)  # fmt: skip
        for i, b in enumerate(bs):
            bucket = index[(i, b)]
            if len(bucket) < PER_BAND_MAX:
                bucket.append(seen)
    joined: dict[int, list[_Seen]] = defaultdict(list)  # event id -> the posts this batch adds to it
    assign: dict[int, int] = {}  # post id -> event id, for the batch's posts and claimed earlier ones
    for p in ordered:
        me = _seen_of(p)
        best: tuple[bool, float, _Seen] | None = None
        compared: set[int] = set()
        for i in range(4):
            for other in index.get((i, getattr(p, f"band{i}")), ()):
                if other.pk in compared:  # the same post under another band
                    continue
                compared.add(other.pk)
                union = len(me.shingles | other.shingles)
                j = len(me.shingles & other.shingles) / union if union else 1.0
                if j >= NEAR_JACCARD and (best is None or (other.event_id is not None, j) > best[:2]):
                    best = (other.event_id is not None, j, other)
        if best is not None:
            other = best[2]
            if other.event_id is None:
                other.event_id = _event_from(other, joined, assign)
            assert other.event_id is not None
            me.event_id = other.event_id
            joined[other.event_id].append(me)
            assign[me.pk] = other.event_id
        for i in range(4):
            bucket = index[(i, getattr(p, f"band{i}"))]
            bucket.insert(0, me)
            del bucket[PER_BAND_MAX:]
    if not joined:
        return []
    Post.objects.bulk_update([Post(pk=pk, event_id=eid) for pk, eid in assign.items()], ["event"], batch_size=1000)
    events = list(Event.objects.select_for_update().filter(pk__in=joined).order_by("pk"))
    paths = dict(Org.objects.filter(pk__in={s.org_id for ss in joined.values() for s in ss}).values_list("pk", "path"))
    for e in events:
        added = joined[e.pk]
        counts = {pol: sum(1 for s in added if s.polarity == pol) for pol in Polarity}
        places = list(dict.fromkeys([*e.places, *(n for s in added for n in s.places)]))[:20]
        risk = max([e.risk, *(s.risk for s in added)], key=lambda r: RISK_RANK[Risk(r)])
        org_path = _common_path([e.org.path, *(paths[s.org_id] for s in added)])
        Event.objects.filter(pk=e.pk).update(
            org=e.org if org_path == e.org.path else Org.objects.get(path=org_path),
            posts_n=F("posts_n") + len(added),
            negative_n=F("negative_n") + counts[Polarity.NEGATIVE],
            neutral_n=F("neutral_n") + counts[Polarity.NEUTRAL],
            positive_n=F("positive_n") + counts[Polarity.POSITIVE],
            reach=F("reach") + sum(s.reach for s in added),
            first_seen=min([e.first_seen, *(s.published_at for s in added)]),
            last_seen=max([e.last_seen, *(s.published_at for s in added)]),
            places=places,
            risk=risk,
            category=e.category or next((s.category for s in added if s.category), ""),
            version=F("version") + 1,
        )
    touched = list(Event.objects.filter(pk__in=joined).select_related("org").order_by("pk"))
    for e in touched:
        if e.posts_n >= EVENT_WARN_POSTS:
            _event_warning(e)
    return touched


def _event_from(first: _Seen, joined: dict[int, list[_Seen]], assign: dict[int, int]) -> int:
    """A new event made of a lone post (its first member). A post stored earlier is claimed only while it is
    still alone: another batch that grouped it meanwhile wins, and its event is joined instead."""
    e = Event.objects.create(
        org_id=first.org_id, title=first.text[:200], category=first.category, first_seen=first.published_at,
        last_seen=first.published_at, places=first.places[:20], risk=first.risk,
    )  # fmt: skip
    if first.stored and not Post.objects.filter(pk=first.pk, event__isnull=True).update(event=e):
        e.delete()
        return int(Post.objects.values_list("event_id", flat=True).get(pk=first.pk))
    if not first.stored:
        assign[first.pk] = e.pk
    joined[e.pk].append(first)
    return int(e.pk)


def _common_path(paths: list[str]) -> str:
    """The path of the lowest org holding all of them (their common prefix, in whole steps)."""
    step = Org.steplen
    shortest = min(paths, key=len)
    n = 0
    while n + step <= len(shortest) and all(p[n : n + step] == shortest[n : n + step] for p in paths):
        n += step
    return shortest[: max(n, step)]


def _event_warning(event: Event) -> None:
    """An event that gathered EVENT_WARN_POSTS posts within an hour raises one warning (per hour)."""
    hour = event.last_seen.replace(minute=0, second=0, microsecond=0)
    recent = Post.objects.filter(event=event, published_at__gt=event.last_seen - EVENT_WARN_WINDOW).count()
    if recent < EVENT_WARN_POSTS:
        return
    colour = Risk.RED if event.risk == Risk.RED else Risk.YELLOW
    reason = _("Event “%(title)s”: %(n)d posts within the hour") % {"title": event.title[:40], "n": recent}
    _raise_warning(
        kind=Warning.Kind.EVENT,
        org=event.org,
        category=event.category,
        colour=colour,
        hour=hour,
        count=recent,
        mean=0.0,
        sd=0.0,
        reason=reason,
        event=event,
        posts=Post.objects.filter(event=event).order_by("-published_at")[:200],
    )


# --- Watch lists ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Watch:
    row: WatchList
    match_text: Any
    accounts: frozenset[str]
    places: tuple[str, ...]


def _active_watches() -> list[_Watch]:
    out = []
    for w in WatchList.objects.filter(active=True).select_related("org"):
        try:
            expr = compile_expression(w.expression)
        except ExpressionError:
            continue  # saved before a rule change: it matches nothing until edited
        out.append(_Watch(w, expr, frozenset(a.lower() for a in w.accounts), tuple(p.lower() for p in w.places)))
    return out


def _watch(posts: list[Post], watches: list[_Watch], now: datetime) -> dict[int, list[WatchHit]]:
    """The hits of the batch's posts on every active watch list, stored once per list and post; by post id,
    only those this call stored (a concurrent push of the same post stores its own)."""
    found: list[WatchHit] = []
    for p in posts:
        text = p.text.lower()
        names = {x["name"] for x in p.places}
        place = p.place.lower()
        for w in watches:
            matched: list[str] = []
            words = w.match_text.match(text)
            if words is not None:
                matched.extend(words)
            if p.author and p.author.lower() in w.accounts:
                matched.append("@" + p.author)
            matched.extend(x for x in w.places if x in names or x in text or (place and x in place))
            if matched:
                found.append(WatchHit(watch=w.row, post=p, org_id=w.row.org_id, matched=matched, created_at=now))
    if not found:
        return {}
    WatchHit.objects.bulk_create(found, ignore_conflicts=True)
    ids = {
        (wid, pid): pk
        for wid, pid, pk in WatchHit.objects.filter(post__in=[p.pk for p in posts], created_at=now).values_list(
            "watch_id", "post_id", "pk"
        )
    }
    out: dict[int, list[WatchHit]] = defaultdict(list)
    for h in found:
        pk = ids.get((h.watch_id, h.post_id))
        if pk is not None:
            h.pk = pk
            out[h.post_id].append(h)
    return out


def _check_watch(expression: str, accounts: list[str], places: list[str]) -> None:
    try:
        compile_expression(expression)
    except ExpressionError as exc:
        raise Refused("expression", str(exc)) from None
    if not expression.strip() and not accounts and not places:
        raise Refused("expression", _("Give keywords, accounts or places to watch."))


@transaction.atomic
def watch_create(
    *,
    actor: Any,
    org_id: int,
    name: str,
    expression: str = "",
    accounts: Sequence[str] = (),
    places: Sequence[str] = (),
    colour: str = Risk.YELLOW,
    active: bool = True,
) -> WatchList:
    org = Org.objects.filter(pk=org_id).first()
    if org is None:
        raise Refused("org", _("No such organisation."))
    orgs.require(actor, org, roles=WATCH_ROLES)
    if not name.strip():
        raise Refused("name", _("Give the watch list a name."))
    clean_accounts = [a.strip().lstrip("@") for a in accounts if a.strip()]
    clean_places = [p.strip() for p in places if p.strip()]
    _check_watch(expression, clean_accounts, clean_places)
    try:
        with transaction.atomic():
            w = WatchList.objects.create(
                org=org,
                name=name.strip(),
                expression=expression.strip(),
                accounts=clean_accounts,
                places=clean_places,
                colour=colour,
                active=active,
                created_by=actor,
            )
    except IntegrityError:
        raise Refused("name", _("This organisation already has a watch list of that name.")) from None
    return w


@transaction.atomic
def watch_update(*, actor: Any, watch_id: int, **changes: Any) -> WatchList:
    w = WatchList.objects.select_for_update().select_related("org").get(pk=watch_id)
    orgs.require(actor, w.org, roles=WATCH_ROLES)
    for key in ("name", "expression", "colour", "active"):
        if key in changes and changes[key] is not None:
            setattr(w, key, changes[key].strip() if isinstance(changes[key], str) and key != "colour" else changes[key])
    if changes.get("accounts") is not None:
        w.accounts = [a.strip().lstrip("@") for a in changes["accounts"] if a.strip()]
    if changes.get("places") is not None:
        w.places = [p.strip() for p in changes["places"] if p.strip()]
    if not w.name:
        raise Refused("name", _("Give the watch list a name."))
    _check_watch(w.expression, w.accounts, w.places)
    try:
        with transaction.atomic():
            w.save()
    except IntegrityError:
        raise Refused("name", _("This organisation already has a watch list of that name.")) from None
    return w


@transaction.atomic
def hit_acknowledge(*, actor: Any, hit_id: int) -> WatchHit:
    hit = (
        WatchHit.objects.select_for_update().select_related("org", "watch", "post__source", "post__org").get(pk=hit_id)
    )
    orgs.require(actor, hit.org)
    if hit.acknowledged_at is None:
        hit.acknowledged_at = timezone.now()
        hit.save(update_fields=["acknowledged_at"])
        # The monitors mark it, the boards take it off their strip.
        realtime.broadcast_on_commit(hit.org, "sentiment.hit", payloads.hit_row(hit, hit.post))
    return hit


# --- Spikes ------------------------------------------------------------------------------------------------


def rule_for(org: Org) -> SpikeRule:
    """The nearest ancestor's spike rule, else the default row, else the defaults of the model."""
    rules = {r.org_id: r for r in SpikeRule.objects.filter(Q(org__isnull=True) | Q(org__in=org.lineage()), active=True)}
    for o in reversed(org.lineage()):
        if o.pk in rules:
            return rules[o.pk]
    return rules.get(None) or SpikeRule()


def baseline(counts: Sequence[int]) -> tuple[float, float]:
    """Mean and (population) standard deviation of the same hour's counts on the previous days."""
    if not counts:
        return 0.0, 0.0
    mean = sum(counts) / len(counts)
    return mean, math.sqrt(sum((c - mean) ** 2 for c in counts) / len(counts))


def colour_of(count: int, mean: float, sd: float, rule: SpikeRule) -> str:
    """The colour of an hour's count against its baseline: the highest k whose mean + k·σ it passes (σ at
    least 1, so a flat baseline of zeros does not make every post a spike), and at least min_count posts."""
    if count < rule.min_count:
        return Risk.NONE
    spread = max(sd, 1.0)
    for colour, k in ((Risk.RED, rule.k_red), (Risk.YELLOW, rule.k_yellow), (Risk.BLUE, rule.k_blue)):
        if count > mean + k * spread:
            return colour
    return Risk.NONE


def hourly_counts(
    *, org: Org | None, start: datetime, end: datetime, category: str | None = None
) -> dict[tuple[int, str, datetime], int]:
    """Posts per (org, main topic, hour) with published_at in [start, end)."""
    qs = Post.objects.filter(published_at__gte=start, published_at__lt=end)
    if org is not None:
        qs = qs.filter(org__path__startswith=org.path)
    if category is not None:
        qs = qs.filter(category=category)
    rows = (
        qs.annotate(h=TruncHour("published_at", tzinfo=timezone.get_default_timezone()))
        .values("org_id", "category", "h")
        .annotate(n=Count("id"))
    )
    return {(r["org_id"], r["category"], r["h"]): r["n"] for r in rows}


def detect_spikes(*, now: datetime | None = None) -> list[Warning]:
    """The last full hour's count per topic and org area, against the same hour of the previous days: a
    count above mean + k·σ (spike rule) raises a warning with its colour — once per (org, topic, hour). The
    counts roll up the tree (a station's posts count for its county and city), each org judged by its rule;
    an area whose spike is all one warned org's posts below it is not warned again. Beat runs this a few
    minutes past every hour; running it again changes nothing."""
    now = now or timezone.now()
    local = timezone.localtime(now)
    hour = local.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    default = rule_for_default()
    days = max(default.days, *(r.days for r in SpikeRule.objects.filter(active=True)), 2)
    start = hour - timedelta(days=days)
    raw = hourly_counts(org=None, start=start, end=hour + timedelta(hours=1))
    by_org: dict[int, Org] = {o.pk: o for o in Org.objects.filter(pk__in={k[0] for k in raw})}
    # Roll up: every ancestor counts its subtree's posts.
    rolled: dict[tuple[int, str, datetime], int] = defaultdict(int)
    lineages: dict[int, list[Org]] = {}
    for (org_id, cat, h), n in raw.items():
        if not cat:
            continue
        if org_id not in lineages:
            lineages[org_id] = by_org[org_id].lineage()
        for o in lineages[org_id]:
            by_org.setdefault(o.pk, o)
            rolled[(o.pk, cat, h)] += n
    out = []
    keys = {(o, c) for (o, c, h) in rolled if h == hour}
    # The deepest first: a spike made wholly of one station's posts is warned once, at the station; the county
    # above it (whose list shows the station's warning) is warned only for more than that.
    warned: list[tuple[str, str, int]] = []  # (org path, topic, count)
    for org_id, cat in sorted(keys, key=lambda k: (-by_org[k[0]].depth, k[0], k[1])):
        org = by_org[org_id]
        rule = rule_for(org)
        if not rule.active:
            continue
        past = [rolled.get((org_id, cat, hour - timedelta(days=d)), 0) for d in range(1, rule.days + 1)]
        count = rolled[(org_id, cat, hour)]
        mean, sd = baseline(past)
        colour = colour_of(count, mean, sd, rule)
        if colour == Risk.NONE:
            continue
        if any(c == cat and n == count and path.startswith(org.path) for path, c, n in warned):
            continue
        warned.append((org.path, cat, count))
        name = _category_name(cat)
        reason = _("%(topic)s: %(n)d posts in the hour %(hour)s, baseline %(mean).1f ± %(sd).1f") % {
            "topic": name,
            "n": count,
            "hour": hour.strftime("%H:00"),
            "mean": mean,
            "sd": sd,
        }
        w = _raise_warning(
            kind=Warning.Kind.SPIKE,
            org=org,
            category=cat,
            colour=colour,
            hour=hour,
            count=count,
            mean=mean,
            sd=sd,
            reason=reason,
            event=None,
            posts=Post.objects.filter(
                org__path__startswith=org.path,
                category=cat,
                published_at__gte=hour,
                published_at__lt=hour + timedelta(hours=1),
            ).order_by("-published_at")[:200],
        )
        if w is not None:
            out.append(w)
    return out


def rule_for_default() -> SpikeRule:
    return SpikeRule.objects.filter(org__isnull=True).first() or SpikeRule()


def _category_name(code: str) -> str:
    row = codes.active_categories().get(code)
    return row.local_name if row else code


def _raise_warning(
    *,
    kind: str,
    org: Org,
    category: str,
    colour: str,
    hour: datetime,
    count: int,
    mean: float,
    sd: float,
    reason: str,
    event: Event | None,
    posts: Any,
) -> Warning | None:
    """One warning per (kind, org, topic, hour): a second call for the same key changes nothing."""
    with transaction.atomic():
        w, created = Warning.objects.get_or_create(
            kind=kind,
            org=org,
            category=category,
            hour=hour,
            defaults={
                "colour": colour,
                "count": count,
                "baseline_mean": round(mean, 3),
                "baseline_sd": round(sd, 3),
                "reason": reason[:300],
                "event": event,
                "created_at": timezone.now(),
            },
        )
        if not created:
            return None
        w.posts.set(list(posts))
        realtime.broadcast_on_commit(org, "sentiment.warning", payloads.warning_row(w))
    return w


@transaction.atomic
def warning_dismiss(*, actor: Any, warning_id: int) -> Warning:
    w = Warning.objects.select_for_update().select_related("org").get(pk=warning_id)
    orgs.require(actor, w.org, roles=WATCH_ROLES)
    if w.state != Warning.State.OPEN:
        raise InvalidTransition(w.state, "dismiss", [])
    w.state = Warning.State.DISMISSED
    w.save(update_fields=["state"])
    realtime.broadcast_on_commit(w.org, "sentiment.warning", payloads.warning_row(w))
    return w


def mark_analysed(warning: Warning) -> None:
    """Called by the loop (intel) when a 研判 is opened from the warning, in its transaction."""
    if warning.state == Warning.State.OPEN:
        Warning.objects.filter(pk=warning.pk).update(state=Warning.State.ANALYSED)
        warning.state = Warning.State.ANALYSED
        realtime.broadcast_on_commit(warning.org, "sentiment.warning", payloads.warning_row(warning))
