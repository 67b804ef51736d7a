"""Feeds pulled by beat (sentiment/feeds.py, tasks.pull_feeds) against a real HTTP server in a thread: RSS and
JSON stored through ingest, idempotent re-pulls, a 500 that backs off while the others still store, recovery,
timeouts, oversized and garbage bodies, the auth header, and SKIP LOCKED claims."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone

from command_center import codes
from sentiment import feeds, tasks
from sentiment.models import Feed, Post, Source
from tests.concurrency import parallel
from tests.httpserver import serving

NOW = datetime.now(UTC).replace(microsecond=0)


def rss_body() -> bytes:
    items = "".join(
        f"""<item>
  <title>东湖路口交通事故 {i}</title>
  <link>http://news.example/{i}</link>
  <guid>news-{i}</guid>
  <description>&lt;p&gt;东湖路口发生&lt;b&gt;交通事故&lt;/b&gt;，民警已到场 {i}&lt;/p&gt;</description>
  <author>reporter{i}@news.example</author>
  <pubDate>{format_datetime(NOW - timedelta(hours=i + 1))}</pubDate>
</item>"""
        for i in range(3)
    )
    return f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>本地新闻</title><link>http://news.example/</link>
<description>d</description>{items}</channel></rss>""".encode()


ATOM = f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>论坛</title><id>urn:forum</id>
<updated>{NOW.isoformat()}</updated>
<entry><title>新华街噪音扰民</title><id>urn:forum:1</id><link href="http://forum.example/1"/>
<updated>{(NOW - timedelta(minutes=30)).isoformat()}</updated><author><name>居民甲</name></author>
<content type="html">&lt;p&gt;深夜施工噪音很大&lt;/p&gt;</content></entry>
</feed>""".encode()

JSON_BODY = json.dumps(
    {
        "items": [
            {
                "id": 101,
                "content": "西溪派出所门口排长队",
                "created_at": (NOW - timedelta(hours=2)).isoformat(),
                "author": "网友乙",
                "metrics": {"reposts": 3, "comments": 2, "likes": 10},
            },
            {
                "id": 102,
                "content": "东湖公园有人落水，已被救起",
                "created_at": (NOW - timedelta(hours=1)).isoformat(),
                "likes": 5,
            },
        ]
    },
    ensure_ascii=False,
).encode()

# An XML bomb and an external entity: feedparser must neither expand the one nor read the other.
XXE = f"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd"><!ENTITY a "aaaaaaaaaa">
<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>
<rss version="2.0"><channel><title>t</title><item><title>x &xxe; &c;</title><guid>xxe-1</guid>
<pubDate>{format_datetime(NOW - timedelta(hours=1))}</pubDate></item></channel></rss>""".encode()


class Server:
    def __init__(self) -> None:
        self.hits: dict[str, int] = {}
        self.headers: dict[str, dict[str, str]] = {}
        self.recover_after = 1  # /recover fails this many times, then serves RSS
        self.port = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture
def server() -> Iterator[Server]:
    state = Server()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def send(self, code: int, body: bytes, ctype: str = "application/xml") -> None:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            path = self.path
            state.hits[path] = state.hits.get(path, 0) + 1
            state.headers[path] = dict(self.headers.items())
            if path == "/rss.xml":
                self.send(200, rss_body())
            elif path == "/atom.xml":
                self.send(200, ATOM)
            elif path == "/feed.json":
                self.send(200, JSON_BODY, "application/json")
            elif path == "/500":
                self.send(500, b"oops")
            elif path == "/slow":
                self.send_response(200)  # no length: read until the server closes
                self.end_headers()
                try:
                    for _ in range(40):  # drips for 4 s: each read is quick, the whole is too slow
                        self.wfile.write(b"<" * 10)
                        self.wfile.flush()
                        time.sleep(0.1)
                except OSError:
                    pass  # the client gave up, as it should
            elif path == "/garbage":
                self.send(200, b"\x00\x01 not a feed at all \xff\xfe", "text/plain")
            elif path == "/big":
                self.send(200, b"<rss>" + b" " * 5000 + b"</rss>")
            elif path == "/xxe.xml":
                self.send(200, XXE)
            elif path == "/auth.json":
                ok = self.headers.get("X-Api-Key") == "k1" or self.headers.get("Authorization") == "Bearer t1"
                self.send(200, JSON_BODY, "application/json") if ok else self.send(401, b"no")
            elif path == "/redirect":
                self.send_response(302)
                self.send_header("Location", "/auth.json")
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif path == "/recover":
                if state.hits[path] <= state.recover_after:
                    self.send(503, b"busy")
                else:
                    self.send(200, rss_body())
            else:
                self.send(404, b"")

    with serving(Handler) as port:
        state.port = port
        yield state


