"""The intake-to-partner path in Chromium: a duty officer takes a call (seeing the caller rang twice this
week), saves it, diverts the noise complaint to 12345; the partner accepts and completes it; every step is
on the timeline."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from command_center import codes
from command_center.models import Category, Org
from incidents import services
from incidents.models import Incident
from tests.conftest import build_world

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


def login(page, base, username, password="pw-12345"):
    page.goto(f"{base}/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(lambda url: "/login/" not in url)  # each role lands on its own screen


def earlier_call(world, k, days_ago):
    inc, _ = services.incident_intake(
        actor=world.duty,
        data=services.IntakeData(
            call_id=f"EARLIER-{k}",
            source="110",
            address=f"别处{k}号",
            category=Category.objects.get(code="050700"),
            caller_phone="13900001111",
        ),
    )
    Incident.objects.filter(pk=inc.pk).update(reported_at=timezone.now() - timedelta(days=days_ago))


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_take_a_call_divert_it_and_the_partner_completes_it(asgi_live_server, browser):
    w = build_world()
    codes.load_defaults()
    Org.objects.filter(pk=w.station_a1.pk).update(lat=30.29, lon=120.16)
    earlier_call(w, 1, 2)
    earlier_call(w, 2, 5)
    ARTIFACTS.mkdir(exist_ok=True)
    base = asgi_live_server

    duty = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
    errors: list[str] = []
    duty.on("pageerror", lambda e: errors.append(str(e)))
    login(duty, base, "duty")
    duty.get_by_role("link", name="接警").first.click()
    duty.wait_for_url(f"{base}/incidents/intake/")

    duty.get_by_label("来电号码").fill("13900001111")
    hints = duty.locator(".hint-list .hint-same_caller")
    hints.first.wait_for()
    assert hints.count() == 2
    assert "3" in hints.first.inner_text()  # the third call in 7 days, counting this one
    duty.get_by_label("事发地址").fill("幸福路8号 3单元")
    duty.get_by_label("纬度").fill("30.2905")
    duty.get_by_label("经度").fill("120.1605")
    search = duty.get_by_role("combobox", name="警情类别")
    search.fill("zyrm")
    duty.locator("#category-options li").first.wait_for()
    search.press("Enter")
    assert duty.locator("input[name=category]").input_value() == "020500"
    duty.get_by_label("简要警情").fill("楼上KTV噪音扰民，持续到深夜")
    duty.screenshot(path=str(ARTIFACTS / "intake.png"), full_page=True)
    duty.get_by_label("简要警情").press("Control+Enter")
    saved = duty.locator(".saved a")
    saved.wait_for()
    number = saved.inner_text()
    assert Incident.objects.get(number=number).org_id == w.station_a1.pk

    saved.click()
    duty.wait_for_url(f"{base}/incidents/*/")
    duty.locator("select[name=partner]").select_option(label="12345热线")
    duty.get_by_role("button", name="分流").click()
    duty.locator("h1 .state-diverted").wait_for()
    incident_url = duty.url

    partner = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    partner.on("pageerror", lambda e: errors.append(str(e)))
    login(partner, base, "partner")
    partner.goto(f"{base}/partner/")
    card = partner.locator(".diversion", has_text=number)
    card.get_by_role("button", name="接收").click()
    partner.locator(".diversion .state-accepted").wait_for()
    card = partner.locator(".diversion", has_text=number)
    card.get_by_role("button", name="办结").click()  # opens the result form on the card
    card.locator("textarea[name=result]").fill("已联系物业和文化执法，KTV已降低音量")
    card.get_by_role("button", name="提交结果并办结").click()
    partner.locator(".diversion .state-done").wait_for()
    partner.screenshot(path=str(ARTIFACTS / "partner-inbox.png"), full_page=True)

    duty.goto(incident_url)
    assert duty.locator("h1 .state").inner_text() == "07 警情处置完毕"
    timeline = duty.locator(".timeline").inner_text()
    # In words, who did what (issue 12), not the events' codes.
    for step in (
        "示范市公安局情指中心 duty 接警登记",
        "duty 分流",
        "推送协作单位",
        "12345热线 partner 受理",
        "办结（协作单位）",
    ):
        assert step in timeline, step
    for code in ("intake", "divert", "push", "accept", "partner_done"):
        assert code not in timeline, code
    duty.screenshot(path=str(ARTIFACTS / "incident-detail.png"), full_page=True)
    assert errors == []
