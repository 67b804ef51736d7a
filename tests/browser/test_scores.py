"""The score page (考评): a supervisor reads the month's ranking of stations with the 红榜 and 黑榜 and the rule
that made them, and opens a station's score to see every part — the deduction for a 督办 names its
incident and links to it; a station officer sees its own score, its rank and why."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from command_center import clocks, codes
from command_center.models import Org
from dispatch import services
from incidents import services as incident_services
from supervision import scores
from supervision import services as supervision_services
from supervision.models import ScoreScheme
from tests.browser.pages import login
from tests.conftest import build_world
from tests.dispatch.conftest import make_unit

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_supervisor_reads_the_ranking_and_a_station_sees_why(asgi_live_server, browser):
    w = build_world()
    codes.load_defaults()
    ScoreScheme.objects.create(
        name="月度考评", version=1, weights={"sign_30s_rate": 100}, deductions={"supervision": {"1": 5}},
        red_top=1, black_bottom=1,
    )  # fmt: skip
    Org.objects.filter(pk=w.station_b1.pk).update(lat=30.25, lon=120.10)
    incident, _ = incident_services.incident_intake(
        actor=w.duty,
        data=incident_services.IntakeData(
            call_id="SCORE-B1", source="110", address="西溪路8号", category=codes.active_categories()["020500"],
            org=w.station_b1,
        ),
    )  # fmt: skip
    order = services.order_dispatch(incident_id=incident.pk, actor=w.duty, unit_id=make_unit(w.station_b1, at=None).pk)
    clocks.sweep(now=order.sent_at + timedelta(minutes=1))  # never signed
    deadline = clocks.unmet().breached().get(kind="dispatch.sign")
    supervision_services.supervise_by_hand(deadline_id=deadline.pk, actor=w.supervisor, note="立即签收")
    scores.compute_scores(period="month", anchor=timezone.localdate())

    context = browser.new_context(viewport={"width": 1366, "height": 900})
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        login(page, asgi_live_server, "supervisor")
        page.goto(f"{asgi_live_server}/supervision/scores/")
        expect(page.locator(".score-rule")).to_contain_text("红榜 前 1 名")
        rows = page.locator(".score-row")
        expect(rows).to_have_count(3)
        b1 = rows.filter(has_text="西溪派出所")
        expect(b1).to_contain_text("黑榜")
        b1.click()
        parts = page.locator(".score-parts")
        expect(parts).to_contain_text("一般督办")
        expect(parts.get_by_role("link", name=incident.number)).to_have_attribute("href", f"/incidents/{incident.pk}/")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "scores.png"), full_page=True)
        assert not errors, errors
    finally:
        context.close()

    context = browser.new_context(viewport={"width": 412, "height": 900})
    try:
        page = context.new_page()
        login(page, asgi_live_server, "station2")
        page.goto(f"{asgi_live_server}/supervision/scores/")
        expect(page.locator(".score-row")).to_have_count(1)  # its own row only
        expect(page.locator(".score-detail-title")).to_contain_text("3 / 3")  # its rank, opened
        expect(page.locator(".score-parts .part-deduction")).to_have_count(1)
    finally:
        context.close()
