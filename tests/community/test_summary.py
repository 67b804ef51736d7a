"""community.selectors.summary: the daily report's 社情 numbers of an area and period."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from community import selectors, services
from community.models import VolunteerReport

from .conftest import submit

pytestmark = pytest.mark.django_db


def test_summary_counts_kinds_categories_outcomes_open_late_and_lists_the_incidents(coded: Any) -> None:
    start = timezone.now() - timedelta(hours=1)
    a = submit(coded)
    b = submit(coded, kind="clue", category="crime_clue", text="有人在小区贩卖假药")
    c = submit(coded)
    a = services.report_make_incident(report_id=a.pk, actor=coded.station_a1_officer)
    services.report_close(report_id=b.pk, actor=coded.station_a1_officer, reason="无效")
    # c is overdue
    VolunteerReport.objects.filter(pk=c.pk).update(triage_due_at=timezone.now() - timedelta(minutes=1))
    end = timezone.now() + timedelta(minutes=1)

    s = selectors.summary(org=coded.county_a, start=start, end=end)
    assert s["total"] == 3 and s["by_kind"] == {"hazard": 2, "clue": 1}
    assert s["by_category"][0] == {"code": "fire_hazard", "name": "消防隐患", "kind": "hazard", "count": 2}
    assert s["outcomes"] == {"incident": 1, "closed": 1, "submitted": 1}
    assert (s["open"], s["late"]) == (1, 1)
    assert [(i["report"], i["incident"]) for i in s["incidents"]] == [(a.pk, a.incident_id)]
    # Another area, another period: nothing.
    assert selectors.summary(org=coded.station_b1, start=start, end=end)["total"] == 0
    assert selectors.summary(org=coded.county_a, start=end, end=end + timedelta(hours=1))["total"] == 0
