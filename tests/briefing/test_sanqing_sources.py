"""The report's 社情 and hotspots come from the apps that define them: the 社情 section is
community.selectors.summary of the day, the 警情 section lists the day's red and yellow hotspots of
intel.hotspots, and each red hotspot is a suggested directive whose action opens a 研判 from it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone, translation
from rest_framework.test import APIClient

from briefing import sections
from command_center import codes
from community import selectors as community_selectors
from community import services as community_services
from community.models import Volunteer, VolunteerReport
from incidents.models import Incident
from intel import hotspots
from intel.models import Analysis

from .conftest import incident_on

pytestmark = pytest.mark.django_db

SCENE = (30.5801, 114.3101)


@pytest.fixture
def day_world(world: Any, settings: Any, tmp_path: Any) -> Any:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    codes.load_defaults()
    community_services.load_defaults()
    hotspots.load_defaults()
    Volunteer.objects.create(
        person=world.volunteer.person, station=world.station_a1, community=world.community_a1, phone="13900000001"
    )
    return world


def report(w: Any, **over: Any) -> VolunteerReport:
    data = community_services.ReportData(
        kind=over.pop("kind", "hazard"), category=over.pop("category", "fire_hazard"), text="楼道有人充电", **over
    )
    return community_services.report_submit(actor=w.volunteer, data=data)


def test_the_community_section_is_the_days_summary_with_its_incidents_and_disputes(day_world: Any) -> None:
    w = day_world
    day = timezone.localdate()
    made = community_services.report_make_incident(report_id=report(w).pk, actor=w.station_a1_officer)
    report(w, kind="clue", category="crime_clue")
    incident_on(w, day, org=w.station_a1, category="060100")  # a family dispute
    with translation.override("zh-hans"):
        s = sections.community_section(w.county_a, day)
    start, end = sections.bounds(day)
    summary = community_selectors.summary(org=w.county_a, start=start, end=end)
    assert s.figures["total"] == summary["total"] == 2
    assert s.figures["outcomes"] == summary["outcomes"] == {"incident": 1, "submitted": 1}
    assert s.figures["disputes"] == 1
    assert made.incident is not None
    number = made.incident.number
    assert [r["number"] for r in s.figures["incidents"]] == [number]
    assert "群防群治上报 **2** 条（隐患 1，线索 1）" in s.markdown
    assert f"→ {number}" in s.markdown and "纠纷类警情 1 起" in s.markdown
    # Another county's report says there was none.
    with translation.override("zh-hans"):
        assert "无社情上报" in sections.community_section(w.county_b, day).markdown


def hot_cell(w: Any, day: Any, n: int = 6) -> list[Incident]:
    made = []
    for _ in range(n):
        i = incident_on(w, day, org=w.station_a1, hour=10)
        Incident.objects.filter(pk=i.pk).update(lat=SCENE[0], lon=SCENE[1])
        made.append(i)
    return made


def test_a_red_hotspot_is_in_the_incidents_section_and_suggested_as_a_directive(day_world: Any) -> None:
    w = day_world
    day = timezone.localdate() - timedelta(days=1)
    hot_cell(w, day)  # six at one place, none in the weeks before: z = 6 over the σ floor → red
    with translation.override("zh-hans"):
        inc = sections.incidents_section(w.county_a, day)
        found = sections.suggestions(w.county_a, day)
    [h] = inc.figures["hotspots"]
    assert (h["colour"], h["count"], h["key"]) == ("red", 6, hotspots.cell_of(*SCENE))
    assert "热点" in inc.markdown and h["why"] in inc.markdown
    [s] = [s for s in found if s.kind == "hotspot"]
    assert s.colour == "red" and s.endpoint == "hotspot_analyse" and s.action["key"] == h["key"]
    # Nothing of it in the other county's report.
    assert not sections.incidents_section(w.county_b, day).figures["hotspots"]
    assert not [s for s in sections.suggestions(w.county_b, day) if s.kind == "hotspot"]

    # The suggestion's action, as the page sends it, opens a 研判 with the hotspot's six incidents.
    c = APIClient()
    c.force_authenticate(w.analyst)
    res = c.post("/api/hotspots/analyse/", s.action, format="json")
    assert res.status_code == 201, res.content
    analysis = Analysis.objects.get(pk=res.json()["analysis"])
    assert analysis.incidents.count() == 6
