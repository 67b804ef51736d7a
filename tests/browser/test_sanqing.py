"""情 to 指, end to end in Chromium (issue 15's path): a volunteer reports a hazard with a photo from a
phone-sized window; the station turns it into an incident; the morning 三情 report of the city (drafted as
beat drafts it) picks the incident up in its 社情 section and carries the day's red hotspot; the analyst
edits the draft and the commander publishes it; the red hotspot's suggestion opens a 研判 in one click, and
from it a directive goes to the station.

The report is of today (beat drafts it for the day just ended at the next morning's hour): the volunteer's
report, the incident made of it and the hotspot's incidents all fall on one local day whenever the test
runs."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from briefing import services as briefing
from briefing.models import DailyReport
from command_center import codes
from command_center.models import Org
from community import services as community
from community.models import Volunteer, VolunteerReport
from incidents.models import Incident
from intel import hotspots
from intel.models import Analysis, Directive, Hotspot
from tests.browser.test_community import tiny_png
from tests.browser.test_dispatch import ARTIFACTS, closing, login  # noqa: F401  # `closing` is a fixture
from tests.browser.test_hotspots import intake
from tests.conftest import build_world

LIVE_MS = 10_000


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_volunteer_hazard_to_incident_to_morning_report_to_directive(
    asgi_live_server: str,
    browser: Any,
    closing: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    w = build_world()
    codes.load_defaults()
    community.load_defaults()
    hotspots.load_defaults()
    Org.objects.filter(pk=w.station_a1.pk).update(lat=30.29, lon=120.16)
    Org.objects.filter(pk=w.community_a1.pk).update(lat=30.291, lon=120.161)
    Volunteer.objects.create(person=w.volunteer.person, station=w.station_a1, community=w.community_a1)
    # Six e-bike thefts at one shed earlier today, none there before: a red hotspot of the day.
    midnight = hotspots.local_start(timezone.localdate())
    at = max(midnight, timezone.now() - timedelta(minutes=30))
    thefts = [intake(w, at) for _ in range(6)]
    ARTIFACTS.mkdir(exist_ok=True)
    base = asgi_live_server
    errors: list[str] = []

    def watch(page: Any, who: str) -> None:
        page.on("pageerror", lambda e: errors.append(f"{who}: {e}"))
        page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)

    # 1. The volunteer, on a phone: a hazard with a photo and a place picked on the map.
    phone = {"viewport": {"width": 390, "height": 844}, "locale": "zh-CN", "has_touch": True}
    vol = browser.new_context(**phone)
    closing(vol)
    page = vol.new_page()
    watch(page, "volunteer")
    login(page, base, "volunteer")
    page.goto(f"{base}/community/")
    page.get_by_label("隐患上报").check()
    page.get_by_label("类别").select_option("fire_hazard")
    page.get_by_label("看到了什么？").fill("5号楼楼道堆满纸箱，有人拉线给电动车充电")
    page.get_by_label("地址或标志物").fill("东湖小区5号楼")
    page.get_by_label("照片").set_input_files(str(tiny_png(tmp_path / "楼道.png")))
    page.locator(".cv-map").click(position={"x": 150, "y": 100})
    expect(page.locator(".cv-where")).to_contain_text("已定位")
    page.get_by_role("button", name="提交上报").click()
    expect(page.locator(".cv-where")).to_have_text("已提交，谢谢！")
    report = VolunteerReport.objects.get()
    assert report.photos.count() == 1

    # 2. The station, on a phone: the hazard becomes an incident.
    st = browser.new_context(**phone)
    closing(st)
    desk = st.new_page()
    watch(desk, "station")
    login(desk, base, "station1")
    desk.goto(f"{base}/community/triage/")
    card = desk.locator(f'.ct-item[data-report="{report.pk}"]')
    expect(card).to_be_visible(timeout=LIVE_MS)
    card.get_by_role("button", name="转为警情").click()
    card.locator(".ct-form textarea").fill("派员核查楼道充电")
    card.get_by_role("button", name="确认").click()
    expect(desk.locator(f'[data-list=done] .ct-item[data-report="{report.pk}"]')).to_contain_text("已转警情")
    made = Incident.objects.get(volunteer_report=report)

    # 3. The morning report, as beat drafts it: 社情 names the incident, 警情 the red hotspot.
    r = briefing.report_draft(org=w.city, day=timezone.localdate())
    assert made.number in r.body
    desk_ctx = browser.new_context(viewport={"width": 1440, "height": 1000})
    closing(desk_ctx)
    office = desk_ctx.new_page()
    watch(office, "office")
    login(office, base, "analyst")
    office.goto(f"{base}/briefing/")
    office.get_by_role("link", name=r.title).click()
    figures = office.locator(".report-figures")
    expect(figures).to_contain_text(made.number)
    expect(figures.locator(".hotspots li.colour-red")).to_have_count(1)
    hot = office.locator(".report-suggestions li.colour-red", has_text="红色热点")
    expect(hot).to_have_count(1)

    # 4. The analyst edits and saves; the commander publishes.
    editor = office.locator(".report-body")
    opinion = "\n\n## 研判意见\n\n东湖小区楼道充电隐患已转警情；东湖路车棚电动车盗窃成红色热点。"
    editor.fill(editor.input_value() + opinion)
    office.locator(".report-save").click()
    expect(office.locator(".report-status")).to_have_text("已保存。", timeout=LIVE_MS)
    office.screenshot(path=str(ARTIFACTS / "sanqing-report.png"), full_page=True)
    desk_ctx.clear_cookies()
    login(office, base, "commander")
    office.goto(f"{base}/briefing/reports/{r.pk}/")
    office.locator(".report-publish").click()
    expect(office.locator(".report-state")).to_have_text("已发布", timeout=LIVE_MS)
    r.refresh_from_db()
    assert r.state == DailyReport.State.PUBLISHED and "东湖路车棚电动车盗窃成红色热点" in r.body

    # 5. The red hotspot becomes a directive: 研判 in one click, published, a directive from it.
    desk_ctx.clear_cookies()
    login(office, base, "analyst")
    office.goto(f"{base}/briefing/reports/{r.pk}/")
    office.locator(".report-suggestions li.colour-red", has_text="红色热点").locator(".suggestion-analyse").click()
    office.wait_for_url(re.compile(r"/intel/\?analysis=\d+"), timeout=LIVE_MS)
    analysis = Analysis.objects.get(pk=int(office.url.rsplit("=", 1)[1]))
    assert analysis.source == Hotspot.objects.get() and analysis.source.colour == "red"
    assert set(analysis.incidents.values_list("pk", flat=True)) == {i.pk for i in thefts}
    row = office.locator(f'.an[data-id="{analysis.pk}"]')
    row.get_by_role("button", name="发布").click()
    expect(row.locator(".state")).to_have_text("已发布")
    row.get_by_role("button", name="据此下发指令").click()
    issue = office.locator("form.issue-form")
    expect(issue.get_by_label("依据研判")).to_have_value(str(analysis.pk))
    issue.get_by_label("标题").fill("东湖路车棚电动车盗窃热点整治")
    issue.get_by_label("内容").fill("晨报红色热点：东湖路车棚电动车盗窃，请今晚起加强巡防并排查监控盲区。")
    issue.locator(".org-tree label", has_text="东湖派出所").locator("input").check()
    issue.get_by_label("标题").press("Control+Enter")
    expect(office.locator('.dir[data-title="东湖路车棚电动车盗窃热点整治"]')).to_be_visible(timeout=LIVE_MS)
    d = Directive.objects.get(title="东湖路车棚电动车盗窃热点整治")
    assert d.analysis_id == analysis.pk and list(d.recipients.all()) == [w.station_a1]
    assert errors == []
