"""热点 in Chromium: the analyst opens the hotspots page from the nav; the map draws the heat layer and the
red cell, the ranked list shows the cell with its why; the incidents behind it open with links to their
pages; 研判 makes the analysis and lands in the workspace on it, where it is published and a directive is
issued from it — the directive's analysis points back to the kept hotspot, and the map asked for that
hotspot lists the analysis."""

from __future__ import annotations

import itertools
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from command_center import codes
from command_center.models import Category
from incidents import services as incident_services
from intel import hotspots
from intel.models import Analysis, Directive, Hotspot
from tests.browser.test_dispatch import ARTIFACTS, closing, login  # noqa: F401  # `closing` is a fixture
from tests.conftest import build_world

SPOT = (30.2741, 120.1551)
_seq = itertools.count(1)


def intake(w, at, pos=SPOT):
    data = incident_services.IntakeData(
        call_id=f"B{next(_seq):06d}", source="110", address="东湖路8号车棚",
        category=Category.objects.get(code="010120"),
        caller_phone="13900001111", lat=pos[0], lon=pos[1], org=w.station_a1, reported_at=at, answered_at=at,
    )  # fmt: skip
    i, _ = incident_services.incident_intake(actor=w.duty, data=data)
    return i


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_hotspot_map_list_drill_down_and_analysis(asgi_live_server, browser, closing):  # noqa: F811
    w = build_world()
    codes.load_defaults()
    hotspots.load_defaults()
    yesterday = timezone.localdate() - timedelta(days=1)
    noon = hotspots.local_start(yesterday) + timedelta(hours=12)
    made = [intake(w, noon + timedelta(minutes=i)) for i in range(6)]  # 6 e-bike thefts in one cell
    for k in (1, 2, 3, 4):  # the same weekday before: 1 each
        intake(w, noon - timedelta(weeks=k))
    intake(w, noon, pos=(30.2841, 120.1651))  # one elsewhere: heat, not a hotspot
    ARTIFACTS.mkdir(exist_ok=True)
    base = asgi_live_server
    errors: list[str] = []
    ctx = browser.new_context(viewport={"width": 1440, "height": 1000})
    closing(ctx)
    page = ctx.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
    login(page, base, "analyst")
    page.get_by_role("link", name="热点").click()
    page.wait_for_url(re.compile(r"/intel/hotspots/$"))
    page.wait_for_load_state()  # the page's script has filled the filters: what is typed next stays
    expect(page.locator("h1")).to_contain_text("热点")
    page.locator(".hs-filters input[name=at]").fill(yesterday.isoformat())
    page.locator(".hs-filters input[name=at]").dispatch_event("change")
    row = page.locator(".hs-row").first
    expect(row).to_be_visible()
    expect(row.locator(".colour-chip")).to_have_text("红色")
    expect(row.locator(".hs-count")).to_have_text("6")
    expect(row.locator(".hs-why")).to_have_text("警情 昨日 6 起，基线 1.0 ± 0.0")
    expect(row).to_contain_text("东湖派出所")
    expect(page.locator(".hs-rows .hs-row")).to_have_count(1)
    # The map: the heat canvas and the red cell.
    expect(page.locator("canvas.leaflet-heatmap-layer")).to_have_count(1)
    expect(page.locator("path.hs-cell.hs-red")).to_have_count(1)
    # A category asked: 盗窃电动车's type keeps it, 交通 has none.
    page.locator(".hs-filters select[name=category]").select_option("03")
    expect(page.locator(".hs-rows")).to_contain_text("此期间没有热点")
    page.locator(".hs-filters select[name=category]").select_option("")
    expect(page.locator(".hs-row")).to_have_count(1)
    page.screenshot(path=str(ARTIFACTS / "hotspots.png"), full_page=True)

    # Drill-down: the incidents behind it, each linking to its page.
    page.locator(".hs-row").first.get_by_role("button", name="警情").click()
    links = page.locator(".hs-incidents a")
    expect(links).to_have_count(6)
    numbers = {i.number for i in made}
    assert {links.nth(n).inner_text() for n in range(6)} == numbers
    first = links.first.get_attribute("href")
    assert first and re.fullmatch(r"/incidents/\d+/", first)

    # 研判: the workspace opens on the new analysis; publish it and issue a directive from it.
    page.locator(".hs-row").first.get_by_role("button", name="研判").click()
    page.wait_for_url(re.compile(r"/intel/\?analysis=\d+"))
    analysis = Analysis.objects.get(pk=int(page.url.rsplit("=", 1)[1]))
    hotspot = Hotspot.objects.get()
    assert analysis.source == hotspot and hotspot.colour == "red" and hotspot.count == 6
    assert set(analysis.incidents.values_list("pk", flat=True)) == {i.pk for i in made}
    an_row = page.locator(f'.an[data-id="{analysis.pk}"]')
    expect(an_row).to_be_visible()
    an_row.get_by_role("button", name="发布").click()
    expect(an_row.locator(".state")).to_have_text("已发布")
    an_row.get_by_role("button", name="据此下发指令").click()
    issue = page.locator("form.issue-form")
    expect(issue.get_by_label("依据研判")).to_have_value(str(analysis.pk))
    issue.get_by_label("标题").fill("东湖路车棚电动车盗窃热点治理")
    issue.get_by_label("内容").fill("东湖路车棚昨日电动车盗窃明显高于基线，请加强巡防并排查监控盲区。")
    issue.locator(".org-tree label", has_text="东湖派出所").locator("input").check()
    issue.get_by_label("标题").press("Control+Enter")
    expect(page.locator('.dir[data-title="东湖路车棚电动车盗窃热点治理"]')).to_be_visible()
    d = Directive.objects.get(title="东湖路车棚电动车盗窃热点治理")
    assert d.analysis_id == analysis.pk and list(d.recipients.all()) == [w.station_a1]

    # Both ways: the analysis's source leads to the map asked for the kept hotspot, which names the analysis.
    page.goto(f"{base}/intel/hotspots/?hotspot={hotspot.pk}")
    kept = page.locator(".hs-row").first
    expect(kept.locator(f'a.hs-made[href="/intel/?analysis={analysis.pk}"]')).to_be_visible()
    expect(page.locator(".hs-incidents a")).to_have_count(6)  # the kept hotspot's incidents open at once
    assert errors == []
