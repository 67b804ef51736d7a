"""社情 in Chromium on phones: the volunteer reports a hazard with a photo (a small generated PNG) and a place
picked on the map; the station's triage queue shows it live with its clock counting down; the officer makes
an incident of it from the card; the volunteer's page then reads 已转警情 and the points for it."""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from command_center import codes
from command_center.models import Org
from community import services
from community.models import Volunteer, VolunteerReport
from incidents.models import Incident
from tests.conftest import build_world

from .test_dispatch import login

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


def tiny_png(path: Path) -> Path:
    """A 4×4 red PNG, written with zlib (no imaging library)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * 4 for _ in range(4))
    body = chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(rows))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + body + chunk(b"IEND", b""))
    return path


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_volunteer_reports_a_hazard_with_a_photo_and_the_station_makes_an_incident(
    asgi_live_server: str, browser: Any, tmp_path: Path
) -> None:
    base = asgi_live_server
    w = build_world()
    codes.load_defaults()
    services.load_defaults()
    Org.objects.filter(pk=w.station_a1.pk).update(lat=30.29, lon=120.16)
    Org.objects.filter(pk=w.community_a1.pk).update(lat=30.291, lon=120.161)
    Volunteer.objects.create(person=w.volunteer.person, station=w.station_a1, community=w.community_a1)
    ARTIFACTS.mkdir(exist_ok=True)
    photo = tiny_png(tmp_path / "楼道.png")
    errors: list[str] = []
    phone = {"viewport": {"width": 390, "height": 844}, "locale": "zh-CN", "has_touch": True}
    vol_context = browser.new_context(**phone)
    desk_context = browser.new_context(**phone)
    try:
        desk = desk_context.new_page()
        desk.on("pageerror", lambda e: errors.append(f"station: {e}"))
        login(desk, base, "station1")
        desk.goto(f"{base}/community/triage/")
        expect(desk.locator(".live-status[data-state=live]")).to_be_visible(timeout=20000)

        page = vol_context.new_page()
        page.on("pageerror", lambda e: errors.append(f"volunteer: {e}"))
        login(page, base, "volunteer")
        page.goto(f"{base}/community/")
        expect(page.locator(".cv-list")).to_contain_text("暂无")
        page.get_by_label("隐患上报").check()
        page.get_by_label("类别").select_option("fire_hazard")
        page.get_by_label("看到了什么？").fill("3号楼楼道里堆满纸箱，还有人拉线给电动车充电")
        page.get_by_label("地址或标志物").fill("东湖小区3号楼")
        page.get_by_label("照片").set_input_files(str(photo))
        page.locator(".cv-map").click(position={"x": 150, "y": 100})  # a pick on the map
        expect(page.locator(".cv-where")).to_contain_text("已定位")
        page.get_by_label("对外匿名").check()
        page.get_by_role("button", name="提交上报").click()
        expect(page.locator(".cv-where")).to_have_text("已提交，谢谢！")
        mine = page.locator(".cv-item").first
        expect(mine).to_contain_text("待研判")
        expect(mine).to_contain_text("消防隐患")
        expect(page.locator("[data-points]")).to_have_text("1")
        page.screenshot(path=str(ARTIFACTS / "community-volunteer.png"), full_page=True)

        r = VolunteerReport.objects.get()
        assert (r.located_by, r.anonymous_to_public, r.photos.count()) == ("map", True, 1)
        assert r.lat is not None and abs(r.lat - 30.291) < 0.01

        # The station's queue shows it live, its 30-minute clock counting down, the photo served scoped.
        card = desk.locator(f'.ct-item[data-report="{r.pk}"]')
        expect(card).to_be_visible(timeout=5000)
        expect(card.locator(".clk")).to_have_text(re.compile(r"^(29|30):\d\d$"))
        expect(card.locator(".ct-photos img")).to_have_count(1)
        assert desk.evaluate("(img) => img.naturalWidth", card.locator(".ct-photos img").element_handle()) == 4
        desk.screenshot(path=str(ARTIFACTS / "community-triage.png"), full_page=True)
        card.get_by_role("button", name="转为警情").click()
        card.locator(".ct-form textarea").fill("派员核查")
        card.get_by_role("button", name="确认").click()
        done = desk.locator(f'[data-list=done] .ct-item[data-report="{r.pk}"]')
        expect(done).to_contain_text("已转警情")
        incident = Incident.objects.get()
        expect(done.locator(f'a[href="/incidents/{incident.pk}/"]')).to_be_visible()
        assert incident.source == "volunteer" and incident.volunteer_report == r

        # The volunteer sees the outcome and the points (1 for sending, 5 for an incident).
        page.reload()
        expect(page.locator(".cv-item").first).to_contain_text("已转警情")
        expect(page.locator("[data-points]")).to_have_text("6")
        assert errors == []
    finally:
        vol_context.close()
        desk_context.close()
