"""The morning report's figures are exact on known incidents: the day's valid incidents by level-1
category against the same weekday of the previous four weeks (mean ± population σ) and the day before,
repeat clusters, breaches by clock kind, 督办 (kpis' definition), 网情 of the day, and the suggestions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import translation

from briefing import sections
from command_center import clocks
from command_center.models import Deadline
from incidents.models import RepeatCluster
from incidents.services import CLOCK_FEEDBACK
from sentiment.models import Warning as SentimentWarning
from supervision import kpis

from .conftest import DAY, incident_on, local

pytestmark = pytest.mark.django_db


def test_baseline_is_mean_and_population_sigma():
    b = sections.baseline([1, 2, 3, 2])
    assert b.mean == 2.0
    assert round(b.sd, 4) == round((0.5) ** 0.5, 4)
    assert b.high(4) and not b.high(3)  # 2 + 2 × 0.707 = 3.41
    flat = sections.baseline([0, 0, 0, 0])
    assert flat.high(1) and not flat.high(0)
    assert sections.baseline([]) == sections.Baseline(0.0, 0.0, [])


@pytest.fixture
def known(coded):
    w = coded
    a1, b1 = w.station_a1, w.station_b1
    for _ in range(3):
        incident_on(w, DAY, org=a1)
    incident_on(w, DAY, org=w.station_a2, category="010100")
    incident_on(w, DAY, org=a1, state="invalid")  # not valid: not counted
    incident_on(w, DAY, org=b1)  # county B: not county A's
    incident_on(w, DAY + timedelta(days=1), org=a1, hour=1)  # the day after
    for _ in range(2):
        incident_on(w, DAY - timedelta(days=1), org=a1)
    for weeks, n in ((1, 1), (2, 2), (3, 3), (4, 2)):
        for _ in range(n):
            incident_on(w, DAY - timedelta(weeks=weeks), org=a1, hour=23)
    incident_on(w, DAY - timedelta(weeks=5), org=a1)  # outside the baseline
    one = incident_on(w, DAY, org=a1, hour=2)
    d = clocks.start(one, CLOCK_FEEDBACK, due=local(DAY, 3), org=a1)
    Deadline.objects.filter(pk=d.pk).update(breached_at=local(DAY, 3))
    RepeatCluster.objects.create(
        kind=RepeatCluster.Kind.RECURRING, org=a1, category_id="020500", address="东湖路12号",
        first_at=local(DAY, 9), last_at=local(DAY, 10), count=2,
    )  # fmt: skip
    return w


def test_incidents_section_counts_by_category_against_baseline_and_day_before(known):
    f = sections.incidents_section(known.county_a, DAY).figures
    rows = {r["code"]: r for r in f["categories"]}
    assert rows["020000"] == {
        "code": "020000", "name": rows["020000"]["name"], "count": 4, "previous_day": 2,
        "mean": 2.0, "sd": 0.71, "high": True,  # 4 > 2 + 2 × 0.71
    }  # fmt: skip
    assert rows["010000"]["count"] == 1 and rows["010000"]["mean"] == 0 and rows["010000"]["high"] is True
    assert f["total"] == {
        "count": 5, "previous_day": 2, "mean": 2.0, "sd": 0.71, "baseline_days": [1, 2, 3, 2], "high": True,
    }  # fmt: skip
    # Clusters first seen that day (ours, and the one the repeat detector opened for the same address).
    opened = RepeatCluster.objects.filter(
        org__path__startswith=known.county_a.path, first_at__gte=local(DAY, 0), first_at__lt=local(DAY, 24)
    )
    assert opened.filter(address="东湖路12号", count=2).exists()
    assert f["clusters"] == {"opened": opened.count(), "struck_off": 0}
    assert f["breaches"] == [{"kind": CLOCK_FEEDBACK, "label": str(clocks.kind(CLOCK_FEEDBACK).label), "count": 1}]
    # 督办: kpis' definition, the same figure the measures show.
    scope = kpis.Scope(known.county_a, DAY, DAY)
    assert f["supervision_orders"] == (kpis.BY_KEY["supervision_orders"].compute(scope).value or 0) == 0
    # The city counts county B's too; the station only its own.
    assert sections.incidents_section(known.city, DAY).figures["total"]["count"] == 6
    assert sections.incidents_section(known.station_a2, DAY).figures["total"]["count"] == 1


def test_sentiment_section_says_when_there_is_nothing(coded):
    with translation.override("zh-hans"):
        s = sections.sentiment_section(coded.city, DAY)
    assert s.figures["events_n"] == 0 and s.figures["warnings_n"] == 0
    assert "无网情数据" in s.markdown


def test_red_and_yellow_warnings_of_the_day_become_suggestions(coded):
    def warning(colour, hour, org=coded.station_a1, state="open"):
        return SentimentWarning.objects.create(
            kind="spike", org=org, category="020100", colour=colour, hour=local(DAY, hour), count=9,
            baseline_mean=1, baseline_sd=1, reason=f"{colour} spike {hour}", created_at=local(DAY, hour), state=state,
        )  # fmt: skip

    yellow, red = warning("yellow", 8), warning("red", 9)
    warning("blue", 10)
    warning("red", 11, state="analysed")  # already a 研判
    warning("red", 12, org=coded.station_b1)  # county B's
    warning("red", 12).__class__.objects.filter(hour=local(DAY, 12), org=coded.station_a1).update(
        created_at=local(DAY + timedelta(days=1), 1)
    )  # the next day's
    found = sections.suggestions(coded.county_a, DAY)
    assert [(s.kind, s.id, s.colour) for s in found] == [
        ("sentiment_warning", red.pk, "red"),
        ("sentiment_warning", yellow.pk, "yellow"),
    ]
    assert found[0].action == {"sentiment_warning": red.pk}
    sent = sections.sentiment_section(coded.county_a, DAY).figures
    assert sent["warnings_n"] == 4 and sent["warnings_by_colour"] == {"yellow": 1, "red": 2, "blue": 1}


def test_snapshot_keeps_the_registry_order_and_prefills_the_text(known):
    figures, body = sections.snapshot(known.county_a, DAY)
    assert figures["order"] == ["incidents", "community", "sentiment", "suggestions"]
    assert body.index(figures["sections"]["incidents"]["title"]) < body.index(figures["sections"]["sentiment"]["title"])
    assert "| 4 ▲ | 2 |" in body  # the 020000 row: 4 today (above its baseline), 2 the day before