@pytest.fixture
def sources(world: Any) -> dict[str, Source]:
    codes.load_defaults()  # the incident categories scoring maps topics to
    return {
        code: Source.objects.get_or_create(code=code, defaults={"name": name})[0]
        for code, name in [("news", "本地新闻"), ("forum", "论坛"), ("weibo", "微博")]
    }


def make_feed(name: str, url: str, source: Source, **kw: Any) -> Feed:
    return Feed.objects.create(name=name, url=url, source=source, interval_s=kw.pop("interval_s", 60), **kw)


def test_rss_feed_stores_its_posts_and_a_repull_stores_none(server: Server, sources: dict[str, Source]) -> None:
    feed = make_feed("news", server.url("/rss.xml"), sources["news"])
    result = feeds.feed_pull(feed)
    assert result.ok and result.stored == 3, result
    posts = Post.objects.filter(source=sources["news"]).order_by("external_id")
    assert [p.external_id for p in posts] == ["news-0", "news-1", "news-2"]
    first = posts[0]
    # Title and description, the tags stripped; link, author and date as the feed gave them (UTC).
    assert first.text == "东湖路口交通事故 0\n东湖路口发生交通事故，民警已到场 0"
    assert first.url == "http://news.example/0"
    assert "reporter0" in first.author
    assert first.published_at == NOW - timedelta(hours=1)
    feed.refresh_from_db()
    assert feed.failures == 0 and not feed.failing and feed.last_stored == 3 and feed.last_error == ""
    assert feed.last_ok_at is not None
    assert feed.next_pull_at is not None
    assert abs((feed.next_pull_at - feed.last_ok_at).total_seconds() - 60) < 1

    again = feeds.feed_pull(feed)
    assert again.ok and again.stored == 0 and again.updated == 3
    assert Post.objects.filter(source=sources["news"]).count() == 3
    feed.refresh_from_db()
    assert feed.last_stored == 0


def test_atom_and_json_feeds(server: Server, sources: dict[str, Source]) -> None:
    atom = feeds.feed_pull(make_feed("forum", server.url("/atom.xml"), sources["forum"]))
    assert atom.ok and atom.stored == 1
    post = Post.objects.get(source=sources["forum"])
    assert (post.external_id, post.author, post.url) == ("urn:forum:1", "居民甲", "http://forum.example/1")
    assert post.text == "新华街噪音扰民\n深夜施工噪音很大"

    js = feeds.feed_pull(make_feed("weibo", server.url("/feed.json"), sources["weibo"], kind=Feed.Kind.JSON))
    assert js.ok and js.stored == 2, js
    p101 = Post.objects.get(source=sources["weibo"], external_id="101")
    assert (p101.text, p101.author, p101.reposts, p101.comments, p101.likes) == (
        "西溪派出所门口排长队",
        "网友乙",
        3,
        2,
        10,
    )
    assert Post.objects.get(source=sources["weibo"], external_id="102").likes == 5


def test_a_failing_feed_backs_off_and_never_blocks_the_others(server: Server, sources: dict[str, Source]) -> None:
    good = make_feed("news", server.url("/rss.xml"), sources["news"])
    bad = make_feed("broken", server.url("/500"), sources["forum"], interval_s=60)
    make_feed("weibo", server.url("/feed.json"), sources["weibo"], kind=Feed.Kind.JSON)

    # The beat task, called as a worker would: all three are due (never pulled).
    assert tasks.pull_feeds() == {"pulled": 3, "failed": 1, "stored": 5}
    bad.refresh_from_db()
    good.refresh_from_db()
    assert bad.failing and bad.failures == 1 and bad.last_error == "HTTP 500" and bad.last_ok_at is None
    assert bad.next_pull_at is not None and bad.last_pulled_at is not None
    first_wait = (bad.next_pull_at - bad.last_pulled_at).total_seconds()
    assert 119 <= first_wait <= 125  # interval · 2¹
    assert Post.objects.filter(source=sources["news"]).count() == 3
    assert Post.objects.filter(source=sources["weibo"]).count() == 2
    assert not good.failing and good.last_stored == 3

    # Nothing is due a moment later: each feed waits for its own time.
    assert tasks.pull_feeds()["pulled"] == 0

    # Everyone due again: the bad one fails once more and waits twice as long; the good ones store nothing new.
    Feed.objects.update(next_pull_at=timezone.now() - timedelta(seconds=1))
    assert tasks.pull_feeds() == {"pulled": 3, "failed": 1, "stored": 0}
    bad.refresh_from_db()
    second_wait = (bad.next_pull_at - bad.last_pulled_at).total_seconds()
    assert bad.failures == 2 and 239 <= second_wait <= 245
    assert Post.objects.count() == 5
    assert server.hits["/500"] == 2 and server.hits["/rss.xml"] == 2


