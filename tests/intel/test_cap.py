"""CAP 1.2: a kept red hotspot and a 网情 warning, asked for by a commander of the area, are alerts that
validate against OASIS's schema, in Chinese, with Beijing times (+08:00); nobody else gets them."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from lxml import etree
from rest_framework.test import APIClient

from command_center import codes
from intel import cap, hotspots
from intel.models import Hotspot
from sentiment.models import Warning as SentimentWarning

NS = {"cap": cap.NS}
NOW = datetime(2026, 12, 7, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai"))


def api_as(user) -> APIClient:
    c = APIClient()
    c.force_authenticate(user)
    return c


@pytest.fixture
def rows(world):
    codes.load_defaults()
    cell = hotspots.cell_of(30.2905, 120.1605)
    red = Hotspot.objects.create(
        scope=world.county_a, area="cell", cell=cell, category="0101", period="day", start=date(2026, 12, 7),
        end=date(2026, 12, 8), count=9, mean=2.0, sd=1.0, z=7.0, colour="red",
    )  # fmt: skip
    yellow = Hotspot.objects.create(
        scope=world.county_a, area="station", org=world.station_a1, category="", period="week",
        start=date(2026, 11, 30), end=date(2026, 12, 7), count=20, mean=12.0, sd=3.0, z=2.6, colour="yellow",
    )  # fmt: skip
    warning = SentimentWarning.objects.create(
        kind="spike", org=world.station_a1, category="020100", colour="red", hour=NOW.replace(minute=0),
        count=12, baseline_mean=1.5, baseline_sd=0.8, reason="东湖派出所辖区“打架”相关帖文激增", created_at=NOW,
    )  # fmt: skip
    return world, red, yellow, warning


def _check(xml: bytes) -> etree._Element:
    assert cap.validate(xml) == []
    return etree.fromstring(xml)


def test_a_red_hotspot_is_a_valid_cap_alert_in_chinese(rows):
    world, red, _yellow, _warning = rows
    r = api_as(world.commander).get(f"/api/cap/hotspots/{red.pk}/")
    assert r.status_code == 200, r.content
    assert r["Content-Type"].startswith("application/cap+xml")
    root = _check(r.content)
    info = root.find("cap:info", NS)
    assert root.findtext("cap:scope", namespaces=NS) == "Public"
    assert root.findtext("cap:sent", namespaces=NS).endswith("+08:00")
    assert info.findtext("cap:expires", namespaces=NS).endswith("+08:00")
    assert info.findtext("cap:language", namespaces=NS) == "zh-CN"
    assert info.findtext("cap:severity", namespaces=NS) == "Severe"
    assert info.findtext("cap:event", namespaces=NS) == "警情热点"
    assert "盗窃" in info.findtext("cap:headline", namespaces=NS)
    assert "9" in info.findtext("cap:description", namespaces=NS) and "基线" in info.findtext(
        "cap:description", namespaces=NS
    )
    assert "110" in info.findtext("cap:instruction", namespaces=NS)
    polygon = info.findtext("cap:area/cap:polygon", namespaces=NS).split()
    assert len(polygon) == 5 and polygon[0] == polygon[-1]


def test_the_text_is_chinese_whatever_the_askers_language(rows):
    world, red, _yellow, _warning = rows
    r = api_as(world.commander).get(f"/api/cap/hotspots/{red.pk}/", HTTP_ACCEPT_LANGUAGE="en")
    assert "警情热点" in r.content.decode()


def test_a_sentiment_warning_is_a_valid_cap_alert(rows):
    world, _red, _yellow, warning = rows
    r = api_as(world.commander).get(f"/api/cap/sentiment-warnings/{warning.pk}/")
    assert r.status_code == 200, r.content
    info = _check(r.content).find("cap:info", NS)
    assert info.findtext("cap:event", namespaces=NS) == "网情预警"
    assert info.findtext("cap:description", namespaces=NS) == warning.reason
    assert info.findtext("cap:area/cap:areaDesc", namespaces=NS) == "东湖派出所"
    assert "不传谣" in info.findtext("cap:instruction", namespaces=NS)


def test_only_what_is_publishable_by_whom_may_publish(rows):
    world, red, yellow, warning = rows
    commander = api_as(world.commander)
    assert commander.get(f"/api/cap/hotspots/{yellow.pk}/").status_code == 409
    SentimentWarning.objects.filter(pk=warning.pk).update(state="dismissed")
    assert commander.get(f"/api/cap/sentiment-warnings/{warning.pk}/").status_code == 409
    # An analyst or a duty officer of the area reads the hotspot but does not publish it.
    assert api_as(world.analyst).get(f"/api/cap/hotspots/{red.pk}/").status_code == 403
    assert api_as(world.duty).get(f"/api/cap/hotspots/{red.pk}/").status_code == 403
    # Another area does not see it at all.
    assert api_as(world.station_b1_officer).get(f"/api/cap/hotspots/{red.pk}/").status_code == 404


def test_the_schema_refuses_what_cap_does_not_allow():
    """The check is real: a time in UTC 'Z' form, which CAP 1.2 forbids, fails the XSD."""
    xml = cap._alert(
        identifier="x", now=NOW, event="e", severity="Severe", urgency="Expected", certainty="Likely",
        sender_name="s", headline="h", description="d", instruction="i", area="a",
    )  # fmt: skip
    assert cap.validate(xml) == []
    bad = xml.replace(cap.stamp(NOW).encode(), (NOW - timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M:%SZ").encode())
    assert cap.validate(bad) != []
