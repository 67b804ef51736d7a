"""The desk's corrections on screen (issue 12), played by a duty officer in Chromium: 重新定性 of a waiting
call re-times it; 改派 hands an order to another unit and 撤派 calls one off, each with its reason; a
duplicate is merged by its master's number; a unit is set out of service with a reason. Each step is read
back from the database and from the page's timeline. Screenshots at 1,366 px land in artifacts/."""

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from command_center import codes
from command_center.models import Org
from dispatch import services
from dispatch.models import DispatchOrder, Unit
from incidents import services as incident_services
from incidents.models import Correction, Incident
from tests.browser.pages import login
from tests.conftest import build_world
from tests.dispatch.conftest import make_unit

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
A1 = (30.2900, 120.1600)
SCENE = (30.2908, 120.1608)


def call(w: Any, n: int, **over: Any) -> Incident:
    incident, _ = incident_services.incident_intake(
        actor=w.duty,
        data=incident_services.IntakeData(
            call_id=f"CORR-{n}",
            source="110",
            address="东湖路12号",
            category=codes.active_categories()["020500"],
            level=3,
            lat=SCENE[0],
            lon=SCENE[1],
            caller_phone="13800138000",
            **over,
        ),
    )
    return incident


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_duty_officer_corrects_reassigns_calls_off_and_merges_from_the_incident_page(asgi_live_server, browser):
    w = build_world()
    codes.load_defaults()
    Org.objects.filter(pk=w.station_a1.pk).update(lat=A1[0], lon=A1[1])
    waiting = call(w, 1)
    first_car = make_unit(w.station_a1, call_sign="东湖1号车")
    second_car = make_unit(w.station_a1, call_sign="东湖2号车")
    dispatched = call(w, 2)
    order = services.order_dispatch(incident_id=dispatched.pk, actor=w.duty, unit_id=first_car.pk)
    duplicate = call(w, 3)

    context = browser.new_context(viewport={"width": 1366, "height": 900})
    try:
        page = context.new_page()
        login(page, asgi_live_server, "duty")

        # 重新定性: level 3 → 1 with a reason; only the level is sent and logged.
        page.goto(f"{asgi_live_server}/incidents/{waiting.pk}/")
        card = page.locator(".correct-card")
        card.get_by_label("警情等级").select_option("1")
        card.get_by_label("更正原因").fill("来电补充：有人持刀")
        card.get_by_role("button", name="保存更正").click()
        expect(page.locator(".timeline")).to_contain_text("来电补充：有人持刀")
        (c,) = Correction.objects.filter(incident=waiting)
        assert (c.field, c.old, c.new) == ("level", "3", "1")
        assert Incident.objects.get(pk=waiting.pk).level == 1
        page.screenshot(path=str(_artifacts() / "incident-corrected.png"), full_page=True)

        # A correction without a reason is refused, with the field named as the form labels it.
        card = page.locator(".correct-card")
        card.get_by_label("地址").fill("东湖路14号")
        card.get_by_label("更正原因").evaluate("e => e.removeAttribute('required')")
        card.get_by_role("button", name="保存更正").click()
        expect(card.locator(".form-errors")).to_contain_text("更正原因")
        assert Correction.objects.filter(incident=waiting).count() == 1

        # 改派: the order goes to the second car, the first is called off with the reason.
        page.goto(f"{asgi_live_server}/incidents/{dispatched.pk}/")
        orders = page.locator(".orders-card")
        expect(orders).to_contain_text("东湖1号车")
        reassign = orders.locator(".order-reassign").first
        reassign.get_by_label("警力").select_option(str(second_car.pk))
        reassign.get_by_label("改派原因").fill("1号车故障")
        reassign.get_by_role("button", name="改派").click()
        expect(page.locator(".orders-card .order-row")).to_have_count(2)  # the page reloaded with the new order
        expect(page.locator(".orders-card .order-row").first).to_contain_text("1号车故障")
        old = DispatchOrder.objects.get(pk=order.pk)
        assert old.state == "cancelled" and old.cancel_reason == "1号车故障"
        new = DispatchOrder.objects.get(replaces=old)
        assert new.unit_id == second_car.pk
        assert Unit.objects.get(pk=first_car.pk).status == "available"
        page.screenshot(path=str(_artifacts() / "incident-reassigned.png"), full_page=True)

        # 撤派: the new order is called off; the call waits again on its dispatch clock.
        live = page.locator(f'.order-row[data-order="{new.pk}"]')
        live.get_by_label("撤派原因").fill("报警人称已离开")
        live.get_by_role("button", name="撤派").click()
        expect(page.locator(f'.order-row[data-order="{new.pk}"]')).to_contain_text("报警人称已离开")
        assert DispatchOrder.objects.get(pk=new.pk).state == "cancelled"

        # Merge a duplicate by its master's number.
        page.goto(f"{asgi_live_server}/incidents/{duplicate.pk}/")
        merge = page.locator(".merge-form")
        merge.get_by_label("重复警情，并入警情编号").fill(waiting.number)
        merge.get_by_role("button", name="合并（重复警情）").click()
        expect(page.locator("h1 .state")).to_contain_text("已合并")
        assert Incident.objects.get(pk=duplicate.pk).merged_into_id == waiting.pk

        # A unit out of service, with the reason.
        page.goto(f"{asgi_live_server}/dispatch/units/")
        row = page.locator(f'tr[data-unit="{first_car.pk}"]')
        row.get_by_label("新状态").select_option("out_of_service")
        row.get_by_label("原因").fill("车辆保养")
        row.get_by_role("button", name="设置").click()
        expect(page.locator(f'tr[data-unit="{first_car.pk}"] .unit-status')).to_contain_text("停用")
        assert Unit.objects.get(pk=first_car.pk).status == "out_of_service"
        page.screenshot(path=str(_artifacts() / "units.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    finally:
        context.close()


def _artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
