"""Issue 14's "done when" in Chromium: ingest → event → spike → analysis → directive. The city's analyst
watches the 网情 monitor while posts arrive through the ingest (as the push API and the feeds send them): a
flagged post shows live with its 涉警 terms marked; near-duplicates form an event shown with its count and
growth; a watch list typed in the editor is refused for a bad expression (the message under the field),
then saved, and a post that matches it shows as a hit; a spike against the same hour of the previous days
raises a warning live. The analyst opens the event's and a post's pages (why it was flagged), then clicks
研判 on the warning, lands in the workspace on the new analysis, publishes it and issues a directive from it
to a station: the directive's analysis has the warning as its source and the warning's posts attached."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from lxml import etree
from playwright.sync_api import expect

from command_center import codes
from command_center.models import Role
from intel import cap
from intel.models import Analysis, Directive
from sentiment import services
from sentiment.models import Event, Post, Warning
from tests.browser.test_dispatch import ARTIFACTS, closing, login  # noqa: F401  # `closing` is a fixture
from tests.conftest import build_world
from tests.factories import make_person

LIVE_MS = 10_000  # a push, or a fetch it triggers, reaches the page well within this


def item(ext: str, text: str, when: Any, **extra: Any) -> dict[str, Any]:
    return {"source": "weibo", "external_id": ext, "author": extra.pop("author", "网友" + ext), "text": text,
            "published_at": when.isoformat(), **extra}  # fmt: skip


def hourly(n: int, hour: Any, start: int, text: str) -> list[dict[str, Any]]:
    """n posts on one topic in the hour starting at `hour`."""
    return [
        item(f"s{start + i}", f"{text}（第{start + i}条，{i}号楼）", hour + timedelta(minutes=1 + i % 50))
        for i in range(n)
    ]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_ingest_event_spike_analysis_directive(asgi_live_server, browser, closing):  # noqa: F811
    w = build_world()
    codes.load_defaults()
    services.load_defaults()  # the sources (微博 …) and the default spike rule
    make_person("station3", w.station_a2, Role.STATION_OFFICER)
    ARTIFACTS.mkdir(exist_ok=True)
    base = asgi_live_server
    errors: list[str] = []
    ctx = browser.new_context(viewport={"width": 1440, "height": 1000})
    closing(ctx)
    page = ctx.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
    login(page, base, "analyst")
    page.get_by_role("link", name="网情监测").click()  # the nav's entry
    expect(page.locator(".live-status[data-state=live]")).to_be_visible()
    expect(page.locator("h1")).to_contain_text("网情监测")
    now = timezone.now()

    # 1. A flagged post arrives: it shows live, newest first, its 涉警 terms marked, with source and place.
    services.ingest([item("a1", "东湖派出所民警态度恶劣，报警两小时没人出警，太失望了", now - timedelta(minutes=3),
                          metrics={"reposts": 3, "comments": 1, "likes": 9})], actor=w.analyst)  # fmt: skip
    angry = Post.objects.get(external_id="a1")
    assert angry.flagged and angry.police
    card = page.locator(f'.sm-post[data-id="{angry.pk}"]')
    expect(card).to_be_visible(timeout=LIVE_MS)
    expect(card.locator("mark.police", has_text="民警")).to_be_visible()
    expect(card).to_contain_text("微博")
    expect(card).to_contain_text("东湖派出所")
    expect(card.locator(".colour-chip")).to_have_text("黄色")
    expect(page.locator("[data-count=flagged_today]")).to_have_text("1")

    # 2. Near-duplicates form an event: shown with its count and its growth curve.
    knife = "西溪派出所门口有人持刀伤人，警察已经到场，大家注意安全"
    services.ingest([item("k1", knife, now - timedelta(minutes=50))], actor=w.analyst)
    services.ingest([item("k2", "转发：" + knife + "！！", now - timedelta(minutes=20)),
                     item("k3", knife + " 求扩散", now - timedelta(minutes=10))], actor=w.analyst)  # fmt: skip
    event = Event.objects.get(posts__external_id="k1")
    assert event.posts_n == 3
    row = page.locator(f'.sm-event[data-id="{event.pk}"]')
    expect(row).to_have_attribute("data-posts", "3", timeout=LIVE_MS)
    expect(row).to_contain_text("3 条")
    expect(row.locator(".sm-spark")).to_have_attribute("data-points", re.compile(r"^[1-9]"), timeout=LIVE_MS)

    # 3. The watch-list editor: a bad expression is refused with the reason under the field; a good one saves.
    form = page.locator("form.sm-watch-form")
    form.get_by_label("名称").fill("化工")
    form.get_by_label("关键词").fill("(化工厂 爆炸")
    form.get_by_role("button", name="保存").click()
    error = form.locator(".field-error[data-for=expression]")
    expect(error).to_be_visible()
    expect(error).not_to_be_empty()
    expect(form.get_by_label("关键词")).to_have_attribute("aria-invalid", "true")
    form.get_by_label("关键词").fill("化工厂 (爆炸 OR 泄漏) -演练")
    form.get_by_role("button", name="保存").click()
    watch = page.locator('.sm-wl[data-name="化工"]')
    expect(watch).to_be_visible()
    expect(error).to_be_hidden()
    expect(watch.locator(".sm-expr")).to_have_text("化工厂 (爆炸 OR 泄漏) -演练")
    # A post that matches it shows as a hit, live — on the monitor, and on the commander's dispatch board.
    board_ctx = browser.new_context(viewport={"width": 1600, "height": 900})
    closing(board_ctx)
    board = board_ctx.new_page()
    board.on("pageerror", lambda e: errors.append(f"board: {e}"))
    login(board, base, "commander")
    board.goto(f"{base}/dispatch/board/")
    expect(board.locator(".live-status[data-state=live]")).to_be_visible()
    services.ingest([item("c1", "东湖化工厂好像发生泄漏，味道很大", now - timedelta(minutes=2))], actor=w.analyst)
    leak = Post.objects.get(external_id="c1")
    hit = page.locator(".sm-hit", has=page.locator(f'a[href="/sentiment/posts/{leak.pk}/"]'))
    expect(hit).to_be_visible(timeout=LIVE_MS)
    on_board = board.locator(".alert.a-sentiment", has_text="化工")
    expect(on_board).to_be_visible(timeout=LIVE_MS)
    expect(on_board.locator("a.txt")).to_have_attribute("href", f"/sentiment/posts/{leak.pk}/")
    board.reload()  # the board's state says the same as the push
    expect(board.locator(".alert.a-sentiment", has_text="化工")).to_be_visible()
    board.screenshot(path=str(ARTIFACTS / "sentiment-board-alert.png"))
    # 知悉 on the monitor: the hit stays in the monitor's list, quieter, and leaves the board's strip.
    hit.get_by_role("button", name="知悉").click()
    expect(hit).to_have_class(re.compile(r"\backed\b"))
    expect(board.locator(".alert.a-sentiment", has_text="化工")).to_have_count(0, timeout=LIVE_MS)
    board.close()
    expect(hit.locator("mark.hit").first).to_have_text(re.compile("化工厂|泄漏"))
    expect(watch).to_contain_text("1 次命中")
    # Edit it (the form fills from the row), then deactivate it.
    watch.get_by_role("button", name="编辑").click()
    expect(form.get_by_label("关键词")).to_have_value("化工厂 (爆炸 OR 泄漏) -演练")
    form.get_by_label("地点（逗号分隔）").fill("东湖, 西溪")
    form.get_by_role("button", name="保存").click()
    expect(watch).to_contain_text("东湖、西溪")
    watch.get_by_role("button", name="停用").click()
    expect(watch).to_have_class(re.compile(r"\binactive\b"))
    expect(watch.get_by_role("button", name="启用")).to_be_visible()

    # 4. A spike: the last full hour's thefts against the same hour of the previous seven days.
    at = timezone.localtime().replace(minute=10, second=0, microsecond=0)
    last = at.replace(minute=0) - timedelta(hours=1)
    k = 0
    for day, n in enumerate([2, 3, 1, 2, 2, 3, 2], start=1):
        services.ingest(hourly(n, last - timedelta(days=day), k, "东湖小区电动车被偷"))
        k += n
    services.ingest(hourly(25, last, k, "东湖小区电动车被偷"))
    raised = services.detect_spikes(now=at)
    # Warned once, at the station whose posts make it (the city above reads it in its area).
    assert [x.org_id for x in raised] == [w.station_a1.pk]
    warning = raised[0]
    assert warning.colour == "red" and warning.posts.count() == 25
    card = page.locator(f'.sm-warning[data-id="{warning.pk}"]')
    expect(card).to_be_visible(timeout=LIVE_MS)
    expect(card).to_contain_text("25")
    expect(card.locator(".colour-chip")).to_have_text("红色")
    chart = page.locator(".sm-spike-chart")
    expect(chart).to_have_attribute("data-warnings", re.compile(r"^[1-9]"), timeout=LIVE_MS)
    expect(page.locator("[name=spike-topic]")).to_have_value(warning.category)
    chart.hover(position={"x": 400, "y": 150})  # the tooltip is drawn on the canvas: no inline style (CSP)
    page.screenshot(path=str(ARTIFACTS / "sentiment-monitor.png"), full_page=True)
    # The big screen shows the area's 网情 today and its top events.
    wall_ctx = browser.new_context(viewport={"width": 1920, "height": 1080})
    closing(wall_ctx)
    wall = wall_ctx.new_page()
    wall.on("pageerror", lambda e: errors.append(f"wall: {e}"))
    login(wall, base, "commander")
    wall.goto(f"{base}/dispatch/wall/")
    strip = wall.locator(".wall-sentiment")
    expect(strip).to_be_visible(timeout=LIVE_MS)
    expect(strip.locator("[data-senti=flagged_today]")).to_have_text(re.compile(r"^[1-9]\d*$"))
    expect(strip.locator(".ws-event").first).to_be_visible()
    expect(strip.locator(f'.ws-event[data-id="{event.pk}"]')).to_contain_text("3")
    wall.screenshot(path=str(ARTIFACTS / "sentiment-wall.png"))
    # The commander, who may publish, gets the warning's CAP 1.2 alert from its card; the analyst does not.
    expect(card.locator("a.sm-cap")).to_have_count(0)
    wall.goto(f"{base}/sentiment/")
    cap_link = wall.locator(f'.sm-warning[data-id="{warning.pk}"] a.sm-cap')
    expect(cap_link).to_be_visible(timeout=LIVE_MS)
    cap_href = cap_link.get_attribute("href") or ""
    assert cap_href.endswith(f"/{warning.pk}/"), cap_href
    alert = wall.request.get(f"{base}{cap_href}")
    assert alert.ok and "xml" in alert.headers["content-type"], (alert.status, alert.headers)
    assert cap.validate(alert.body()) == []  # valid against the CAP 1.2 XSD
    root = etree.fromstring(alert.body())
    ns = {"cap": "urn:oasis:names:tc:emergency:cap:1.2"}
    assert root.findtext("cap:identifier", namespaces=ns, default="").endswith(f".sentiment-warning.{warning.pk}")
    assert w.station_a1.name in root.findtext("cap:info/cap:headline", namespaces=ns, default="")
    wall.locator(f'.sm-warning[data-id="{warning.pk}"]').screenshot(path=str(ARTIFACTS / "sentiment-warning-cap.png"))
    wall_ctx.close()
    phone = browser.new_context(viewport={"width": 390, "height": 844})
    closing(phone)
    small = phone.new_page()
    small.on("pageerror", lambda e: errors.append(f"phone: {e}"))
    login(small, base, "analyst")
    small.goto(f"{base}/sentiment/")
    expect(small.locator(f'.sm-warning[data-id="{warning.pk}"]')).to_be_visible(timeout=LIVE_MS)
    overflow = small.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1, f"the monitor is {overflow}px wider than a phone"
    small.screenshot(path=str(ARTIFACTS / "sentiment-monitor-phone.png"))

    # 5. The event's page: figures, growth, polarity mix, top posts.
    page.locator(f'.sm-event[data-id="{event.pk}"] .sm-event-title').click()
    expect(page).to_have_url(re.compile(rf"/sentiment/events/{event.pk}/$"))
    expect(page.locator(".live-status[data-state=live]")).to_be_visible()
    expect(page.locator("[data-f=posts_n]")).to_have_text("3")
    expect(page.locator(".ev-posts .sm-post")).to_have_count(3)
    expect(page.locator(".ev-growth")).to_have_attribute("data-points", re.compile(r"^[1-9]"))
    expect(page.locator(".ev-judge .sm-judge")).to_be_visible()
    # 研判 from the event: the analysis carries the event's posts; the event's page lists it afterwards.
    page.locator(".ev-judge").get_by_role("button", name="研判").click()
    page.wait_for_url(re.compile(r"/intel/\?analysis=\d+"))
    from_event = Analysis.objects.get(pk=int(page.url.rsplit("=", 1)[1]))
    assert from_event.source == event and from_event.posts.count() == 3
    page.goto(f"{base}/sentiment/events/{event.pk}/")
    expect(page.locator(".ev-analyses a")).to_have_attribute("href", f"/intel/?analysis={from_event.pk}")
    page.screenshot(path=str(ARTIFACTS / "sentiment-event.png"), full_page=True)

    # 6. A post's page: why it was flagged, its terms, the event it belongs to.
    first = Post.objects.get(external_id="k1")
    page.locator(f'.ev-posts .sm-post[data-id="{first.pk}"] .sm-open').click()
    expect(page).to_have_url(re.compile(rf"/sentiment/posts/{first.pk}/$"))
    expect(page.locator(".pp-why li").first).not_to_be_empty()
    expect(page.locator(".pp-text mark.police").first).to_be_visible()
    expect(page.locator("a.pp-event")).to_have_attribute("href", f"/sentiment/events/{event.pk}/")
    expect(page.locator(".pp-judge .sm-judge")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "sentiment-post.png"), full_page=True)
    # Both read on a phone too: nothing wider than the screen.
    for path, name in ((f"/sentiment/events/{event.pk}/", "event"), (f"/sentiment/posts/{first.pk}/", "post")):
        small.goto(f"{base}{path}")
        expect(small.locator("[data-loaded]")).to_be_visible()
        overflow = small.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 1, f"the {name} page is {overflow}px wider than a phone"
        small.screenshot(path=str(ARTIFACTS / f"sentiment-{name}-phone.png"), full_page=True)
    phone.close()

    # 7. 研判 on the warning: the workspace opens on the new analysis; publish it, issue a directive from it.
    page.goto(f"{base}/sentiment/")
    expect(page.locator(".live-status[data-state=live]")).to_be_visible()
    page.locator(f'.sm-warning[data-id="{warning.pk}"]').get_by_role("button", name="研判").click()
    page.wait_for_url(re.compile(r"/intel/\?analysis=\d+"))
    analysis = Analysis.objects.get(pk=int(page.url.rsplit("=", 1)[1]))
    assert analysis.source == warning
    assert set(analysis.posts.values_list("pk", flat=True)) == set(warning.posts.values_list("pk", flat=True))
    warning.refresh_from_db()
    assert warning.state == Warning.State.ANALYSED
    expect(page.locator(".live-status[data-state=live]")).to_be_visible()
    an_row = page.locator(f'.an[data-id="{analysis.pk}"]')
    expect(an_row).to_be_visible()
    an_row.get_by_role("button", name="发布").click()
    expect(an_row.locator(".state")).to_have_text("已发布")
    an_row.get_by_role("button", name="据此下发指令").click()
    issue = page.locator("form.issue-form")
    expect(issue.get_by_label("依据研判")).to_have_value(str(analysis.pk))
    issue.get_by_label("标题").fill("东湖小区电动车盗窃网情处置")
    issue.get_by_label("内容").fill("网上集中反映东湖小区电动车被盗，请东湖派出所核查警情、加强巡防并及时回应。")
    issue.locator(".org-tree label", has_text="东湖派出所").locator("input").check()
    issue.get_by_label("标题").press("Control+Enter")
    expect(page.locator('.dir[data-title="东湖小区电动车盗窃网情处置"]')).to_be_visible()
    d = Directive.objects.get(title="东湖小区电动车盗窃网情处置")
    assert d.analysis_id == analysis.pk and d.source == "analysis"
    assert list(d.recipients.all()) == [w.station_a1]
    analysis.refresh_from_db()
    assert analysis.source == warning and analysis.posts.count() == 25
    # The monitor no longer lists the warning as open (it was analysed).
    page.goto(f"{base}/sentiment/")
    expect(page.locator(".live-status[data-state=live]")).to_be_visible()
    expect(page.locator(f'.sm-warning[data-id="{warning.pk}"]')).to_have_count(0)
    # The link kept both ways: from the analysis on the workspace back to its warning, shown first and marked
    # with the analysis made from it.
    page.goto(f"{base}/intel/?analysis={analysis.pk}")
    source = page.locator(f'.an[data-id="{analysis.pk}"] a.an-source')
    expect(source).to_have_attribute("href", f"/sentiment/?warning={warning.pk}")
    source.click()
    pinned = page.locator(f'.sm-warning.focus[data-id="{warning.pk}"]')
    expect(pinned).to_be_visible()
    expect(pinned).to_contain_text("已研判")
    expect(pinned.locator(f'a[href="/intel/?analysis={analysis.pk}"]')).to_be_visible()
    assert errors == []
