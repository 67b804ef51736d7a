"""Feeds pulled by beat (issue 14): fetch one feed over HTTP, parse RSS/Atom or JSON into ingest items, hand
them to `services.ingest` and record the outcome on the feed row with backoff.

How a run goes (tasks.pull_feeds → `feeds_pull_due`):

1. Claim: one short transaction takes the due active feeds (`next_pull_at` null or past) with
   `SELECT … FOR UPDATE SKIP LOCKED` and pushes their `next_pull_at` a lease ahead (`CLAIM_LEASE_S`). Two
   workers or two beats that run at once see different rows, and a claimed feed is no longer due once the
   claim commits, so no feed is pulled twice. No lock is held during the HTTP request.
2. Pull each claimed feed in its own try block: fetch (a total deadline, a body cap), parse, ingest in chunks
   of `services.MAX_BATCH` items — ingest is its own transaction per chunk.
3. Record: success resets `failures`, sets `last_ok_at`, `last_stored` and `next_pull_at = now + interval`;
   a failure adds one to `failures`, keeps a short reason in `last_error` (never the URL or the header, which
   may hold secrets) and sets `next_pull_at = now + min(interval · 2^failures, 1 day)`. A worker killed
   mid-pull leaves the lease: the feed comes due again when it ends.

Safety of the XML: feedparser 6 parses with the stdlib SAX parser with external general entities turned off
(`feature_external_ges = 0`), and before parsing it strips every `<!ENTITY>` declaration from the document's
head except those whose value is one character reference or plain text without `&` — so no external entity
is fetched and no entity expands into another (no "billion laughs"). We never hand feedparser a URL or a path:
it gets the body we fetched, as a stream (given bytes or a str it would try them as a file name first).
"""

from __future__ import annotations

import calendar
import html
import io
import json
import re
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.html import strip_tags

from . import services
from .inputs import MAX_TEXT
from .models import Feed

MAX_BACKOFF_S = 86400
CLAIM_LEASE_S = 600  # a claimed feed is not due again for this long, in case its worker dies mid-pull
CLAIM_BATCH = 50  # at most this many feeds per run; the rest are due at the next run
USER_AGENT = "command-center-feeds/1"

_HEADER_NAME = re.compile(r"^([A-Za-z0-9!#$%&'*+.^_`|~-]+):\s*(.*)$", re.S)


class FeedError(Exception):
    """A feed could not be pulled; the message is short and safe to show (no URL, no header)."""


@dataclass
class PullResult:
    feed_id: int
    ok: bool
    stored: int = 0
    updated: int = 0
    refused: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""


# --- fetch -----------------------------------------------------------------------------------------------


def auth_header_pair(value: str) -> tuple[str, str] | None:
    """The header to send: `Name: value` as written, anything else (e.g. `Bearer …`) as `Authorization`."""
    value = value.strip()
    if not value:
        return None
    if "\r" in value or "\n" in value:
        raise FeedError("the authorisation header holds a line break")
    match = _HEADER_NAME.match(value)
    if match:
        return match.group(1), match.group(2).strip()
    return "Authorization", value


