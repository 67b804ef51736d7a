"""The partner's live inbox (分流工单, static/js/partnerinbox.js) in Chromium on a phone: a call the desk
diverts appears without a reload, counting down its accept and finish clocks; the partner accepts it from
the card and it moves to 处置中; a second one whose accept clock breaks (the real sweep) turns red, and the
breach also reaches the board of the county desk over the incident's station (partners hang under the city,
not under the county: the clock's owner pushes it there, incidents.services.on_diversion_breach)."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone
from playwright.sync_api import expect

from command_center import clocks, codes
from command_center.models import Deadline, Org
from incidents import services
from incidents.models import Diversion, DiversionTerms
from tests.conftest import build_world

from .test_dispatch import login

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


def a_call(w, n, narrative):
    incident, _ = services.incident_intake(
        actor=w.duty,
        data=services.IntakeData(
            call_id=f"PARTNER-{n}",
            source="110",
            address=f"东湖路{n}号 小区北门",
            narrative=narrative,
            category=codes.active_categories()["020500"],
            lat=30.2901,
            lon=120.1601,
        ),
    )
    return incident


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_diversion_arrives_live_is_accepted_from_the_card_and_a_late_one_turns_red(asgi_live_server, browser):
    base = asgi_live_server
    w = build_world()
    codes.load_defaults()
    DiversionTerms.objects.create(partner=w.partner, accept_min=20, finish_h=8)
    Org.objects.filter(pk=w.station_a1.pk).update(lat=30.2900, lon=120.1600)  # the calls are station A1's
    ARTIFACTS.mkdir(exist_ok=True)
    errors: list[str] = []
    desk_context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    context = browser.new_context(viewport={"width": 412, "height": 915}, locale="zh-CN")
    try:
        board = desk_context.new_page()
        board.on("pageerror", lambda e: errors.append(f"board: {e}"))
        login(board, base, "county_a_duty")
        board.goto(f"{base}/dispatch/board/")
        expect(board.locator(".live-status[data-state=live]")).to_be_visible(timeout=20000)  # a loaded CI box
        page = context.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        login(page, base, "partner")
        page.goto(f"{base}/partner/")
        expect(page.locator(".live-status[data-state=live]")).to_be_visible(timeout=20000)
        expect(page.locator("[data-col=pushed] .ib-empty")).to_be_visible()

        # 1. The desk diverts a call: it appears without a reload, with both countdowns running.
        first = a_call(w, 12, "楼上装修噪音很大，持续到深夜，邻里协商无果，请协调物业和城管处理。" * 3)
        services.incident_divert(incident_id=first.pk, actor=w.duty, partner=w.partner, note="噪音扰民转12345")
        card = page.locator(f'[data-col=pushed] .diversion[data-number="{first.number}"]')
        expect(card).to_be_visible(timeout=5000)
        expect(card.locator(".ib-addr")).to_have_text("东湖路12号 小区北门")  # the row was read over REST
        accept = card.locator('[data-clock="incidents.diversion.accept"]')
        finish = card.locator('[data-clock="incidents.diversion.finish"]')
        expect(accept).to_contain_text("受理时限")
        expect(accept.locator(".clk")).to_have_text(re.compile(r"^1[89]:\d\d$"))  # 20 min from the push
        expect(finish).to_contain_text("办结时限")
        expect(finish.locator(".clk")).to_have_text(re.compile(r"^7:5\d:\d\d$"))  # 8 h from the push
        expect(page.locator("[data-col=pushed] .badge")).to_have_text("1")

        # 2. The partner accepts it from the card: it moves to 处置中, its finish clock still counting.
        card.get_by_role("button", name="接收").click()
        moved = page.locator(f'[data-col=accepted] .diversion[data-number="{first.number}"]')
        expect(moved).to_be_visible()
        expect(moved.locator(".state")).to_have_text("已接收")
        expect(moved.locator('[data-clock="incidents.diversion.finish"] .clk')).to_have_text(
            re.compile(r"^7:5\d:\d\d$")
        )
        expect(moved.locator('[data-clock="incidents.diversion.accept"]')).to_have_count(0)  # met in time
        expect(page.locator("[data-col=pushed] .diversion")).to_have_count(0)
        assert Diversion.objects.get(incident=first).state == "accepted"

        # 3. A second one is not accepted in time: the real sweep breaks its accept clock, the card turns red.
        second = a_call(w, 8, "小区门口占道经营")
        late = services.incident_divert(incident_id=second.pk, actor=w.duty, partner=w.partner)
        late_card = page.locator(f'[data-col=pushed] .diversion[data-number="{second.number}"]')
        expect(late_card).to_be_visible()
        expect(late_card).not_to_have_class(re.compile(r"\boverdue\b"))
        Deadline.objects.filter(
            subject_type=ContentType.objects.get_for_model(Diversion),
            subject_id=late.pk,
            kind=services.CLOCK_DIVERSION_ACCEPT,
        ).update(due_at=timezone.now() - timedelta(seconds=1))
        assert second.org_id == w.station_a1.pk
        assert clocks.sweep() == 1
        expect(late_card).to_have_class(re.compile(r"\boverdue\b"))
        breach = Deadline.objects.get(subject_id=late.pk, kind=services.CLOCK_DIVERSION_ACCEPT)
        alert = board.locator(f'.alert.a-breach[data-key="breach:{breach.pk}"]')
        expect(alert).to_contain_text("受理时限")
        # Whose call and which partner, without the officer reloading (the push reloads the state).
        expect(alert).to_contain_text(late.partner.name)
        expect(alert).to_contain_text(late.incident.number[-6:])
        board.screenshot(path=str(ARTIFACTS / "partner-breach-on-the-county-board-1366.png"))
        expect(late_card.locator(".ib-top .flag")).to_have_text("超时")
        late_clock = late_card.locator('[data-clock="incidents.diversion.accept"]')
        expect(late_clock).to_have_class(re.compile(r"\bbreached\b"))
        expect(late_clock.locator(".clk")).to_have_class(re.compile(r"\blate\b"))
        expect(late_clock.locator(".clk")).to_have_text(re.compile(r"^-0:0\d$"))
        expect(page.locator("[data-col=pushed] .badge")).to_have_class(re.compile(r"\bhot\b"))
        page.screenshot(path=str(ARTIFACTS / "partner-inbox-412.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= 412

        # The same screen on a 1,366 px desk: three columns side by side, as the socket left them.
        page.set_viewport_size({"width": 1366, "height": 768})
        expect(late_card).to_be_visible()
        boxes = [page.locator(f"[data-col={c}]").bounding_box() for c in ("pushed", "accepted", "ended")]
        assert all(b is not None for b in boxes)
        assert boxes[0]["y"] == boxes[1]["y"] == boxes[2]["y"] and boxes[0]["x"] < boxes[1]["x"] < boxes[2]["x"]
        assert page.evaluate("document.documentElement.scrollWidth") <= 1366
        page.screenshot(path=str(ARTIFACTS / "partner-inbox-1366.png"), full_page=True)

        # 4. The late one is not theirs: returned from the card with a reason, it ends, no longer red.
        late_card.get_by_role("button", name="退回").click()
        late_card.locator("textarea[name=reason]").fill("占道经营归城管，不属于本单位职责")
        page.set_viewport_size({"width": 412, "height": 915})
        late_card.screenshot(path=str(ARTIFACTS / "partner-inbox-return-412.png"))
        late_card.locator("form.pi-return").get_by_role("button", name="退回").click()
        ended = page.locator(f'[data-col=ended] .diversion[data-number="{second.number}"]')
        expect(ended).to_be_visible()
        expect(ended).to_contain_text("占道经营归城管")
        expect(ended).not_to_have_class(re.compile(r"\boverdue\b"))
        assert Diversion.objects.get(pk=late.pk).state == "returned"
        assert errors == []
    finally:
        context.close()
        desk_context.close()
