"""The supervision desk's overdue list reads as a supervisor reads (the incident's number, the unit, the
address, a link — not "dispatchorder #23"), and a 督办 is raised by hand from it with a note (issue 13)."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from command_center import clocks, codes
from command_center.models import Org
from dispatch import services
from incidents import services as incident_services
from supervision.models import SupervisionOrder, Watch
from tests.browser.pages import login
from tests.conftest import build_world
from tests.dispatch.conftest import make_unit


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_supervisor_raises_supervision_by_hand_from_a_readable_overdue_list(asgi_live_server, browser):
    w = build_world()
    codes.load_defaults()
    Org.objects.filter(pk=w.station_a1.pk).update(lat=30.29, lon=120.16)
    incident, _ = incident_services.incident_intake(
        actor=w.duty,
        data=incident_services.IntakeData(
            call_id="HAND-1",
            source="110",
            address="东湖路18号",
            category=codes.active_categories()["020500"],
            lat=30.2908,
            lon=120.1608,
        ),
    )
    car = make_unit(w.station_a1, call_sign="东湖7号车")
    order = services.order_dispatch(incident_id=incident.pk, actor=w.duty, unit_id=car.pk)
    clocks.sweep(now=order.sent_at + timedelta(minutes=1))  # not signed: the sign clock broke

    context = browser.new_context(viewport={"width": 1366, "height": 900})
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        login(page, asgi_live_server, "supervisor")
        page.goto(f"{asgi_live_server}/supervision/")
        item = page.locator(".od-item").filter(has_text=incident.number)
        expect(item).to_contain_text("东湖7号车 · 东湖路18号")
        expect(item.get_by_role("link", name=incident.number)).to_have_attribute("href", f"/incidents/{incident.pk}/")
        item.get_by_role("button", name="督办").click()
        note = item.get_by_label("说明：要求做什么、何时完成")
        note.fill("5 分钟内签收")
        note.press("Enter")
        expect(item.locator(".od-msg")).to_contain_text("已发给责任单位")
        o = SupervisionOrder.objects.get(incident=incident)
        assert o.reason == "5 分钟内签收" and o.by is not None and o.by.username == "supervisor"

        # The commander puts it on the watch list (盯办) from the same row, with a note the list shows.
        context.clear_cookies()
        login(page, asgi_live_server, "commander")
        page.goto(f"{asgi_live_server}/supervision/")
        item = page.locator(".od-item").filter(has_text=incident.number)
        item.get_by_role("button", name="盯办").click()
        note = item.get_by_label("说明：要求做什么、何时完成")
        note.fill("每 10 分钟报一次进展")
        note.press("Enter")
        expect(page.locator(".w-item").filter(has_text=incident.number)).to_contain_text("每 10 分钟报一次进展")
        expect(item.locator(".tag")).to_contain_text("已盯办")
        watch = Watch.objects.get(incident=incident)
        assert watch.note == "每 10 分钟报一次进展" and watch.by is not None and watch.by.username == "commander"
        assert not errors, errors
    finally:
        context.close()
