"""Screens that read right: live times in the server's zone whatever the browser's machine says, long
narratives folded to 3 lines with "展开", and no page wider than a 1,366 px screen (screenshots at 1,366 and
1,920 px land in artifacts/ to be looked at)."""

from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from command_center import codes
from dispatch import services
from incidents import services as incident_services
from tests.conftest import build_world

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
LONG = "；".join(f"第{n}段：报警人称楼下有人争吵，情绪激动，周边群众围观，请派员到场处置" for n in range(1, 9))


def login(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill("pw-12345")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(lambda url: "/login/" not in url)


def an_order(w: Any, narrative: str) -> Any:
    incident, _ = incident_services.incident_intake(
        actor=w.duty,
        data=incident_services.IntakeData(
            call_id="WORDS-1",
            source="110",
            address="东湖路12号",
            category=codes.active_categories()["020500"],
            level=2,
            narrative=narrative,
        ),
    )
    return services.order_dispatch(incident_id=incident.pk, actor=w.duty, org_id=w.station_a1.pk), incident


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_inbox_reads_shanghai_times_in_a_new_york_browser_and_folds_a_long_narrative(asgi_live_server, browser):
    w = build_world()
    codes.load_defaults()
    order, incident = an_order(w, LONG)
    context = browser.new_context(timezone_id="America/New_York", viewport={"width": 412, "height": 900})
    try:
        page = context.new_page()
        login(page, asgi_live_server, "station1")
        assert page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == "America/New_York"
        card = page.locator(f'.ib-order[data-number="{incident.number}"]')
        expect(card).to_be_visible()

        shanghai = timezone.localtime(order.sent_at).strftime("%H:%M:%S")
        new_york = order.sent_at.astimezone(ZoneInfo("America/New_York")).strftime("%H:%M:%S")
        expect(card).to_contain_text(shanghai)
        assert new_york not in card.inner_text()
        assert page.evaluate("CCFmt.time('2026-03-07T06:05:09Z')") == "14:05:09"
        assert page.evaluate("CCFmt.when('2026-03-07T18:05:09Z')") == "03-08 02:05"

        # The narrative shows 3 lines and "展开"; the button unfolds it and folds it again.
        narr = card.locator(".fold")
        # One line's height, measured on a one-line copy of the element beside it. A computed line
        # height can read "normal", and a live re-render can detach the element between two reads
        # (its computed style is then empty): both measures are taken in one call, on a connected node.
        folded, line = page.wait_for_function(
            """sel => {
                const e = document.querySelector(sel);
                if (!e || !e.isConnected) return null;
                const probe = e.cloneNode(false);
                probe.textContent = "一";
                e.after(probe);
                const line = probe.getBoundingClientRect().height;
                probe.remove();
                const folded = e.getBoundingClientRect().height;
                return line > 0 && folded > 0 ? [folded, line] : null;
            }""",
            arg=f'.ib-order[data-number="{incident.number}"] .fold',
        ).json_value()
        assert folded <= 3 * line + 2, (folded, line)
        toggle = card.get_by_role("button", name="展开")
        expect(toggle).to_be_visible()
        assert toggle.evaluate("b => getComputedStyle(b).color") != "rgb(255, 255, 255)"  # not white on white
        card.screenshot(path=str(_artifacts() / "inbox-card.png"))
        page.screenshot(path=str(_artifacts() / "inbox-folded.png"), full_page=True)
        toggle.click()
        expect(card.get_by_role("button", name="收起")).to_be_visible()
        assert narr.bounding_box()["height"] > folded + line
        card.get_by_role("button", name="收起").click()
        expect(card.get_by_role("button", name="展开")).to_be_visible()
    finally:
        context.close()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_short_narrative_has_nothing_to_unfold(asgi_live_server, browser):
    w = build_world()
    codes.load_defaults()
    _, incident = an_order(w, "门口有人吵架")
    context = browser.new_context(viewport={"width": 412, "height": 900})
    try:
        page = context.new_page()
        login(page, asgi_live_server, "station1")
        card = page.locator(f'.ib-order[data-number="{incident.number}"]')
        expect(card).to_contain_text("门口有人吵架")
        page.wait_for_timeout(200)
        expect(card.get_by_role("button", name="展开")).to_have_count(0)
    finally:
        context.close()


def _artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


# Every page a person uses, as the role that uses it (with the data that fills it).
SCREENS = {
    "duty": {
        "intake": "/incidents/intake/",
        "incidents": "/incidents/",
        "incident": "/incidents/{incident}/",
        "board": "/dispatch/board/",
    },
    "commander": {"wall": "/dispatch/wall/"},
    "station1": {"inbox": "/dispatch/inbox/"},
    "partner": {"partner": "/partner/"},
    "analyst": {
        "workspace": "/intel/",
        "directive": "/intel/directives/{directive}/",
        "report": "/intel/directives/{directive}/report/",
    },
    "supervisor": {"review": "/supervision/"},
    "volunteer": {"volunteer-home": "/"},
}
WIDTHS = (1366, 1920)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_no_page_is_wider_than_the_screen_at_1366_px(asgi_live_server, browser):
    from intel import services as intel_services

    w = build_world()
    codes.load_defaults()
    _, incident = an_order(w, LONG)
    diverted, _ = incident_services.incident_intake(
        actor=w.duty,
        data=incident_services.IntakeData(
            call_id="WORDS-2",
            source="110",
            address="西湖路8号 小区北门",
            narrative=LONG,
            category=codes.active_categories()["020500"],
        ),
    )
    incident_services.incident_divert(incident_id=diverted.pk, actor=w.duty, partner=w.partner, note="噪音扰民")
    directive = intel_services.directive_issue(
        actor=w.analyst,
        data=intel_services.DirectiveData(
            title="东湖路夜间噪音整治", content=LONG, recipients=[w.station_a1], colour="red", actions=["巡逻", "劝导"]
        ),
    )
    out = _artifacts() / "screens"
    out.mkdir(exist_ok=True)
    wide: list[str] = []
    for username, pages in SCREENS.items():
        for width in WIDTHS:
            context = browser.new_context(viewport={"width": width, "height": 900})
            page = context.new_page()
            login(page, asgi_live_server, username)
            for name, path in pages.items():
                page.goto(asgi_live_server + path.format(incident=incident.pk, directive=directive.pk))
                page.wait_for_timeout(800)  # scripts draw, sockets say hello, maps lay out
                sizes = page.evaluate(
                    "() => [document.scrollingElement.scrollWidth, document.scrollingElement.clientWidth]"
                )
                if sizes[0] > sizes[1]:
                    wide.append(f"{name} at {width} px: {sizes[0]} > {sizes[1]}")
                page.screenshot(path=str(out / f"{name}-{width}.png"), full_page=True)
            context.close()
    assert wide == [], "\n".join(wide)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_review_desk_says_nothing_odd_while_nothing_is_picked(asgi_live_server, browser):
    build_world()
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    try:
        page = context.new_page()
        login(page, asgi_live_server, "supervisor")
        expect(page.locator(".live-status[data-state=live]")).to_be_visible()
        page.wait_for_timeout(300)
        assert "null" not in page.locator("main").inner_text()
    finally:
        context.close()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_board_and_inbox_name_categories_in_english_when_english_is_chosen(asgi_live_server, browser):
    w = build_world()
    codes.load_defaults()
    _, incident = an_order(w, "门口有人吵架")
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    try:
        page = context.new_page()
        login(page, asgi_live_server, "station1")
        with page.expect_navigation():
            page.select_option("#lang-select", "en")
        card = page.locator(f'.ib-order[data-number="{incident.number}"]')
        expect(card).to_contain_text("Noise nuisance")
        expect(card).to_contain_text("Sign the dispatch order")  # the clock's label
    finally:
        context.close()
