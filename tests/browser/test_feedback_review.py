"""反馈审核 in the browser (issue 13): a supervisor returns a feedback for rectification with a note (not
without one), the station's officer — on a phone — reads the note and files the rectification, and the
supervisor finds it back in the queue and accepts it."""

from typing import Any

import pytest
from playwright.sync_api import expect

from command_center import codes
from command_center.models import HandlingResult
from incidents import services as incidents
from supervision.models import FeedbackReview, FeedbackSampling
from tests.browser.pages import login
from tests.browser.test_dispatch import ARTIFACTS
from tests.conftest import build_world

PHONE = {"width": 390, "height": 844}


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_return_rectify_accept(asgi_live_server: str, browser: Any) -> None:
    w = build_world()
    codes.load_defaults()
    FeedbackSampling.objects.create(org=w.city, percent=100)  # review every feedback
    incident, _ = incidents.incident_intake(
        actor=w.duty,
        data=incidents.IntakeData(
            call_id="FBR-B1",
            source="110",
            address="东湖路27号",
            category=codes.active_categories()["020500"],
            org=w.station_a1,
        ),
    )
    incidents.incident_self_handle(incident_id=incident.pk, actor=w.station_a1_officer)
    fb = incidents.incident_feedback(
        incident_id=incident.pk,
        actor=w.station_a1_officer,
        text="已到场劝离",
        result=HandlingResult.objects.get(code="05"),
    )
    base = asgi_live_server
    errors: list[str] = []

    supervisor = browser.new_context(viewport={"width": 1366, "height": 900})
    station = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        page = supervisor.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        login(page, base, "supervisor")
        page.get_by_role("link", name="反馈审核").click()
        page.wait_for_url("**/supervision/feedback/")
        row = page.locator(f".fbr-item[data-id='{fb.pk}']")
        expect(row).to_contain_text("东湖路27号")
        expect(row).to_contain_text("已到场劝离")
        expect(row).to_contain_text("东湖派出所")
        expect(row.get_by_role("link", name=incident.number)).to_have_attribute(
            "href", f"/incidents/{incident.pk}/#feedback-{fb.pk}"
        )
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "feedback-review-queue.png"), full_page=True)
        # Without a note: refused on the page, nothing sent.
        row.get_by_role("button", name="退回整改").click()
        expect(page.locator(".fbr-msg")).to_have_text("请说明需要整改的内容（退回须填写意见）。")
        assert not FeedbackReview.objects.exists()
        row.get_by_label("审核意见（退回时必填）").fill("未写明当事人信息")
        row.get_by_role("button", name="退回整改").click()
        expect(page.locator(".fbr-msg")).to_contain_text("退回整改")
        expect(page.locator(".fbr-item")).to_have_count(0)

        # The station officer lands on the inbox, where the return waits above the tabs, and follows it to
        # the form on the incident page.
        phone = station.new_page()
        phone.on("pageerror", lambda e: errors.append(str(e)))
        login(phone, base, "station1")
        phone.wait_for_url("**/dispatch/inbox/")
        strip = phone.locator(f".ib-feedback-return[data-feedback='{fb.pk}']")
        expect(strip).to_contain_text("未写明当事人信息")
        expect(strip).to_contain_text(incident.number)
        phone.screenshot(path=str(ARTIFACTS / "feedback-return-inbox-phone.png"), full_page=True)
        strip.get_by_role("link", name="去整改").click()
        phone.wait_for_url(f"**/incidents/{incident.pk}/#feedback-{fb.pk}")
        card = phone.locator(f"#feedback-{fb.pk}")
        expect(card).to_contain_text("未写明当事人信息")
        card.get_by_label("整改情况（做了哪些整改）").fill("已补录当事人姓名及联系方式")
        card.get_by_role("button", name="提交整改").click()
        expect(card).to_contain_text("已整改，待审核")
        card.screenshot(path=str(ARTIFACTS / "feedback-rectified-phone.png"))
        expect(card).to_contain_text("已补录当事人姓名及联系方式")
        # Nothing is left to rectify: the station's list and its inbox are clear.
        phone.goto(f"{base}/supervision/feedback/rework/")
        expect(phone.locator(".empty")).to_have_text("没有退回整改的反馈。")
        phone.goto(f"{base}/dispatch/inbox/")
        expect(phone.locator(".ib-feedback-return")).to_have_count(0)

        page.reload()
        row = page.locator(f".fbr-item[data-id='{fb.pk}']")
        expect(row).to_contain_text("已补录当事人姓名及联系方式")
        expect(row).to_contain_text("已整改，待审核")
        row.get_by_role("button", name="采纳").click()
        expect(page.locator(".fbr-msg")).to_contain_text("已采纳")
        expect(page.locator(".fbr-item")).to_have_count(0)
        review = FeedbackReview.objects.get(feedback=fb)
        assert review.state == "accepted" and review.rounds == 1
        assert review.rectifications.get().decision == "accepted"
        assert not errors, errors
    finally:
        supervisor.close()
        station.close()
