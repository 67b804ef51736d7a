"""Handling guides and auto-diversion at the desk and the station, in Chromium: the category's guide appears
beside the intake form as the call-taker picks it (the form and its guide fit 1366×900 without scrolling); a call an
auto-diversion rule matches is saved with the rule's proposal on the desk's panel, and D (through the undo
bar, Enter sends it now) diverts it by the rule; the station officer's phone ticks the guide on the feedback
form, is told which required item is unticked, gives a reason, and the ticks show on the incident's page; a
community's grid worker gets a diversion to the community live in the diversion inbox and accepts it."""

from datetime import time

import pytest
from playwright.sync_api import expect

from command_center.models import Category
from dispatch import services as dispatch_services
from incidents import services
from incidents.models import Diversion, DiversionProposal, DiversionRule, Feedback

from .test_desk import ARTIFACTS, desk_world, open_intake
from .test_dispatch import login


def page_scrolls(page, *, down: bool = True) -> bool:
    """Whether the page is wider than the window (or, with `down`, taller)."""
    w, h, iw, ih = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.scrollHeight,"
        " window.innerWidth, window.innerHeight]"
    )
    return w > iw or (down and h > ih)


def pick_category(page, query):
    page.get_by_label("类别").fill("")
    page.get_by_label("类别").press_sequentially(query)
    page.locator("#category-options li").first.wait_for()
    page.get_by_label("类别").press("Enter")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_desk_shows_the_guide_and_diverts_by_the_rule_with_one_key(asgi_live_server, browser):
    w = desk_world(units=3)
    services.load_defaults()
    rule = DiversionRule.objects.create(
        name="夜间路灯故障转12345", category_prefix="0902", start=time(0, 0), end=time(23, 59), target=w.partner
    )
    errors: list[str] = []
    context, page = open_intake(browser, asgi_live_server, errors)
    try:
        guide = page.locator("[data-guide]")
        expect(guide).to_be_hidden()
        # A domestic-violence call: the family dispute guide, its required items marked.
        pick_category(page, "060110")
        expect(guide).to_be_visible()
        expect(guide.locator(".guide-title")).to_contain_text("处置指引 · 家庭纠纷处置指引")
        expect(guide.locator(".guide-items li")).to_have_count(4)
        expect(guide.locator(".guide-items li.required")).to_have_count(2)
        # A traffic accident at level 1: the major-accident guide; at level 3 the ordinary one.
        pick_category(page, "030110")
        page.get_by_label("警情等级").select_option("1")
        expect(guide.locator(".guide-title")).to_contain_text("重大交通事故处置指引")
        page.get_by_label("警情等级").select_option("3")
        expect(guide.locator(".guide-title")).to_contain_text("交通事故处置指引")
        expect(guide.locator(".guide-title")).not_to_contain_text("重大")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "desk-guide.png"))
        assert not page_scrolls(page)

        # A street light out: the rule's proposal on the saved call's panel.
        page.get_by_label("事发地址").fill("东湖路3号")
        page.get_by_label("纬度").fill("30.2905")
        page.get_by_label("经度").fill("120.1605")
        pick_category(page, "090220")
        expect(guide).to_be_hidden()  # no guide for it
        page.keyboard.press("Control+Enter")
        proposal = page.locator(".desk .desk-proposal")
        expect(proposal).to_be_visible()
        expect(proposal).to_contain_text("建议分流: 12345热线")
        expect(proposal).to_contain_text("夜间路灯故障转12345")
        number = page.locator(".desk .desk-title a").inner_text()
        ARTIFACTS.mkdir(exist_ok=True)
        expect(page.locator(".desk .rec").first).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "desk-proposal.png"))
        # The saved call's recommendations lengthen the side column as before; nothing gets wider.
        assert not page_scrolls(page, down=False)
        # D: the diversion waits in the undo bar, named; Enter sends it now.
        expect(page.locator(".desk .rec button.unit-go").first).to_be_focused()
        page.keyboard.press("d")
        bar = page.locator(".undo-bar")
        expect(bar).to_contain_text(f"即将分流 {number} → 12345热线")
        page.keyboard.press("Enter")
        expect(page.locator(".desk .desk-msg.ok")).to_contain_text("已分流至 12345热线")
        expect(proposal).to_be_hidden()
        d = Diversion.objects.get(incident__number=number)
        assert (d.partner_id, d.rule_id, d.incident.state) == (w.partner.pk, rule.pk, "diverted")
        assert DiversionProposal.objects.filter(incident=d.incident, rule=rule).exists()
        assert errors == []
    finally:
        context.close()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_station_ticks_the_guide_on_its_phone(asgi_live_server, browser):
    w = desk_world(units=1)
    services.load_defaults()
    incident, _ = services.incident_intake(
        actor=w.duty,
        data=services.IntakeData(
            call_id="GUIDE-1",
            source="110",
            address="东湖路8号",
            category=Category.objects.get(code="060110"),
            lat=30.2905,
            lon=120.1605,
            narrative="丈夫殴打妻子",
        ),
    )
    order = dispatch_services.order_dispatch(incident_id=incident.pk, actor=w.duty, org_id=w.station_a1.pk)
    dispatch_services.order_sign(order_id=order.pk, actor=w.station_a1_officer)
    dispatch_services.order_arrive(order_id=order.pk, actor=w.station_a1_officer)
    context = browser.new_context(viewport={"width": 390, "height": 844})
    errors: list[str] = []
    page = context.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        login(page, asgi_live_server, "station1")
        page.goto(f"{asgi_live_server}/dispatch/inbox/")
        card = page.locator(f'.ib-order[data-number="{incident.number}"]')
        card.get_by_role("button", name="反馈").click()
        box = card.locator(".ib-guide")
        expect(box).to_be_visible()
        expect(box.locator("legend")).to_have_text("处置指引 · 家庭纠纷处置指引")
        card.locator("textarea[name=text]").fill("到场制止，已分开双方")
        box.get_by_label("将双方隔离询问，先确认有无人员受伤").check()
        box.get_by_label("现场调解，无法调解的告知调解途径").check()
        page.screenshot(path=str(ARTIFACTS / "inbox-guide.png"), full_page=True)
        card.get_by_role("button", name="提交反馈并完成").click()
        # A required item unticked: named, and the reason asked for; nothing is filed.
        expect(card.locator(".ib-msg.bad")).to_contain_text("2. 了解有无家庭暴力，需要时出具告诫书")
        expect(box.locator("input[name=unticked_reason]")).to_be_focused()
        assert not Feedback.objects.filter(incident=incident).exists()
        box.locator("input[name=unticked_reason]").fill("女方拒绝，已告知求助途径")
        card.get_by_role("button", name="提交反馈并完成").click()
        expect(page.locator(f'.ib-done .ib-order[data-number="{incident.number}"]')).to_have_attribute(
            "data-state", "done"
        )
        fb = Feedback.objects.get(incident=incident)
        assert (fb.ticked, fb.unticked_reason) == ([1, 3], "女方拒绝，已告知求助途径")
        assert fb.guide is not None and fb.guide.title == "家庭纠纷处置指引"

        # The incident's page: the ticks on the timeline, the required item unticked marked, with the reason.
        page.goto(f"{asgi_live_server}/incidents/{incident.pk}/")
        ticks = page.locator(".timeline .checklist-ticks")
        expect(ticks.locator("summary")).to_contain_text("家庭纠纷处置指引（v1）：已勾选 2/4")
        expect(ticks.locator("summary")).to_contain_text("1 项必做项未勾选")
        ticks.locator("summary").click()
        expect(ticks.locator("li.unticked.required")).to_contain_text("了解有无家庭暴力")
        expect(ticks).to_contain_text("女方拒绝，已告知求助途径")
        assert errors == []
    finally:
        context.close()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_community_works_the_diversion_in_the_same_inbox(asgi_live_server, browser):
    from command_center.models import Role
    from tests.factories import make_person

    w = desk_world(units=1)
    make_person("grid", w.community_a1, Role.PARTNER)  # the community's grid worker
    rule = DiversionRule.objects.create(
        name="夜间邻里噪音转社区", category_prefix="020530", place=w.station_a1, target=w.community_a1, priority=5
    )
    context = browser.new_context(viewport={"width": 412, "height": 915})
    errors: list[str] = []
    page = context.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        login(page, asgi_live_server, "grid")
        assert page.url.endswith("/partner/")  # the partner role lands on the diversion inbox
        expect(page.locator(".live-status[data-state=live]")).to_be_visible(timeout=20000)
        incident, _ = services.incident_intake(
            actor=w.duty,
            data=services.IntakeData(
                call_id="GRID-1",
                source="110",
                address="东湖路9号 3单元",
                category=Category.objects.get(code="020530"),
                lat=30.2905,
                lon=120.1605,
                narrative="楼上邻居深夜跺脚",
            ),
        )
        proposal = DiversionProposal.objects.get(incident=incident)
        assert (proposal.rule_id, proposal.target_id) == (rule.pk, w.community_a1.pk)
        services.incident_divert(incident_id=incident.pk, actor=w.duty, partner=w.community_a1, rule=rule)
        card = page.locator(f'[data-col=pushed] .diversion[data-number="{incident.number}"]')
        expect(card).to_be_visible(timeout=5000)  # live, without a reload
        card.get_by_role("button", name="接收").click()
        moved = page.locator(f'[data-col=accepted] .diversion[data-number="{incident.number}"]')
        expect(moved).to_be_visible()
        assert Diversion.objects.get(incident=incident).state == "accepted"
        page.screenshot(path=str(ARTIFACTS / "community-inbox.png"))
        assert errors == []
    finally:
        context.close()
