"""The morning report: beat drafts one per org and day when its hour has come (idempotent, catching up a
missed run), a re-draft refreshes the figures and keeps the analyst's edits, a stale save is 409, only a
commander publishes, and the DOCX and PDF read back in Chinese."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.test import override_settings
from docx import Document
from pypdf import PdfReader

from briefing import files, services, tasks
from briefing.models import DailyReport, DailyReportTransition, ReportSchedule
from tests.intel.conftest import api_as

from .conftest import DAY, incident_on, local

pytestmark = pytest.mark.django_db

MORNING = DAY + timedelta(days=1)  # the report on DAY is drafted the morning after


def test_beat_drafts_when_the_hour_has_come_once_and_catches_up(coded):
    orgs = {coded.city.pk, coded.county_a.pk, coded.county_b.pk}  # police cities and counties (not partners)
    # Before 07:00 only the day before yesterday, which beat never drafted, is caught up.
    early = services.reports_draft_due(now=local(MORNING, 6) + timedelta(minutes=59))
    assert {(r.org_id, r.day) for r in early} == {(o, DAY - timedelta(days=1)) for o in orgs}
    made = services.reports_draft_due(now=local(MORNING, 7))
    assert {r.org_id for r in made} == orgs and {r.day for r in made} == {DAY}
    assert services.reports_draft_due(now=local(MORNING, 7) + timedelta(minutes=5)) == []  # idempotent
    assert DailyReport.objects.count() == 6
    # The task beat runs (settings.HOUSEKEEPING) is the same call.
    assert "briefing.draft_reports" in settings.HOUSEKEEPING
    with time_machine.travel(local(DAY + timedelta(days=10), 8), tick=False):
        assert tasks.draft_reports() == 3 * 2  # that morning: yesterday and the day before, three orgs


@override_settings(BRIEFING_CATCH_UP_DAYS=1)
def test_a_missed_beat_catches_up_and_the_hour_is_data(coded):
    ReportSchedule.objects.create(org=coded.county_a, hour=9, minute=30)
    ReportSchedule.objects.create(org=coded.county_b, hour=7, active=False)
    # Beat was down from 06:00 to 08:00, then to 11:00: the first run after drafts what is due.
    made = services.reports_draft_due(now=local(MORNING, 8))
    assert {r.org_id for r in made} == {coded.city.pk}
    made = services.reports_draft_due(now=local(MORNING, 11))
    assert {r.org_id for r in made} == {coded.county_a.pk}
    assert not DailyReport.objects.filter(org=coded.county_b).exists()


def test_a_day_beat_missed_altogether_is_drafted_the_next_morning(coded):
    services.reports_draft_due(now=local(MORNING - timedelta(days=1), 7))  # the report on DAY - 1
    # Beat down from then until 2 days later at 10:00: DAY and DAY + 1 are both drafted now.
    made = services.reports_draft_due(now=local(MORNING + timedelta(days=1), 10))
    assert sorted({r.day for r in made}) == [DAY, DAY + timedelta(days=1)]
    assert DailyReport.objects.filter(org=coded.city).count() == 4  # DAY-2 (caught up the first time) … DAY+1


def test_redraft_refreshes_figures_and_keeps_the_analysts_edits(coded):
    r = services.report_draft(org=coded.county_a, day=DAY)
    assert r.figures["sections"]["incidents"]["figures"]["total"]["count"] == 0
    incident_on(coded, DAY, org=coded.station_a1)
    # Nobody edited yet: the text follows the figures.
    r = services.report_draft(org=coded.county_a, day=DAY, actor=coded.analyst)
    assert r.figures["sections"]["incidents"]["figures"]["total"]["count"] == 1 and "**1**" in r.body
    r = services.report_save(report_id=r.pk, actor=coded.analyst, body="研判意见：加强巡逻", version=r.version)
    incident_on(coded, DAY, org=coded.station_a1)
    r = services.report_draft(org=coded.county_a, day=DAY, actor=coded.analyst)
    assert r.figures["sections"]["incidents"]["figures"]["total"]["count"] == 2
    assert r.body == "研判意见：加强巡逻"
    assert DailyReport.objects.count() == 1
    assert list(DailyReportTransition.objects.filter(subject=r).values_list("event", flat=True)) == [
        "draft", "redraft", "edit", "redraft",
    ]  # fmt: skip


def test_a_stale_save_is_409_and_changes_nothing(coded):
    r = services.report_draft(org=coded.county_a, day=DAY)
    url = f"/api/briefing/reports/{r.pk}/"
    first = api_as(coded.analyst).patch(url, {"body": "甲的修改", "version": r.version}, format="json")
    assert first.status_code == 200 and first.json()["version"] == r.version + 1
    second = api_as(coded.commander).patch(url, {"body": "乙的修改", "version": r.version}, format="json")
    assert second.status_code == 409 and second.json()["version"] == r.version + 1
    r.refresh_from_db()
    assert r.body == "甲的修改" and r.edited_by == coded.analyst
    bad = api_as(coded.analyst).patch(url, {"body": "x"}, format="json")
    assert bad.status_code == 400 and "version" in bad.json()


def test_only_a_commander_of_the_org_or_above_publishes(coded):
    r = services.report_draft(org=coded.county_a, day=DAY)
    url = f"/api/briefing/reports/{r.pk}/publish/"
    assert api_as(coded.analyst).post(url, {}, format="json").status_code == 403
    assert api_as(coded.county_a_duty).post(url, {}, format="json").status_code == 403
    assert api_as(coded.station_a1_officer).post(url, {}, format="json").status_code == 404  # not theirs to see
    res = api_as(coded.commander).post(url, {}, format="json")  # the city's commander: above the county
    assert res.status_code == 200 and res.json()["state"] == "published"
    assert api_as(coded.commander).post(url, {}, format="json").status_code == 409
    edit = api_as(coded.analyst).patch(
        f"/api/briefing/reports/{r.pk}/", {"body": "x", "version": res.json()["version"]}, format="json"
    )
    assert edit.status_code == 409
    redraft = api_as(coded.analyst).post(f"/api/briefing/reports/{r.pk}/redraft/", {}, format="json")
    assert redraft.status_code == 409
    # A published report is not re-drafted: beat and the button leave it as published.
    again = services.report_draft(org=coded.county_a, day=DAY)
    assert again.state == "published" and again.version == res.json()["version"]


def test_docx_and_pdf_read_back_in_chinese(coded):
    incident_on(coded, DAY, org=coded.station_a1)
    r = services.report_draft(org=coded.county_a, day=DAY)
    r = services.report_save(
        report_id=r.pk,
        actor=coded.analyst,
        body=r.body + '\n\n## 研判意见\n\n=HYPERLINK("x") 夜间加强巡逻',
        version=r.version,
    )
    docx = Document(io.BytesIO(files.report_docx(r)))
    text = "\n".join(p.text for p in docx.paragraphs)
    cells = "\n".join(c.text for t in docx.tables for row in t.rows for c in row.cells)
    assert r.title in text and "东城分局" in text and "研判意见" in text and "夜间加强巡逻" in text
    assert '=HYPERLINK("x") 夜间加强巡逻' in text  # user text as text
    assert "警情类别" in cells or "Category" in cells
    assert any('w:eastAsia="SimSun"' in run._element.xml for p in docx.paragraphs for run in p.runs)
    pdf = PdfReader(io.BytesIO(files.report_pdf(r)))
    read = "".join(page.extract_text() for page in pdf.pages)
    assert "三情研判报告" in read and "东城分局" in read and "夜间加强巡逻" in read and "研判意见" in read
    # The API serves both to whoever reads the report.
    api = api_as(coded.analyst)
    assert api.get(f"/api/briefing/reports/{r.pk}/pdf/").headers["Content-Type"] == "application/pdf"
    assert api.get(f"/api/briefing/reports/{r.pk}/docx/").status_code == 200


def test_admin_lists_the_briefing_and_edits_the_schedule(coded, client):
    from django.contrib.auth.models import User

    services.report_draft(org=coded.county_a, day=DAY)
    services.duty_log_for(org=coded.station_a1, day=DAY)
    client.force_login(User.objects.create_superuser("root", password="pw-12345"))
    for model in ("dailyreport", "dutylog", "dutynote", "reportschedule"):
        assert client.get(f"/admin/briefing/{model}/").status_code == 200
    res = client.post(
        "/admin/briefing/reportschedule/add/", {"org": coded.county_a.pk, "hour": 6, "minute": 30, "active": "on"}
    )
    assert res.status_code == 302 and ReportSchedule.objects.get(org=coded.county_a).hour == 6


@pytest.mark.django_db(transaction=True)
def test_two_publishes_at_once_one_wins(coded):
    from command_center.transitions import InvalidTransition
    from tests.concurrency import parallel

    r = services.report_draft(org=coded.county_a, day=DAY)

    def publish(k: int) -> str:
        try:
            services.report_publish(report_id=r.pk, actor=coded.commander)
        except InvalidTransition:
            return "409"
        return "published"

    assert sorted(parallel(2, publish)) == ["409", "published"]
    assert DailyReportTransition.objects.filter(subject=r, event="publish").count() == 1
