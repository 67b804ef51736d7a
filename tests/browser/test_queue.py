"""The duty officer's queue in Chromium (issue 12): a waiting call whose dispatch clock breaks reaches the top
of the queue, red; the queue's filter shows a diverted call; the keys 1–9 dispatch after a 5-second undo that
Esc takes back; the board fits the window (no page scrollbar: the panes scroll inside)."""

import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from command_center import clocks, codes
from command_center.models import Category, Org
from dispatch.models import DispatchOrder, Unit
from incidents import services as incident_services
from incidents.models import SlaPolicy
from tests.conftest import build_world

from .test_dispatch import closing, login, place_units  # noqa: F401  # `closing` is a fixture

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


def take(w, call_id, *, level, address, category="020500", lat=30.2905, lon=120.1605, **over):
    incident, _ = incident_services.incident_intake(
        actor=w.duty,
        data=incident_services.IntakeData(
            call_id=call_id,
            source="110",
            address=address,
            category=Category.objects.get(code=category),
            level=level,
            lat=lat,
            lon=lon,
            narrative="测试",
            **over,
        ),
    )
    return incident


def open_board(context, base, errors):
    page = context.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    login(page, base, "duty")
    page.goto(f"{base}/dispatch/board/")
    # Generous: on a loaded 2-core machine the first state load and the socket can take seconds.
    expect(page.locator(".live-status[data-state=live]")).to_be_visible(timeout=20_000)
    return page


def page_height(page) -> tuple[int, int]:
    """The page's height and the window's: the board fits when the first is not more than the second."""
    return tuple(page.evaluate("() => [document.documentElement.scrollHeight, window.innerHeight]"))


def sweep_until_breach() -> None:
    for _ in range(100):  # no Celery worker in tests: sweep here, as beat would every 0.5 s
        if clocks.sweep():
            return
        time.sleep(0.1)
    raise AssertionError("no dispatch clock broke")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_waiting_call_whose_dispatch_clock_breaks_reaches_the_top_red(asgi_live_server, browser, closing):  # noqa: F811
    w = build_world()
    codes.load_defaults()
    Org.objects.filter(pk=w.station_a1.pk).update(lat=30.2900, lon=120.1600)
    place_units(w)
    # Level-4 calls must be dispatched within 3 s here, so the test can watch a dispatch clock break.
    SlaPolicy.objects.create(name="4 级 3 秒派警（测试）", level=4, dispatch_s=3)
    urgent = take(w, "Q-URGENT", level=1, address="东湖路1号")  # loaded over REST
    ARTIFACTS.mkdir(exist_ok=True)
    errors: list[str] = []
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    closing(context)
    board = open_board(context, asgi_live_server, errors)
    expect(board.locator(".queue-list .inc").first).to_have_attribute("data-number", urgent.number)

    slow = take(w, "Q-SLOW", level=4, address="东湖路99号 小区门口")  # comes by push, with its clock
    row = board.locator(f'.inc[data-number="{slow.number}"]')
    expect(row).to_be_visible()
    expect(row.locator(".ord.own .clk")).to_be_visible()  # the countdown, from the push
    expect(board.locator(".queue-list .inc").nth(1)).to_have_attribute("data-number", slow.number)
    expect(row).not_to_have_class(re.compile(r"\bred\b"))

    sweep_until_breach()
    expect(row).to_have_class(re.compile(r"\bred\b"))
    expect(row.locator(".ord.own.breached")).to_contain_text("派警时限")
    expect(board.locator(".queue-list .inc").first).to_have_attribute("data-number", slow.number)
    expect(board.locator(f'.alert.a-breach[data-incident="{slow.pk}"]')).to_be_visible()
    expect(board.locator("[data-kpi=breached]")).to_have_text("1")
    board.screenshot(path=str(ARTIFACTS / "queue-breach-1366.png"))

    # A reload ranks it the same (the server's URGENCY).
    board.reload()
    expect(board.locator(".live-status[data-state=live]")).to_be_visible()
    expect(board.locator(".queue-list .inc").first).to_have_attribute("data-number", slow.number)
    expect(board.locator(".queue-list .inc").first).to_have_class(re.compile(r"\bred\b"))

    # Another report of the urgent call, linked at intake: listed under it, not as a row of its own.
    again = take(w, "Q-AGAIN", level=1, address="东湖路1号", repeat_of=urgent)
    urgent_row = board.locator(f'.inc[data-number="{urgent.number}"]')
    expect(urgent_row.locator(".inc-dups")).to_contain_text(again.number[-6:])
    expect(board.locator(f'.inc[data-number="{again.number}"]')).to_have_count(0)
    board.screenshot(path=str(ARTIFACTS / "queue-duplicate-1366.png"))

    # Diverted: out of the working queue; the filter shows it again, after the working rows.
    incident_services.incident_divert(incident_id=slow.pk, actor=w.duty, partner=w.partner)
    expect(row).to_have_count(0)
    board.locator(".queue-filter").click()
    expect(row).to_be_visible()
    expect(row).to_have_class(re.compile(r"\bended\b"))
    expect(board.locator(".queue-list .inc").first).to_have_attribute("data-number", urgent.number)
    assert errors == []


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_key_1_dispatches_after_five_seconds_unless_undone(asgi_live_server, browser, closing):  # noqa: F811
    w = build_world()
    codes.load_defaults()
    Org.objects.filter(pk=w.station_a1.pk).update(lat=30.2900, lon=120.1600)
    place_units(w)
    incident = take(w, "Q-KEY", level=2, address="东湖路18号")
    errors: list[str] = []
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    closing(context)
    board = open_board(context, asgi_live_server, errors)
    board.locator(f'.inc[data-number="{incident.number}"]').click()
    first = board.locator(".recs .rec").first
    expect(first).to_be_visible()
    unit = Unit.objects.get(pk=first.get_attribute("data-unit"))
    # The board fits the window exactly, at 1,920×1,080 and 1,366×900: the page does not scroll.
    for width, height in ((1920, 1080), (1366, 900)):
        board.set_viewport_size({"width": width, "height": height})
        board.wait_for_timeout(300)  # the grid and the map lay out again
        scroll, inner = page_height(board)
        assert scroll <= inner, f"{width}×{height}: the page is {scroll} px tall in a {inner} px window"
        board.screenshot(path=str(ARTIFACTS / f"board-fit-{width}x{height}.png"))
    board.set_viewport_size({"width": 1920, "height": 1080})

    board.keyboard.press("1")
    bar = board.locator(".undo-bar")
    expect(bar).to_be_visible()
    expect(bar).to_contain_text(unit.call_sign)
    expect(bar).to_contain_text(incident.number)
    board.screenshot(path=str(ARTIFACTS / "queue-undo-1920.png"))
    board.keyboard.press("Escape")
    expect(bar).to_be_hidden()
    board.wait_for_timeout(5500)
    assert not DispatchOrder.objects.filter(incident=incident).exists()  # undone: nothing went out

    board.keyboard.press("1")
    expect(bar).to_be_visible()
    expect(bar.locator(".undo-left")).to_have_text(re.compile(r"^[345] s$"))
    expect(bar).to_be_hidden(timeout=8000)  # sent by itself after 5 s
    expect(board.locator(".d-msg.ok")).to_contain_text(unit.call_sign)
    assert DispatchOrder.objects.filter(incident=incident, unit=unit).count() == 1
    assert errors == []
