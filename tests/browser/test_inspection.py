"""The inspection queue (数字督察, issue 13): a supervisor reads a finding's subject in words with a link,
dismisses it with a reason (not without one), and the rule's counts move: one dismissed, a 100 % dismissal
rate — the figure that shows a rule crying wolf."""

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from command_center import codes
from command_center.models import HandlingResult
from incidents import services as incidents
from supervision import inspection
from supervision.models import Finding
from tests.conftest import build_world


def login(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill("pw-12345")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(lambda url: "/login/" not in url)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_supervisor_dismisses_a_finding_with_a_reason_and_the_count_moves(asgi_live_server, browser):
    w = build_world()
    codes.load_defaults()
    incident, _ = incidents.incident_intake(
        actor=w.duty,
        data=incidents.IntakeData(
            call_id="INSP-B1",
            source="110",
            address="东湖路18号",
            category=codes.active_categories()["020500"],
            org=w.station_a1,
        ),
    )
    incidents.incident_self_handle(incident_id=incident.pk, actor=w.duty)
    incidents.incident_feedback(
        incident_id=incident.pk, actor=w.duty, text="电话劝导", result=HandlingResult.objects.get(code="05")
    )
    incidents.incident_close(incident_id=incident.pk, actor=w.duty)
    inspection.inspect(now=timezone.now() + timedelta(seconds=1))
    f = Finding.objects.get(rule="closed_without_arrival")

    context = browser.new_context(viewport={"width": 1366, "height": 900})
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        login(page, asgi_live_server, "supervisor")
        page.get_by_role("link", name="数字督察").click()
        page.wait_for_url("**/supervision/inspection/")
        row = page.locator(f".insp-item[data-id='{f.pk}']")
        expect(row).to_contain_text("无到场记录办结")
        expect(row).to_contain_text("东湖路18号")
        expect(row.get_by_role("link", name=incident.number)).to_have_attribute("href", f"/incidents/{incident.pk}/")
        rule = page.locator("tr[data-rule='closed_without_arrival']")
        expect(rule.locator(".found")).to_have_text("1")
        expect(rule.locator(".dismissed")).to_have_text("0")
        # Without a reason: refused on the page, nothing sent.
        row.get_by_role("button", name="排除").click()
        expect(page.locator(".insp-msg")).to_have_text("请说明排除原因。")
        row.get_by_label("排除原因（必填）").fill("电话劝导类警情，无需到场")
        row.get_by_role("button", name="排除").click()
        expect(page.locator(".insp-msg")).to_have_text("已排除")
        expect(rule.locator(".dismissed")).to_have_text("1")
        expect(rule.locator(".rate")).to_have_text("100%")
        expect(page.locator(".insp-item")).to_have_count(0)
        expect(page.locator(".insp-count")).to_have_text("0")
        f.refresh_from_db()
        assert f.state == Finding.State.DISMISSED and f.reason == "电话劝导类警情，无需到场"
        assert f.decided_by is not None and f.decided_by.username == "supervisor"
        assert not errors, errors
    finally:
        context.close()