def test_backoff_is_capped_at_a_day() -> None:
    assert [feeds.backoff_s(60, n) for n in (1, 2, 3)] == [120, 240, 480]
    assert feeds.backoff_s(3600, 10) == 86400 and feeds.backoff_s(60, 10_000) == 86400


def test_recovery_resets_the_failures(server: Server, sources: dict[str, Source]) -> None:
    feed = make_feed("flaky", server.url("/recover"), sources["news"], interval_s=300)
    assert not feeds.feed_pull(feed).ok
    feed.refresh_from_db()
    assert feed.failing and feed.last_error == "HTTP 503"
    result = feeds.feed_pull(feed)
    assert result.ok and result.stored == 3
    feed.refresh_from_db()
    assert feed.failures == 0 and not feed.failing and feed.last_error == "" and feed.last_stored == 3
    assert abs((feed.next_pull_at - feed.last_ok_at).total_seconds() - 300) < 1


def test_timeout_garbage_and_oversized_bodies_fail_with_a_reason(
    server: Server, sources: dict[str, Source], settings: Any
) -> None:
    settings.SENTIMENT_FEED_TIMEOUT_S = 0.5
    settings.SENTIMENT_FEED_MAX_BYTES = 1000
    slow = make_feed("slow", server.url("/slow"), sources["news"])
    garbage = make_feed("garbage", server.url("/garbage"), sources["news"])
    big = make_feed("big", server.url("/big"), sources["news"])
    bad_json = make_feed("badjson", server.url("/garbage"), sources["weibo"], kind=Feed.Kind.JSON)
    results = {r.feed_id: r for r in feeds.feeds_pull_due()}
    # Each drip comes well within the socket timeout: only the whole-body deadline cuts it.
    assert results[slow.pk].error == "timed out after 0.5 s"
    assert results[garbage.pk].error.startswith("not a feed")
    assert results[big.pk].error == "body over 1000 bytes"
    assert results[bad_json.pk].error.startswith("not JSON")
    assert Feed.objects.filter(failures=1).count() == 4
    assert Post.objects.count() == 0


def test_external_entities_are_not_read_nor_expanded(server: Server, sources: dict[str, Source]) -> None:
    result = feeds.feed_pull(make_feed("xxe", server.url("/xxe.xml"), sources["news"]))
    assert result.ok and result.stored == 1, result
    text = Post.objects.get(external_id="xxe-1").text
    # Both entities are left as written: neither the file nor the 100-fold expansion got in.
    assert text == "x &xxe; &c;" and "root:" not in text


def test_auth_header_as_authorization_or_named_and_not_redirected(server: Server, sources: dict[str, Source]) -> None:
    assert feeds.auth_header_pair("Bearer t1") == ("Authorization", "Bearer t1")
    assert feeds.auth_header_pair("X-Api-Key: k1") == ("X-Api-Key", "k1")
    assert feeds.auth_header_pair("") is None
    bearer = make_feed("bearer", server.url("/auth.json"), sources["weibo"], kind="json", auth_header="Bearer t1")
    named = make_feed("named", server.url("/auth.json"), sources["forum"], kind="json", auth_header="X-Api-Key: k1")
    none = make_feed("none", server.url("/auth.json"), sources["news"], kind="json")
    assert feeds.feed_pull(bearer).stored == 2
    assert feeds.feed_pull(named).stored == 2
    failed = feeds.feed_pull(none)
    assert not failed.ok and failed.error == "HTTP 401"
    # The credentials go to the URL configured, not along a redirect.
    redirected = make_feed("redirect", server.url("/redirect"), sources["news"], kind="json", auth_header="Bearer t1")
    assert feeds.feed_pull(redirected).error == "HTTP 401"
    assert "Authorization" not in server.headers["/auth.json"]
    redirected.refresh_from_db()
    assert "t1" not in redirected.last_error and "127.0.0.1" not in redirected.last_error


def test_refused_entries_are_noted_and_the_rest_stored(server: Server, sources: dict[str, Source]) -> None:
    # The JSON feed's source is retired: every entry is refused with the reason, the pull itself succeeded.
    Source.objects.filter(code="weibo").update(active=False)
    feed = make_feed("weibo", server.url("/feed.json"), sources["weibo"], kind="json")
    result = feeds.feed_pull(feed)
    assert result.ok and result.stored == 0 and len(result.refused) == 2
    assert "source" in result.refused[0]["errors"]
    feed.refresh_from_db()
    assert not feed.failing and feed.last_error.startswith("2 of 2 entries refused (source:")


def test_inactive_and_future_feeds_are_not_pulled(server: Server, sources: dict[str, Source]) -> None:
    make_feed("off", server.url("/rss.xml"), sources["news"], active=False)
    make_feed("later", server.url("/feed.json"), sources["weibo"], next_pull_at=timezone.now() + timedelta(hours=1))
    assert tasks.pull_feeds() == {"pulled": 0, "failed": 0, "stored": 0}
    assert server.hits == {}


