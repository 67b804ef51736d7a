"""Bulletins in Chromium: beat's draft of 东城分局's daily bulletin; the supervisor opens it from the nav,
sees the ranking chart (ECharts), writes the requirements and publishes; a station officer finds the
sign-for task in the station inbox's tasks tab, signs it, opens the bulletin from the nav and downloads the
DOCX, which reads back (python-docx) with its Chinese text."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from docx import Document
from playwright.sync_api import expect

from command_center import codes
from intel.models import Task
from supervision import bulletins
from supervision.models import Bulletin
from tests.browser.test_dispatch import ARTIFACTS, closing, login  # noqa: F401  # `closing` is a fixture
from tests.browser.test_loop import open_tasks_tab
from tests.conftest import build_world
from tests.dispatch.conftest import dispatch, make_incident, make_unit

REQUIREMENTS = "各所加强夜间巡逻，30 秒内签收警令"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_supervisor_publishes_the_daily_bulletin_and_a_station_signs_and_downloads_it(
    asgi_live_server,
    browser,
    closing,  # noqa: F811
):
    w = build_world()
    codes.load_defaults()
    i = make_incident(w, org=w.station_a1)
    dispatch(w, i, unit=make_unit(w.station_a1))
    b = bulletins.bulletin_generate(kind="daily", org=w.county_a, day=timezone.localdate())  # as beat does
    ARTIFACTS.mkdir(exist_ok=True)
    base = asgi_live_server
    errors: list[str] = []

    def page_of(username: str, **ctx: Any) -> Any:
        context = browser.new_context(accept_downloads=True, **ctx)
        closing(context)
        page = context.new_page()
        page.on("pageerror", lambda e: errors.append(f"{username}: {e}"))
        page.on("console", lambda m: errors.extend([f"{username}: {m.text}"] if m.type == "error" else []))
        login(page, base, username)
        return page

    # The supervisor: nav → list → the draft; the chart is drawn; writes the requirements and publishes.
    sup = page_of("supervisor", viewport={"width": 1280, "height": 900})
    sup.locator(".topnav").get_by_role("link", name="通报").click()
    sup.get_by_role("link", name=b.title).click()
    expect(sup.locator(".bulletin-chart")).to_have_attribute("data-drawn", "sign_30s_rate")
    expect(sup.locator(".bulletin-chart canvas")).to_have_count(1)
    expect(sup.locator("table.ranking tbody tr")).to_have_count(2)
    sup.get_by_label("工作要求").fill(REQUIREMENTS)
    sup.get_by_role("button", name="发布", exact=True).click()
    expect(sup.locator(".messages")).to_contain_text("已发布")
    expect(sup.locator(".bulletin .bulletin-state")).to_have_text("已发布")
    sup.screenshot(path=str(ARTIFACTS / "bulletin-published.png"), full_page=True)
    b.refresh_from_db()
    assert b.state == Bulletin.State.PUBLISHED and b.requirements == REQUIREMENTS

    # The station officer: the sign-for task in the inbox's tasks tab; signs it.
    st = page_of("station1", viewport={"width": 390, "height": 844})
    st.goto(f"{base}/dispatch/inbox/")
    expect(st.locator(".live-status[data-state=live]")).to_be_visible()
    open_tasks_tab(st)
    task = Task.objects.get(carried__directive=b.directive, org=w.station_a1)
    card = st.locator(f'.ib-task[data-id="{task.pk}"]')
    expect(card).to_contain_text("签收：" + b.title)
    card.get_by_role("button", name="签收").click()
    expect(card).to_have_attribute("data-state", "signed")
    task.refresh_from_db()
    assert task.state == Task.State.SIGNED and task.signed_by == w.station_a1_officer

    # Then reads the bulletin (nav → list → it) and downloads the DOCX.
    st.locator(".topnav").get_by_role("link", name="通报").click()
    st.get_by_role("link", name=b.title).click()
    expect(st.locator(".bulletin")).to_contain_text(REQUIREMENTS)
    with st.expect_download() as download:
        st.get_by_role("link", name=re.compile("下载 Word")).click()
    assert download.value.suggested_filename == f"{b.title}.docx"
    doc = Document(io.BytesIO(Path(download.value.path()).read_bytes()))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert b.title in text and "东城分局日推进通报" in text and REQUIREMENTS in text and "工作要求" in text
    assert [row.cells[1].text for row in doc.tables[1].rows[1:]] == ["东湖派出所", "新华派出所"]
    assert errors == []
