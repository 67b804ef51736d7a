"""The three live screens in Chromium, each in its own browser context: the duty officer takes a call and
dispatches it from the board to the first recommended unit's station; the station officer's phone inbox
shows the order and signs it, reports arrival and files the feedback; the board follows each step; a
second order whose sign clock breaks turns red on the board and in the inbox; the commander's big screen
counts it all."""

import re
import time
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import BrowserContext, expect

from command_center import clocks, codes, realtime
from command_center import redis as kredis
from command_center.models import Category, Org
from dispatch import services
from dispatch.models import DispatchOrder, Unit
from incidents import services as incident_services
from incidents.models import Incident, SlaPolicy
from tests.conftest import build_world

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
WITHIN_2_S = 2000  # ms: the "within 2 s" for the order on the phone and the signature on the board


def login(page, base, username, password="pw-12345"):
    page.goto(f"{base}/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(lambda url: "/login/" not in url)  # each role lands on its own screen


def open_screen(context, base, username, path, errors):
    page = context.new_page()
    page.on("pageerror", lambda e: errors.append(f"{username}: {e}"))
    login(page, base, username)
    page.goto(f"{base}{path}")
    expect(page.locator(".live-status[data-state=live]")).to_be_visible()
    return page


def place_units(w):
    now = timezone.now()
    for n, (lat, lon, kind, ring) in enumerate(
        [(30.2912, 120.1611, "patrol_car", 3), (30.2870, 120.1650, "post", 1), (30.2950, 120.1530, "foot_patrol", 1)],
        start=1,
    ):
        Unit.objects.create(
            call_sign=f"东湖{n}", kind=kind, org=w.station_a1, ring_minutes=ring, lat=lat, lon=lon, position_at=now
        )
    Unit.objects.create(call_sign="西溪1", org=w.station_b1, ring_minutes=3, lat=30.2500, lon=120.1000, position_at=now)


@pytest.fixture
def closing():
    """Close the test's browser contexts after it: their live pages would otherwise keep reconnecting and
    animating for the rest of the session (the `browser` fixture lives that long), taking CPU from later
    tests."""
    contexts: list[BrowserContext] = []
    yield contexts.append
    for c in contexts:
        c.close()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_board_inbox_and_wall_follow_a_call_from_intake_to_breach(asgi_live_server, browser, closing):
    w = build_world()
    codes.load_defaults()
    Org.objects.filter(pk=w.station_a1.pk).update(lat=30.2900, lon=120.1600)
    Org.objects.filter(pk=w.station_b1.pk).update(lat=30.2500, lon=120.1000)
    w.station_a1.refresh_from_db()
    w.station_b1.refresh_from_db()
    place_units(w)
    # Thefts must be signed within 2 s here, so the test can watch a sign clock break.
    SlaPolicy.objects.create(name="盗窃 2 秒签收（测试）", category_prefix="0101", sign_s=2)
    ARTIFACTS.mkdir(exist_ok=True)
    base = asgi_live_server
    errors: list[str] = []

    duty_context = browser.new_context(viewport={"width": 1440, "height": 900})
    station_context = browser.new_context(viewport={"width": 390, "height": 844})
    commander_context = browser.new_context(viewport={"width": 1440, "height": 900})
    for c in (duty_context, station_context, commander_context):
        closing(c)
    board = open_screen(duty_context, base, "duty", "/dispatch/board/", errors)
    station = open_screen(station_context, base, "station1", "/dispatch/inbox/", errors)
    wall = open_screen(commander_context, base, "commander", "/dispatch/wall/", errors)

    # 1. The duty officer takes the call on the intake page (a second tab of the same session).
    intake = duty_context.new_page()
    intake.on("pageerror", lambda e: errors.append(f"intake: {e}"))
    intake.goto(f"{base}/incidents/intake/")
    intake.get_by_label("来电号码").fill("13900002222")
    intake.get_by_label("事发地址").fill("东湖路18号 东湖花园南门")
    intake.get_by_label("纬度").fill("30.2905")
    intake.get_by_label("经度").fill("120.1605")
    search = intake.get_by_role("combobox", name="警情类别")
    search.fill("zyrm")
    intake.locator("#category-options li").first.wait_for()
    search.press("Enter")
    intake.get_by_label("简要警情").fill("楼下烧烤店深夜喧哗，报警人要求处理")
    intake.get_by_label("简要警情").press("Control+Enter")
    saved = intake.locator(".saved a")
    saved.wait_for()
    number = saved.inner_text()

    # 2. The board shows it live; one click to its recommendations, one to dispatch to the first unit's station.
    row = board.locator(f'.inc[data-number="{number}"]')
    expect(row).to_be_visible()
    expect(row.locator(".state")).to_have_text("01 已接警")
    row.click()
    first = board.locator(".recs .rec").first
    expect(first).to_be_visible()
    assert first.get_attribute("data-unit") == str(Unit.objects.get(call_sign="东湖1").pk)  # the nearest
    assert "东湖派出所" in first.inner_text()
    first.get_by_role("button", name="派至所").click()
    expect(board.locator(".d-msg.ok")).to_contain_text("东湖派出所")

    # 3. The station's phone shows the order within 2 s (and reports it shown: delivered); one tap signs.
    card = station.locator(f'.ib-order[data-number="{number}"]')
    expect(card).to_be_visible(timeout=WITHIN_2_S)
    order = DispatchOrder.objects.get(incident__number=number)
    assert order.org_id == w.station_a1.pk and order.unit_id is None
    expect(card).to_have_attribute("data-state", "delivered")
    expect(card).to_contain_text("楼下烧烤店深夜喧哗")  # the narrative, filled in after the push
    card.get_by_role("button", name="签收").click()

    # 4. The board shows the signature within 2 s.
    expect(row.locator(".ord.st-signed")).to_be_visible(timeout=WITHIN_2_S)
    expect(row.locator(".state")).to_have_text("03 已出警")
    order.refresh_from_db()
    assert order.state == "signed" and order.signed_by is not None and order.signed_by.username == "station1"

    # 5. Arrival, then the feedback form (反馈单) which also finishes the order.
    card.get_by_role("button", name="到达现场").click()
    expect(row.locator(".ord.st-arrived")).to_be_visible()
    card.get_by_role("button", name="反馈").click()
    card.locator("select[name=result]").select_option("05")
    card.locator("textarea[name=text]").fill("已到场劝导，烧烤店已降低音量并承诺22点后停止营业")
    card.get_by_role("button", name="提交反馈并完成").click()
    expect(station.locator(f'.ib-done .ib-order[data-number="{number}"]')).to_have_attribute("data-state", "done")
    incident = Incident.objects.get(number=number)
    assert incident.feedback.get().result_id == "05" and incident.state == "on_scene"

    # 6. A second order nobody signs: its 2-second sign clock breaks and it turns red everywhere.
    theft, _ = incident_services.incident_intake(
        actor=w.duty,
        data=incident_services.IntakeData(
            call_id="BROWSER-THEFT",
            source="110",
            address="东湖路26号 便利店",
            category=Category.objects.get(code="010100"),
            level=2,
            lat=30.2915,
            lon=120.1590,
            narrative="店内收银台现金被盗",
        ),
    )
    late = services.order_dispatch(incident_id=theft.pk, actor=w.duty, org_id=w.station_a1.pk)
    late_card = station.locator(f'.ib-order[data-number="{theft.number}"]')
    expect(late_card).to_be_visible()
    breached = 0
    for _ in range(100):  # no Celery worker in tests: sweep here, as beat would every 0.5 s
        breached += clocks.sweep()
        if breached:
            break
        time.sleep(0.1)
    assert breached == 1
    late_row = board.locator(f'.inc[data-number="{theft.number}"]')
    expect(late_row.locator(".ord.breached")).to_be_visible()
    expect(late_row).to_have_class(re.compile(r"\bred\b"))  # a broken clock leads the queue, red
    expect(board.locator(".queue-list .inc").first).to_have_attribute("data-number", theft.number)
    alert = board.locator(f'.alert.a-breach[data-order="{late.pk}"]')
    expect(alert).to_be_visible()
    expect(alert).to_contain_text("超时")
    expect(late_card).to_have_class(re.compile(r"\boverdue\b"))
    expect(board.locator("[data-kpi=breached]")).to_have_text("1")

    # 7. The big screen counts today's two calls, the open breach and the signature rate.
    expect(wall.locator("[data-kpi=total]")).to_have_text("2")
    expect(wall.locator("[data-kpi=breaches]")).to_have_text("1")
    expect(wall.locator(f'.breach[data-order="{late.pk}"]')).to_be_visible()
    expect(wall.locator('.wall-kpi[data-key="sign_30s_rate"] small')).to_have_text(re.compile(r"^1 / [12]$"))
    expect(wall.locator(".by-category")).to_contain_text("刑事")

    # 8. A lost push: the board sees the gap in the city group's seq and reloads its state over REST.
    post = Unit.objects.get(call_sign="东湖2")
    kredis.client().incr(kredis.key("seq", realtime.org_group(w.city.pk)))  # a message that never arrives
    with board.expect_request(lambda r: r.url.endswith("/api/board/")):
        services.unit_set_status(unit_id=post.pk, actor=w.duty, status="busy", reason="巡逻盘查")
    expect(board.locator(f'.unit[data-id="{post.pk}"]')).to_have_class(re.compile(r"\bs-busy\b"))
    expect(board.locator(".live-status[data-state=live]")).to_be_visible()

    board.locator(f'.inc[data-number="{theft.number}"]').click()
    expect(board.locator(".recs .rec").first).to_be_visible()
    board.screenshot(path=str(ARTIFACTS / "dispatch-board.png"))
    station.screenshot(path=str(ARTIFACTS / "station-inbox.png"))
    wall.screenshot(path=str(ARTIFACTS / "big-screen.png"))
    assert errors == []
