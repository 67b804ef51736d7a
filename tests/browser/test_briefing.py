"""The morning report in Chromium: the analyst opens yesterday's draft, types into the Markdown editor
(the preview shows the server's sanitised HTML: a heading, and a <script> typed as text stays text),
saves; the commander opens it, publishes it, and downloads the DOCX, which reads back with the analyst's
words in Chinese. A suggestion from a red 网情 warning opens a 研判 in one click."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from docx import Document
from playwright.sync_api import expect

from briefing import services
from briefing.models import DailyReport
from command_center import codes
from intel.models import Analysis
from sentiment.models import Warning as SentimentWarning
from tests.browser.test_dispatch import ARTIFACTS, closing, login  # noqa: F401  # `closing` is a fixture
from tests.conftest import build_world

LIVE_MS = 10_000


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_analyst_edits_the_draft_and_the_commander_publishes_and_downloads(asgi_live_server, browser, closing):  # noqa: F811
    w = build_world()
    codes.load_defaults()
    yesterday = timezone.localdate() - timedelta(days=1)
    at = timezone.localtime().replace(hour=12, minute=0, second=0, microsecond=0) - timedelta(days=1)
    warning = SentimentWarning.objects.create(
        kind="spike", org=w.station_a1, category="020100", colour="red", hour=at, count=9, baseline_mean=1,
        baseline_sd=1, reason="东湖打架话题激增", created_at=at,
    )  # fmt: skip
    r = services.report_draft(org=w.city, day=yesterday)
    ARTIFACTS.mkdir(exist_ok=True)
    base = asgi_live_server
    errors: list[str] = []
    ctx = browser.new_context(viewport={"width": 1440, "height": 1000}, accept_downloads=True)
    closing(ctx)
    page = ctx.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)

    # The analyst: the list, the draft, the editor and its preview.
    login(page, base, "analyst")
    page.goto(f"{base}/briefing/")
    page.get_by_role("link", name=r.title).click()
    editor = page.locator(".report-body")
    expect(editor).to_have_value(r.body)
    editor.fill("## 研判意见\n\n东湖片区夜间加强巡逻。\n\n<script>window.pwned=1</script>")
    preview = page.locator(".report-preview")
    expect(preview.locator("h2")).to_have_count(1, timeout=LIVE_MS)
    expect(preview.locator("h2")).to_have_text("研判意见")
    expect(preview).to_contain_text("<script>window.pwned=1</script>")  # shown as text
    assert page.evaluate("window.pwned") is None
    page.locator(".report-save").click()
    expect(page.locator(".report-status")).to_have_text("已保存。", timeout=LIVE_MS)
    assert DailyReport.objects.get(pk=r.pk).body.startswith("## 研判意见")
    page.screenshot(path=str(ARTIFACTS / "briefing-editor.png"), full_page=True)
    assert page.locator(".report-publish").count() == 0  # an analyst does not publish
    # The suggestion from the red warning: one click opens a 研判 from it, in the workspace.
    page.locator(".suggestion-analyse").first.click()
    page.wait_for_url(lambda url: "/intel/?analysis=" in url, timeout=LIVE_MS)
    assert Analysis.objects.filter(source_id=warning.pk, source_type__model="warning").exists()

    # The commander publishes and downloads the DOCX.
    ctx.clear_cookies()
    login(page, base, "commander")
    page.goto(f"{base}/briefing/reports/{r.pk}/")
    page.locator(".report-publish").click()
    expect(page.locator(".report-state")).to_have_text("已发布", timeout=LIVE_MS)
    page.screenshot(path=str(ARTIFACTS / "briefing-report.png"), full_page=True)
    with page.expect_download() as download:
        page.locator(".report-docx").click()
    doc = Document(io.BytesIO(Path(download.value.path()).read_bytes()))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "东湖片区夜间加强巡逻。" in text and "研判意见" in text and r.title in text
    assert DailyReport.objects.get(pk=r.pk).state == "published"
    assert errors == []


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_station_officer_keeps_and_signs_the_duty_log_on_a_phone(asgi_live_server, browser, closing):  # noqa: F811
    build_world()
    codes.load_defaults()
    base = asgi_live_server
    errors: list[str] = []
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    closing(ctx)
    page = ctx.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
    login(page, base, "station1")
    page.goto(f"{base}/briefing/duty/")
    page.locator(".duty-note").fill("21:30 巡逻东湖小区，无异常")
    page.locator(".duty-note-add").click()
    expect(page.locator(".duty-notes li")).to_contain_text("21:30 巡逻东湖小区，无异常", timeout=LIVE_MS)
    page.locator(".duty-handover").fill("警车油量半箱，钥匙在值班室")
    page.locator(".duty-sign").click()
    expect(page.locator(".duty-state")).to_have_text("已签字", timeout=LIVE_MS)
    expect(page.locator(".duty-sign")).to_have_count(0)
    page.screenshot(path=str(ARTIFACTS / "briefing-duty.png"), full_page=True)
    from briefing.models import DutyLog

    log = DutyLog.objects.get()
    assert log.state == "signed" and log.handover == "警车油量半箱，钥匙在值班室"
    assert errors == []
