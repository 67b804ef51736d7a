"""网情 posts in and what becomes of them: the push API (one or a batch, idempotent, refused per item with the
reason), scoring (涉警 terms, topics as incident categories, places to the owning org, risk), near-duplicates
grouped into events, watch lists (boolean keywords, accounts, places) raising hits on the watching org's
board, spikes against the same hour of earlier days, scoping of every read."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from command_center import codes
from command_center.models import Role
from sentiment import services
from sentiment.models import Event, Post, Risk, SpikeRule, Warning, WatchHit, WatchList
from sentiment.text import ExpressionError, bands, compile_expression, jaccard
from tests.conftest import capture_broadcasts
from tests.factories import make_person

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup(world: Any) -> Any:
    codes.load_defaults()
    services.load_defaults()
    return world


def client_for(user: Any) -> APIClient:
    c = APIClient()
    c.force_authenticate(user)
    return c


def post(i: int, text: str, *, minutes_ago: int = 5, source: str = "weibo", **extra: Any) -> dict[str, Any]:
    return {
        "source": source,
        "external_id": f"p{i}",
        "author": extra.pop("author", f"用户{i}"),
        "text": text,
        "published_at": (timezone.now() - timedelta(minutes=minutes_ago)).isoformat(),
        **extra,
    }


def test_a_batch_is_stored_scored_and_refused_per_item(setup: Any) -> None:
    w = setup
    items = [
        post(
            1, "东湖派出所民警态度恶劣，报警两小时没人出警，太失望了", metrics={"reposts": 3, "comments": 1, "likes": 9}
        ),
        post(2, "今天天气不错，去公园散步"),
        post(3, "x" * 5001),
        post(4, "时间不对", published_at="昨天下午"),
        post(5, "来源不明", source="nosuch"),
        {"source": "weibo", "text": "没有编号", "published_at": timezone.now().isoformat()},
    ]
    res = client_for(w.analyst).post("/api/sentiment/posts/", items, format="json")
    assert res.status_code == 201, res.content
    body = res.json()
    assert body["stored"] == 2 and body["updated"] == 0
    refused = {r["index"]: r["errors"] for r in body["refused"]}
    assert set(refused) == {2, 3, 4, 5}
    assert "text" in refused[2] and "published_at" in refused[3] and "source" in refused[4]
    assert "external_id" in refused[5]

    angry = Post.objects.get(external_id="p1")
    assert angry.police and {"民警", "报警", "出警"} <= set(angry.police_terms)
    assert angry.org == w.station_a1  # 东湖 → 东湖派出所
    assert angry.places[0]["org"] == w.station_a1.pk
    assert "070300" in angry.categories  # 态度恶劣 → 投诉民警
    assert angry.polarity == "negative" and angry.risk == Risk.YELLOW and angry.flagged
    calm = Post.objects.get(external_id="p2")
    assert not calm.police and not calm.flagged and calm.org == w.city  # no place: the root of the tree

    # Sent again with new metrics: updated, not doubled, not scored again.
    again = client_for(w.analyst).post(
        "/api/sentiment/posts/", [{**items[0], "metrics": {"reposts": 30, "comments": 1, "likes": 9}}], format="json"
    )
    assert again.status_code == 201 and again.json()["stored"] == 0 and again.json()["updated"] == 1
    assert Post.objects.filter(external_id="p1").count() == 1
    assert Post.objects.get(external_id="p1").reposts == 30


def test_a_batch_over_the_limit_and_a_station_officer_are_refused(setup: Any) -> None:
    w = setup
    res = client_for(w.analyst).post(
        "/api/sentiment/posts/", [post(i, "文本") for i in range(services.MAX_BATCH + 1)], format="json"
    )
    assert res.status_code == 400 and "posts" in res.json()
    res = client_for(w.station_a1_officer).post("/api/sentiment/posts/", post(1, "文本"), format="json")
    assert res.status_code == 403
    assert not Post.objects.exists()


def test_near_duplicates_form_an_event_and_a_flagged_post_is_pushed(setup: Any) -> None:
    w = setup
    text = "西溪派出所门口有人持刀伤人，警察已经到场，大家注意安全"
    with capture_broadcasts() as sent:
        services.ingest([post(1, text, minutes_ago=30)])
        services.ingest([post(2, "转发：" + text + "！！", minutes_ago=20), post(3, text + " 求扩散", minutes_ago=10)])
        services.ingest([post(4, "完全无关的一条关于美食的分享，红烧肉做法", minutes_ago=5)])
    event = Event.objects.get()
    assert event.posts_n == 3 and set(event.posts.values_list("external_id", flat=True)) == {"p1", "p2", "p3"}
    assert event.org == w.station_b1 and event.risk == Risk.RED  # 持刀: a red term, police-related, negative
    assert event.first_seen < event.last_seen
    assert Post.objects.get(external_id="p4").event is None
    events = {(m["group"], m["event"]) for m in sent}
    assert (f"org.{w.station_b1.pk}", "sentiment.post") in events
    assert (f"org.{w.city.pk}", "sentiment.event") in events
    assert (f"org.{w.county_a.pk}", "sentiment.post") not in events  # another area hears nothing


def test_copies_share_a_band_and_strangers_do_not() -> None:
    a = "东湖路发生一起交通事故，一辆电动车与轿车相撞，现场拥堵"
    b = "转发：东湖路发生一起交通事故，一辆电动车与轿车相撞，现场拥堵 [哈哈] http://t.cn/xyz @某人"
    c = "今晚的月亮很圆，祝大家中秋快乐"
    assert jaccard(a, b) > 0.85 and jaccard(a, c) == 0
    assert set(bands(a)) & set(bands(b))
    assert not set(bands(a)) & set(bands(c))


def test_watch_expressions_read_and_and_or_not_brackets_and_phrases() -> None:
    e = compile_expression('(化工厂 OR 化工园) 爆炸 -演练 "东湖 路"')
    assert e.match("化工园发生爆炸 东湖 路") == ["化工园", "爆炸", "东湖 路"]
    assert e.match("化工厂爆炸演练 东湖 路") is None
    assert compile_expression("偷 或 抢 非 演习").match("有人抢包") == ["抢"]
    for bad in ("(爆炸", "OR 爆炸", "爆炸 AND", '""'):
        with pytest.raises(ExpressionError):
            compile_expression(bad)


def test_a_watch_list_hit_reaches_the_watching_org_and_lets_it_read_the_post(setup: Any) -> None:
    w = setup
    officer = make_person("county_b_analyst", w.county_b, Role.ANALYST)
    c = client_for(officer)
    bad = c.post("/api/sentiment/watchlists/", {"name": "化工", "expression": "(化工厂 爆炸"}, format="json")
    assert bad.status_code == 400 and "expression" in bad.json()
    res = c.post(
        "/api/sentiment/watchlists/",
        {"name": "化工", "expression": "化工厂 (爆炸 OR 泄漏) -演练", "accounts": ["@爆料君"]},
        format="json",
    )
    assert res.status_code == 201, res.content
    watch = res.json()["id"]
    with capture_broadcasts() as sent:
        services.ingest(
            [
                post(1, "东湖化工厂好像发生泄漏，味道很大"),  # 东湖: another county's area
                post(2, "化工厂爆炸演练今天上午举行"),
                post(3, "今天吃了火锅", author="爆料君"),
            ]
        )
    hits = {h.post.external_id: h.matched for h in WatchHit.objects.filter(watch_id=watch)}
    assert hits == {"p1": ["化工厂", "泄漏"], "p3": ["@爆料君"]}
    assert (f"org.{w.county_b.pk}", "sentiment.hit") in {(m["group"], m["event"]) for m in sent}
    # The watching county reads the posts it caught, though they lie in another county's area …
    ids = {p["external_id"] for p in c.get("/api/sentiment/posts/").json()["results"]}
    assert {"p1", "p3"} <= ids and "p2" not in ids
    # … and a station elsewhere reads none of it.
    other = client_for(w.station_b1_officer)
    p1 = Post.objects.get(external_id="p1")
    assert other.get(f"/api/sentiment/posts/{p1.pk}/").status_code == 404
    assert other.get(f"/api/sentiment/watchlists/{watch}/").status_code == 404


def _hourly(n: int, hour: Any, start: int, text: str) -> list[dict[str, Any]]:
    return [
        {
            "source": "weibo",
            "external_id": f"s{start + i}",
            "text": f"{text}（第{start + i}条，{i}号楼）",
            "published_at": (hour + timedelta(minutes=1 + i % 50)).isoformat(),
        }
        for i in range(n)
    ]


def test_a_spike_against_the_same_hour_of_earlier_days_raises_one_warning(setup: Any) -> None:
    w = setup
    now = timezone.localtime().replace(minute=10, second=0, microsecond=0)
    last = now.replace(minute=0) - timedelta(hours=1)
    k = 0
    for day, n in enumerate([2, 3, 1, 2, 2, 3, 2], start=1):
        services.ingest(_hourly(n, last - timedelta(days=day), k, "东湖小区电动车被偷"))
        k += n
    services.ingest(_hourly(25, last, k, "东湖小区电动车被偷"))
    services.ingest(_hourly(10, last, 500, "新华小区电动车被偷"))
    with capture_broadcasts() as sent:
        found = services.detect_spikes(now=now)
    by_org = {x.org_id: x for x in found}
    # Each station's own spike, and the county's for both together; the city's is the county's again: not
    # warned twice (the city reads the county's and the stations' warnings in its area).
    assert set(by_org) == {w.station_a1.pk, w.station_a2.pk, w.county_a.pk}
    warning = by_org[w.station_a1.pk]
    assert warning.category == "010100" and warning.count == 25 and warning.colour == Risk.RED
    assert warning.baseline_mean == pytest.approx(15 / 7, abs=1e-3)
    assert "25" in warning.reason and warning.posts.count() == 25
    assert by_org[w.county_a.pk].count == 35 and by_org[w.county_a.pk].posts.count() == 35
    assert (f"org.{w.station_a1.pk}", "sentiment.warning") in {(m["group"], m["event"]) for m in sent}
    assert services.detect_spikes(now=now) == []  # again: nothing doubled
    assert Warning.objects.filter(kind=Warning.Kind.SPIKE).count() == 3

    # A stricter rule for the county: its k for red is out of reach; its stations keep the default.
    SpikeRule.objects.create(org=w.county_a, k_blue=2, k_yellow=3, k_red=50)
    Warning.objects.all().delete()
    colours = {x.org_id: x.colour for x in services.detect_spikes(now=now)}
    assert colours[w.county_a.pk] == Risk.YELLOW
    assert colours[w.station_a1.pk] == Risk.YELLOW  # the county's rule is its stations' nearest ancestor's

    c = client_for(w.analyst)
    chart = c.get("/api/sentiment/spikes/?hours=24").json()
    theft = next(s for s in chart["series"] if s["category"] == "010100")
    assert theft["counts"][-2] == 35 and theft["mean"][-2] == pytest.approx(15 / 7, abs=1e-3)
    assert c.get("/api/sentiment/spikes/?hours=0").status_code == 400
    wid = Warning.objects.filter(org=w.station_a1).get().pk
    assert c.post(f"/api/sentiment/warnings/{wid}/dismiss/", {}, format="json").status_code == 200
    assert c.post(f"/api/sentiment/warnings/{wid}/dismiss/", {}, format="json").status_code == 409
    assert client_for(w.station_b1_officer).get(f"/api/sentiment/warnings/{wid}/").status_code == 404


def test_the_monitor_state_and_the_big_screen_count_the_area(setup: Any) -> None:
    w = setup
    services.ingest([post(1, "东湖派出所民警打人，太恶劣了"), post(2, "西溪派出所民警帮我找回钱包，感谢")])
    state = client_for(w.county_a_duty).get("/api/sentiment/state/").json()
    assert [p["external_id"] for p in state["posts"]] == ["p1"]
    assert state["counts"]["today"] == 1 and state["counts"]["negative_today"] == 1
    stats = client_for(w.commander).get("/api/board/stats/").json()
    assert stats["sentiment"]["today"] == 2


def test_a_warning_becomes_an_analysis_with_its_posts_then_a_directive(setup: Any) -> None:
    """ingest → event → spike → 研判 → directive, through the API, and the link kept both ways."""
    w = setup
    now = timezone.localtime().replace(minute=10, second=0, microsecond=0)
    last = now.replace(minute=0) - timedelta(hours=1)
    services.ingest(_hourly(2, last - timedelta(days=1), 0, "东湖小区电动车被偷"))
    services.ingest(_hourly(12, last, 100, "东湖小区电动车被偷"))
    assert Event.objects.filter(posts_n__gte=2).exists()  # the retellings grouped
    warning = next(x for x in services.detect_spikes(now=now) if x.org_id == w.station_a1.pk)
    analyst = client_for(w.analyst)
    assert analyst.post("/api/analyses/", {"sentiment_warning": 999999}, format="json").status_code == 400
    both = analyst.post("/api/analyses/", {"sentiment_warning": warning.pk, "sentiment_post": 1}, format="json")
    assert both.status_code == 400
    res = analyst.post("/api/analyses/", {"sentiment_warning": warning.pk}, format="json")
    assert res.status_code == 201, res.content
    a = res.json()
    assert a["title"].startswith("网情研判") and len(a["posts"]) == 12
    assert a["source"]["kind"] == "sentiment.warning" and a["source"]["id"] == warning.pk
    assert a["source"]["url"] == f"/sentiment/?warning={warning.pk}"
    row = analyst.get(f"/api/sentiment/warnings/{warning.pk}/").json()
    assert row["state"] == "analysed" and [x["id"] for x in row["analyses"]] == [a["id"]]
    assert row["analyses"][0]["url"] == f"/intel/?analysis={a['id']}"
    assert analyst.post(f"/api/analyses/{a['id']}/publish/", {}, format="json").status_code == 200
    directive = {"title": "电动车防盗", "content": "见研判", "recipients": [w.station_a1.pk], "analysis": a["id"]}
    res = analyst.post("/api/directives/", directive, format="json")
    assert res.status_code == 201 and res.json()["analysis"] == a["id"]
    # A station of another area neither reads the warning nor opens an analysis from it.
    assert client_for(w.station_b1_officer).get(f"/api/sentiment/warnings/{warning.pk}/").status_code == 404


def test_load_codes_loads_the_sources_and_the_default_spike_rule(db: Any) -> None:
    from io import StringIO

    from django.core.management import call_command

    from sentiment.models import Source

    out = StringIO()
    call_command("load_codes", stdout=out)
    assert "sentiment sources: 11 created" in out.getvalue()
    assert Source.objects.filter(code="weibo", name="微博").exists()
    assert SpikeRule.objects.filter(org__isnull=True).count() == 1
    call_command("load_codes", stdout=StringIO())  # again: nothing doubled
    assert Source.objects.count() == 11 and SpikeRule.objects.count() == 1


def test_watch_hits_and_warnings_reach_the_dispatch_boards_strip(setup: Any) -> None:
    w = setup
    services.watch_create(actor=w.analyst, org_id=w.county_a.pk, name="化工", expression="化工厂 泄漏")
    services.ingest([post(1, "东湖化工厂好像发生泄漏，味道很大")])
    alerts = client_for(w.county_a_duty).get("/api/board/").json()["alerts"]
    hit = next(a for a in alerts if a["kind"] == "sentiment_hit")
    assert hit["label"] == "化工" and "化工厂" in hit["text"] and hit["colour"] == "yellow"
    assert hit["url"] == f"/sentiment/posts/{Post.objects.get().pk}/"
    others = client_for(make_person("b_duty", w.county_b, Role.DUTY_OFFICER)).get("/api/board/").json()["alerts"]
    assert not [a for a in others if a["kind"].startswith("sentiment")]
    # Acknowledged (知悉) by the county, it leaves the strip; the push says so to every screen of the area.
    hit_id = WatchHit.objects.get().pk
    assert client_for(w.station_b1_officer).post(f"/api/sentiment/hits/{hit_id}/acknowledge/", {}).status_code == 404
    with capture_broadcasts() as sent:
        res = client_for(w.county_a_duty).post(f"/api/sentiment/hits/{hit_id}/acknowledge/", {}, format="json")
    assert res.status_code == 200 and res.json()["acknowledged_at"]
    pushed = [m for m in sent if m["event"] == "sentiment.hit" and m["group"] == f"org.{w.county_a.pk}"]
    assert pushed and pushed[0]["data"]["acknowledged_at"]
    alerts = client_for(w.county_a_duty).get("/api/board/").json()["alerts"]
    assert not [a for a in alerts if a["kind"] == "sentiment_hit"]


def test_the_monitor_shows_which_feeds_are_failing(setup: Any) -> None:
    from sentiment.models import Feed, Source

    weibo = Source.objects.get(code="weibo")
    Feed.objects.create(name="市网信办", url="https://example.org/a.xml", source=weibo, auth_header="Bearer s3cret")
    Feed.objects.create(
        name="本地论坛", url="https://example.org/b.json", kind="json", source=weibo, failures=3, last_error="HTTP 500"
    )
    state = client_for(setup.analyst).get("/api/sentiment/state/").json()
    assert [(f["name"], f["failing"], f["last_error"]) for f in state["feeds"]] == [
        ("本地论坛", True, "HTTP 500"),
        ("市网信办", False, ""),
    ]
    assert "s3cret" not in str(state) and "example.org" not in str(state)


def test_the_demo_brings_a_watch_list_and_two_days_of_posts_once(db: Any) -> None:
    from io import StringIO

    from django.core.management import call_command

    call_command("load_codes", stdout=StringIO())
    out = StringIO()
    call_command("load_demo", stdout=out)
    assert "sentiment demo: 15 posts stored" in out.getvalue()
    assert WatchList.objects.filter(name="危化品安全").count() == 1
    assert Event.objects.filter(posts_n__gte=3).exists()  # the crash retold
    assert WatchHit.objects.filter(post__text__contains="化工厂").exists()
    assert Post.objects.filter(org__name="东湖派出所", risk=Risk.YELLOW).exists()  # the complaint
    out = StringIO()
    call_command("load_demo", stdout=out)
    assert "0 posts stored, 15 already there" in out.getvalue() and Post.objects.count() == 15