@pytest.mark.django_db(transaction=True)
def test_a_feed_locked_by_another_run_is_skipped(server: Server) -> None:
    """Two runs at once: the feed one holds (FOR UPDATE) is skipped by the other, never pulled twice."""
    news = Source.objects.create(code="news", name="本地新闻")
    a = make_feed("a", server.url("/rss.xml"), news)
    b = make_feed("b", server.url("/atom.xml"), news)
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                Feed.objects.select_for_update().get(pk=a.pk)
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert locked.wait(10)
        claimed = feeds.feeds_claim()
        assert [f.pk for f in claimed] == [b.pk]
    finally:
        release.set()
        holder.join(10)
    # Claimed feeds are not due again (their lease); the one skipped is claimed by the next run.
    assert [f.pk for f in feeds.feeds_claim()] == [a.pk]
    assert feeds.feeds_claim() == []


def test_the_admin_never_shows_the_auth_header_back(sources: dict[str, Source]) -> None:
    from django.contrib import admin

    from sentiment.admin_feeds import FeedAdmin, FeedForm

    feed = make_feed("secret", "http://127.0.0.1:1/feed.json", sources["news"], auth_header="Bearer s3cr3t")
    data = {"name": "secret", "url": feed.url, "kind": "rss", "source": sources["news"].pk, "interval_s": 60}
    form = FeedForm(instance=feed)
    assert "s3cr3t" not in str(form)  # the field renders empty
    model_admin = FeedAdmin(Feed, admin.site)
    assert str(model_admin.auth_set(feed)) in ("set", "已设置")

    # Blank keeps the stored header; a new one replaces it; "remove" clears it.
    kept = FeedForm({**data, "active": "on", "auth_header": ""}, instance=feed)
    assert kept.is_valid(), kept.errors
    assert kept.save().auth_header == "Bearer s3cr3t"
    replaced = FeedForm({**data, "active": "on", "auth_header": "X-Api-Key: k2"}, instance=Feed.objects.get(pk=feed.pk))
    assert replaced.is_valid() and replaced.save().auth_header == "X-Api-Key: k2"
    cleared = FeedForm({**data, "auth_header": "", "clear_auth_header": "on"}, instance=Feed.objects.get(pk=feed.pk))
    assert cleared.is_valid() and cleared.save().auth_header == ""
    feed.refresh_from_db()
    assert feed.auth_header == "" and not feed.active
    assert str(model_admin.auth_set(feed)) in ("not set", "未设置")
    assert not FeedForm({**data, "auth_header": "Bearer a\r\nX-Evil: 1"}, instance=feed).is_valid()

    # A failing feed shows as failing; "pull at the next run" makes it due.
    Feed.objects.filter(pk=feed.pk).update(failures=3, next_pull_at=timezone.now() + timedelta(days=1))
    feed.refresh_from_db()
    assert model_admin.is_failing(feed) is True


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_pull_each_feed_once(server: Server, world: Any) -> None:
    codes.load_defaults()
    news = Source.objects.create(code="news2", name="新闻")
    forum = Source.objects.create(code="forum2", name="论坛")
    weibo = Source.objects.create(code="weibo2", name="微博")
    make_feed("rss", server.url("/rss.xml"), news)
    make_feed("atom", server.url("/atom.xml"), forum)
    make_feed("json", server.url("/feed.json"), weibo, kind="json")
    make_feed("broken", server.url("/500"), weibo)
    runs = parallel(2, lambda _k: tasks.pull_feeds())
    assert sum(r["pulled"] for r in runs) == 4 and sum(r["failed"] for r in runs) == 1
    assert sum(r["stored"] for r in runs) == 6 and Post.objects.count() == 6
    assert server.hits == {"/rss.xml": 1, "/atom.xml": 1, "/feed.json": 1, "/500": 1}


def test_beat_pulls_feeds_every_minute() -> None:
    from django.conf import settings

    from command_center.celery import app

    assert settings.HOUSEKEEPING["sentiment.pull_feeds"] == 60.0
    app.loader.import_default_modules()
    assert app.tasks["sentiment.pull_feeds"].run is tasks.pull_feeds.run


def test_a_long_article_falls_back_to_its_summary() -> None:
    long_body = "<p>" + "全文" * 3000 + "</p>"
    atom = f"""<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>
<entry><title>长文</title><id>urn:long</id><updated>{NOW.isoformat()}</updated>
<summary>摘要一句</summary><content type="html"><![CDATA[{long_body}]]></content></entry></feed>""".encode()
    [item] = feeds.parse_rss(atom, source="news")
    assert item["text"] == "长文\n摘要一句" and item["published_at"] == NOW
