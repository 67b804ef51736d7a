"""Places in Chromium: a call-taker types an address, picks the gazetteer's candidate, which sets the point
and shows the owning station; the saved incident belongs to the station whose polygon holds the point, not
to the nearest station (B1's station is 1 km away, A1's 6 km)."""

from pathlib import Path

import pytest

from command_center import codes, memo
from command_center.models import Org
from incidents.models import Incident
from places.services import places_load
from tests.conftest import build_world
from tests.places.test_places import features

from .test_incidents import login

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_an_address_typed_resolves_to_a_point_and_routes_to_the_polygons_station(asgi_live_server, browser):
    w = build_world()
    codes.load_defaults()
    Org.objects.filter(pk=w.station_a1.pk).update(lat=30.29, lon=120.16)
    Org.objects.filter(pk=w.station_b1.pk).update(lat=30.25, lon=120.10)
    places_load(features=features())
    ARTIFACTS.mkdir(exist_ok=True)
    base = asgi_live_server
    errors: list[str] = []
    try:
        for width in (1366, 1920):
            page = browser.new_context(viewport={"width": width, "height": 900}).new_page()
            page.on("pageerror", lambda e: errors.append(str(e)))
            login(page, base, "duty")
            page.goto(f"{base}/incidents/intake/")
            page.get_by_label("来电号码").fill("13800138000")
            address = page.get_by_label("事发地址")
            address.press_sequentially("东湖路 12", delay=30)
            option = page.locator("#address-options li").first
            option.wait_for()
            assert "东湖路12号" in option.inner_text() and "东湖派出所" in option.inner_text()
            address.press("Enter")
            assert address.input_value() == "东湖路12号"
            assert page.get_by_label("纬度").input_value() == "30.26"
            assert page.get_by_label("经度").input_value() == "120.1004"
            station = page.locator(".owning-station")
            station.wait_for()
            assert "东湖派出所" in station.inner_text()
            # The base map's vector layers are drawn (no tile server here).
            page.locator("#intake-map path.cc-base-area").first.wait_for(state="attached")
            assert page.locator("#intake-map path.cc-base-street").count() == 1
            search = page.get_by_role("combobox", name="警情类别")
            search.fill("zyrm")
            page.locator("#category-options li").first.wait_for()
            search.press("Enter")
            page.get_by_label("简要警情").fill("路边有人打架")
            page.screenshot(path=str(ARTIFACTS / f"places-intake-{width}.png"), full_page=True)
            page.get_by_label("简要警情").press("Control+Enter")
            saved = page.locator(".saved a")
            saved.wait_for()
            incident = Incident.objects.get(number=saved.inner_text())
            assert incident.org_id == w.station_a1.pk  # the polygon's, though B1's station is nearer
            assert (incident.lat, incident.lon) == (30.26, 120.1004)
            assert page.locator(".owning-station").is_hidden()  # the next call starts clean
            saved.click()
            page.wait_for_url(f"{base}/incidents/{incident.pk}/")
            assert "东湖派出所" in page.locator("main").inner_text()
            assert not errors, errors
            page.context.close()
    finally:
        memo.forget()
