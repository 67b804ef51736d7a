"""The measures page (考评指标) as a supervisor uses it at month's end: the month's figures beside last month's
and last year's, a click on the signature rate shows its formula, a day-by-day chart (ECharts, drawn
offline), the stations' ranking and the late orders behind it, each linking to its incident; the XLSX
export reads back with the same figures. Screenshot at 1,366 px in artifacts/."""

from datetime import timedelta
from io import BytesIO
from pathlib import Path

import pytest
from django.utils import timezone
from openpyxl import load_workbook
from playwright.sync_api import expect

from command_center import codes
from command_center.models import Org
from dispatch import services
from dispatch.models import DispatchOrder
from incidents import services as incident_services
from tests.browser.pages import login
from tests.conftest import build_world
from tests.dispatch.conftest import make_unit

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_supervisor_reads_the_months_measures_and_drills_down(asgi_live_server, browser):
    w = build_world()
    codes.load_defaults()
    Org.objects.filter(pk=w.station_a1.pk).update(lat=30.29, lon=120.16)
    orders = []
    for n in range(4):
        incident, _ = incident_services.incident_intake(
            actor=w.duty,
            data=incident_services.IntakeData(
                call_id=f"KPI-{n}", source="110", address=f"东湖路{n + 1}号",
                category=codes.active_categories()["020500"], org=w.station_a1,
            ),
        )  # fmt: skip
        car = make_unit(w.station_a1, call_sign=f"东湖{n + 1}号车")
        orders.append(services.order_dispatch(incident_id=incident.pk, actor=w.duty, unit_id=car.pk))
    # Two signed within 30 s, one at 45 s, one never: 50 %.
    # Sent two minutes ago, so the unsigned one is decided (late), not still inside its 30 s.
    sent = timezone.now() - timedelta(minutes=2)
    for o, after in zip(orders, (10, 20, 45, None), strict=True):
        DispatchOrder.objects.filter(pk=o.pk).update(sent_at=sent)
        if after is not None:
            DispatchOrder.objects.filter(pk=o.pk).update(state="signed", signed_at=sent + timedelta(seconds=after))
    late = orders[2]

    context = browser.new_context(viewport={"width": 1366, "height": 900})
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        login(page, asgi_live_server, "supervisor")
        page.goto(f"{asgi_live_server}/supervision/measures/")
        row = page.locator('.kpi-row[data-key="sign_30s_rate"]')
        expect(row).to_contain_text("30 秒签收率")
        expect(row.locator("td").nth(1)).to_have_text("50.0 %")
        row.click()
        detail = page.locator(".kpi-detail")
        expect(detail.locator(".kpi-formula")).to_contain_text("30 秒内签收")  # the formula, in the page's language
        expect(detail.locator(".kpi-trend canvas")).to_have_count(1)  # the chart drew, offline
        expect(detail.locator(".kpi-ranking li").first).to_contain_text("东城分局")  # the city's counties
        expect(detail.locator(".kpi-rows a")).to_have_count(2)  # what counts against it: at 45 s, and never
        link = detail.locator(".kpi-rows a").filter(has_text=late.incident.number)
        expect(link).to_have_attribute("href", f"/incidents/{late.incident_id}/")
        detail.get_by_label("只看未达标").uncheck()
        expect(detail.locator(".kpi-rows a")).to_have_count(4)  # every order it counts
        assert "kpi=sign_30s_rate" in page.url  # the view is a link a colleague can open
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "measures.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= 1366

        with page.expect_download() as info:
            page.get_by_role("link", name="导出 XLSX").click()
        data = Path(info.value.path()).read_bytes()
        ws = load_workbook(BytesIO(data)).active
        cells = {r[6]: r for r in ws.iter_rows(values_only=True) if r and len(r) > 6}
        assert cells["sign_30s_rate"][0] == "30 秒签收率" and cells["sign_30s_rate"][1] == 0.5
        assert timezone.localdate().strftime("%Y-%m") in str(ws.cell(row=1, column=1).value)
        assert not errors, errors
    finally:
        context.close()