def fetch(url: str, *, auth_header: str = "", timeout: float | None = None, max_bytes: int | None = None) -> bytes:
    """GET `url` and return its body; FeedError on a non-2xx status, a network error, a body over `max_bytes`
    or a download longer than `timeout` in all (urllib's timeout is per socket operation only, so a server
    that drips a byte at a time would otherwise hold the worker forever). Defaults: settings'
    SENTIMENT_FEED_TIMEOUT_S and SENTIMENT_FEED_MAX_BYTES."""
    timeout = settings.SENTIMENT_FEED_TIMEOUT_S if timeout is None else timeout
    max_bytes = settings.SENTIMENT_FEED_MAX_BYTES if max_bytes is None else max_bytes
    if not url.lower().startswith(("http://", "https://")):
        raise FeedError("only http and https URLs are pulled")
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": "*/*"})
    pair = auth_header_pair(auth_header)
    if pair:
        # Unredirected: a redirect to another host must not carry the credentials along.
        request.add_unredirected_header(*pair)
    deadline = time.monotonic() + timeout
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # scheme checked above
            length = response.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > max_bytes:
                raise FeedError(f"body over {_size(max_bytes)}")
            chunks: list[bytes] = []
            size = 0
            while True:
                chunk = response.read1(64 * 1024)  # what has come, not a full 64 kB
                if not chunk:
                    break
                size += len(chunk)
                if size > max_bytes:
                    raise FeedError(f"body over {_size(max_bytes)}")
                if time.monotonic() > deadline:
                    raise FeedError(f"timed out after {timeout:g} s")
                chunks.append(chunk)
            return b"".join(chunks)
    except urllib.error.HTTPError as e:
        e.close()
        raise FeedError(f"HTTP {e.code}") from None
    except urllib.error.URLError as e:
        reason = e.reason
        if isinstance(reason, TimeoutError):
            raise FeedError(f"timed out after {timeout:g} s") from None
        raise FeedError(f"cannot connect: {_short(str(reason))}") from None
    except TimeoutError:
        raise FeedError(f"timed out after {timeout:g} s") from None
    except ValueError:
        raise FeedError("not a valid URL") from None  # the message would quote the URL and its secrets
    except OSError as e:
        raise FeedError(f"network error: {_short(type(e).__name__ + ': ' + str(e))}") from None


# --- parse -----------------------------------------------------------------------------------------------


def html_to_text(value: str) -> str:
    """Tags out, entities decoded, runs of blank space folded."""
    text = html.unescape(strip_tags(value or ""))
    text = re.sub(r"[ \t\r\f\v]+", " ", text)
    return re.sub(r"\s*\n\s*", "\n", text).strip()


def _struct_to_utc(value: time.struct_time | None) -> datetime | None:
    # feedparser's *_parsed are UTC struct_times; timegm reads them as UTC.
    if not value:
        return None
    return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)


def parse_rss(body: bytes, *, source: str) -> list[dict[str, Any]]:
    """RSS 0.9x/1.0/2.0 and Atom entries as ingest items. id/guid → external_id (the link when there is none),
    title + content (or summary) → text without tags, link → url, published (or updated) → published_at."""
    import feedparser

    parsed = feedparser.parse(io.BytesIO(body), sanitize_html=True, resolve_relative_uris=False)
    if not parsed.entries:
        if parsed.get("bozo") and not parsed.get("version"):
            exc = parsed.get("bozo_exception")
            raise FeedError(f"not a feed: {_short(str(exc) if exc else 'unreadable')}")
        if not parsed.get("version"):
            raise FeedError("not a feed")
    items = []
    for entry in parsed.entries:
        title = html_to_text(entry.get("title", ""))
        contents = entry.get("content") or []
        # The full content when it fits a post, else the summary; neither fits: ingest refuses and says so.
        candidates = [contents[0].get("value", "")] if contents else []
        candidates.append(entry.get("summary", ""))
        for body_html in candidates:
            body_text = html_to_text(body_html)
            text = body_text if body_text.startswith(title) else "\n".join(p for p in (title, body_text) if p)
            if len(text) <= MAX_TEXT:
                break
        published = _struct_to_utc(entry.get("published_parsed") or entry.get("updated_parsed"))
        link = str(entry.get("link", "") or "")
        item: dict[str, Any] = {
            "source": source,
            "external_id": str(entry.get("id") or link),
            "author": str(entry.get("author", "") or "")[:200],
            # feedparser gives a permalink guid as the link; a guid that is no web address is no link.
            "url": link if link.lower().startswith(("http://", "https://")) else "",
            "text": text,
            # No date: ingest refuses the item and says why, rather than us inventing one.
            "published_at": published or entry.get("published") or entry.get("updated") or "",
        }
        items.append(item)
    return items


_JSON_LISTS = ("items", "data", "posts")
_METRICS = ("reposts", "comments", "likes")


def json_item(obj: Any, *, source: str | None = None) -> dict[str, Any]:
    """One JSON object as an ingest item: the ingest fields, plus the common spellings `id` (external_id),
    `content` / `content_text` / `content_html` (text), `created_at` / `date_published` (published_at),
    `link` (url), metrics at the top level or under `metrics`. With `source`, the item's own source is
    overridden (a feed posts into its configured source only)."""
    if not isinstance(obj, dict):
        # Not an object: an empty item, which ingest refuses with its reasons like any other.
        return {"source": source or "", "external_id": "", "text": "", "published_at": ""}
    text = obj.get("text")
    if text is None:
        text = obj.get("content") if obj.get("content") is not None else obj.get("content_text")
    if text is None and obj.get("content_html") is not None:
        text = html_to_text(str(obj["content_html"]))
    author = obj.get("author", "")
    if isinstance(author, dict):
        author = author.get("name", "")
    elif not author and isinstance(obj.get("authors"), list) and obj["authors"]:
        first = obj["authors"][0]
        author = first.get("name", "") if isinstance(first, dict) else first
    external_id = obj.get("external_id", obj.get("id", ""))
    item: dict[str, Any] = {
        "source": source if source is not None else obj.get("source", ""),
        "external_id": "" if external_id is None else str(external_id),
        "author": author or "",
        "url": obj.get("url") or obj.get("link") or "",
        "text": "" if text is None else text,
        "published_at": obj.get("published_at") or obj.get("created_at") or obj.get("date_published") or "",
    }
    for key in ("place", "lat", "lon"):
        if obj.get(key) not in (None, ""):
            item[key] = obj[key]
    given: dict[str, Any] = obj["metrics"] if isinstance(obj.get("metrics"), dict) else {}
    nested = {k: v for k, v in given.items() if k in _METRICS}  # views, shares…: not ours to refuse over
    metrics = {**{k: obj[k] for k in _METRICS if obj.get(k) not in (None, "")}, **nested}
    if metrics:
        item["metrics"] = metrics
    return item


def parse_json(body: bytes, *, source: str) -> list[dict[str, Any]]:
    """A JSON list of posts, or an object holding one under `items`, `data` or `posts`."""
    try:
        doc = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise FeedError(f"not JSON: {_short(str(e))}") from None
    if isinstance(doc, dict):
        for key in _JSON_LISTS:
            if isinstance(doc.get(key), list):
                doc = doc[key]
                break
        else:
            raise FeedError("JSON without a list of posts (items, data or posts)")
    if not isinstance(doc, list):
        raise FeedError("JSON without a list of posts (items, data or posts)")
    return [json_item(obj, source=source) for obj in doc]


# --- ingest and record ------------------------------------------------------------------------------------


def ingest_chunked(
    items: list[dict[str, Any]], *, channel: str, actor: Any = None, offset: int = 0
) -> tuple[int, int, list[dict[str, Any]], list[int]]:
    """Ingest in chunks of `services.MAX_BATCH`; refused indexes are made relative to the whole list
    (plus `offset`). Returns stored, updated, refused, post ids."""
    size = services.MAX_BATCH
    stored = updated = 0
    refused: list[dict[str, Any]] = []
    post_ids: list[int] = []
    for start in range(0, len(items), size):
        result = services.ingest(items[start : start + size], actor=actor, channel=channel)
        stored += result.stored
        updated += result.updated
        post_ids += result.post_ids
        refused += [{**r, "index": r["index"] + start + offset} for r in result.refused]
    return stored, updated, refused, post_ids


def backoff_s(interval_s: int, failures: int) -> int:
    """interval · 2^failures, at most a day."""
    return int(min(interval_s * 2 ** min(failures, 32), MAX_BACKOFF_S))


def error_lines(errors: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Ingest's field errors, flattened: `{"metrics": {"likes": [m]}}` → `[("metrics.likes", m)]`."""
    if isinstance(errors, dict):
        return [pair for k, v in errors.items() for pair in error_lines(v, f"{prefix}.{k}" if prefix else str(k))]
    if isinstance(errors, list | tuple):
        return [pair for v in errors for pair in error_lines(v, prefix)]
    return [(prefix, str(errors))]


def refused_summary(refused: list[dict[str, Any]], total: int) -> str:
    """`3 of 10 entries refused (text: …)`: the first reason, for the admin's list."""
    if not refused:
        return ""
    lines = error_lines(refused[0].get("errors") or {})
    why = f" ({lines[0][0]}: {lines[0][1]})" if lines else ""
    return _short(f"{len(refused)} of {total} entries refused{why}")


def feed_pull(feed: Feed, *, now: datetime | None = None) -> PullResult:
    """Fetch, parse and ingest one feed, then record the outcome on its row (backoff on failure). Never
    raises for the feed's own faults; the caller's loop goes on to the next feed either way."""
    started = now or timezone.now()
    try:
        body = fetch(feed.url, auth_header=feed.auth_header)
        parse = parse_json if feed.kind == Feed.Kind.JSON else parse_rss
        items = parse(body, source=feed.source.code)
        stored, updated, refused, _ids = ingest_chunked(items, channel="feed")
    except FeedError as e:
        return _record_failure(feed, str(e), started)
    except Exception as e:  # a bug or a database error in one feed must not stop the others
        return _record_failure(feed, _short(f"{type(e).__name__}: {e}"), started)
    done = timezone.now()
    Feed.objects.filter(pk=feed.pk).update(
        failures=0,
        last_pulled_at=started,
        last_ok_at=done,
        last_stored=stored,
        last_error=refused_summary(refused, len(items)),
        next_pull_at=done + timedelta(seconds=feed.interval_s),
    )
    return PullResult(feed.pk, True, stored=stored, updated=updated, refused=refused)


def _record_failure(feed: Feed, error: str, started: datetime) -> PullResult:
    # Read failures afresh: the row may have changed since the claim (an admin reset, say).
    current = Feed.objects.filter(pk=feed.pk).values_list("failures", flat=True).first() or 0
    failures = current + 1
    Feed.objects.filter(pk=feed.pk).update(
        failures=failures,
        last_pulled_at=started,
        last_error=_short(error),
        next_pull_at=timezone.now() + timedelta(seconds=backoff_s(feed.interval_s, failures)),
    )
    return PullResult(feed.pk, False, error=error)


def feeds_claim(*, now: datetime | None = None, limit: int = CLAIM_BATCH) -> list[Feed]:
    """Step 1 of a run: take the due active feeds (SKIP LOCKED) and push them a lease ahead, in one short
    transaction. The oldest due first; never-pulled feeds (null) before all."""
    now = now or timezone.now()
    with transaction.atomic():
        feeds = list(
            Feed.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("source")
            .filter(active=True)
            .filter(_due(now))
            .order_by(F("next_pull_at").asc(nulls_first=True), "pk")[:limit]
        )
        if feeds:
            Feed.objects.filter(pk__in=[f.pk for f in feeds]).update(
                next_pull_at=now + timedelta(seconds=CLAIM_LEASE_S)
            )
    return feeds


def _due(now: datetime) -> Q:
    return Q(next_pull_at__isnull=True) | Q(next_pull_at__lte=now)


def feeds_pull_due(*, now: datetime | None = None) -> list[PullResult]:
    """A beat run: claim the due feeds, then pull each in turn; one failing feed never blocks another."""
    return [feed_pull(feed) for feed in feeds_claim(now=now)]


def _size(n: int) -> str:
    return f"{n / (1024 * 1024):g} MB" if n >= 1024 * 1024 else f"{n} bytes"


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
