"""A duty officer opens the platform in Chromium, in Chinese, and logs in."""

from pathlib import Path

import pytest

from tests.conftest import build_world

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_duty_logs_in_through_the_chinese_login_page(asgi_live_server, page):
    build_world()
    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(f"{asgi_live_server}/")
    assert page.url.endswith("/login/?next=/")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert page.get_by_role("button", name="登录").is_visible()
    page.screenshot(path=str(ARTIFACTS / "login.png"), full_page=True)

    page.get_by_label("用户名").fill("duty")
    page.get_by_label("密码").fill("wrong")
    page.get_by_role("button", name="登录").click()
    assert page.get_by_role("alert").is_visible()

    page.get_by_label("密码").fill("pw-12345")
    page.get_by_role("button", name="登录").click()
    # The duty officer takes calls: login lands on the intake screen, with the board one link away.
    page.wait_for_url(f"{asgi_live_server}/incidents/intake/")
    assert page.locator(".topnav").get_by_role("link", name="指挥调度台").is_visible()
    page.screenshot(path=str(ARTIFACTS / "home.png"), full_page=True)

    # The board socket accepts the logged-in officer (session cookie) and says hello.
    hello = page.evaluate(
        """() => new Promise((resolve, reject) => {
            const ws = new WebSocket(window.ccWsUrl('/ws/board/'));
            ws.onmessage = (e) => { resolve(JSON.parse(e.data)); ws.close(); };
            ws.onerror = () => reject('socket error');
            setTimeout(() => reject('timeout'), 5000);
        })"""
    )
    assert hello["event"] == "hello" and hello["data"]["org"]["name"] == "示范市公安局情指中心"

    # The language switcher turns the page to English.
    with page.expect_navigation():
        page.select_option("#lang-select", "en")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("button", name="Log out").is_visible()
