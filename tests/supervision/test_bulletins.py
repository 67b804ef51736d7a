"""Bulletins (通报): beat drafts them from the measures (the same figures kpis.compute gives), once per
kind, org and period; supervisors edit and publish; the covered orgs get a task to sign for it; the DOCX and
XLSX read back with their Chinese text and tables."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from docx import Document
from openpyxl import load_workbook

from command_center import exports
from dispatch.models import DispatchOrder
from intel import services as loop
from intel.models import Directive, Task
from supervision import bulletins, kpis
from supervision.models import Bulletin
from tests.dispatch.conftest import dispatch, make_incident, make_unit
from tests.intel.conftest import api_as

pytestmark = pytest.mark.django_db


@pytest.fixture
def today(coded):
    """An incident of station A1 today, dispatched to a unit of A1: something to measure."""
    i = make_incident(coded, org=coded.station_a1)
    o = dispatch(coded, i, unit=make_unit(coded.station_a1))
    # Sent a minute ago and unsigned: late (inside its 30 s it would not count yet).
    DispatchOrder.objects.filter(pk=o.pk).update(sent_at=timezone.now() - timedelta(minutes=1))
    return timezone.localdate()


def test_a_draft_holds_the_measures_as_kpis_compute_gives_them_and_one_row_per_station(coded, today):
    b = bulletins.bulletin_generate(kind="daily", org=coded.county_a, day=today)
    assert b.state == Bulletin.State.DRAFT and (b.first, b.last) == (today, today)
    assert "东城分局" in b.title and today.isoformat() in b.title
    scope = kpis.Scope(coded.county_a, today, today)
    now = kpis.compute(scope)
    prev = kpis.compute(kpis.previous(scope, "day"))
    for key, v in now.items():
        assert b.figures["kpis"]["current"][key] == {
            "value": v.value,
            "numerator": v.numerator,
            "denominator": v.denominator,
        }
        assert b.figures["kpis"]["previous"][key]["value"] == prev[key].value
    assert b.figures["kpis"]["current"]["sign_mean_s"]["denominator"] == 0  # sent, not signed yet
    assert b.figures["kpis"]["current"]["sign_30s_rate"]["denominator"] == 1
    assert [r["name"] for r in b.figures["orgs"]] == ["东湖派出所", "新华派出所"]
    a1 = kpis.compute(kpis.Scope(coded.station_a1, today, today))
    assert b.figures["orgs"][0]["kpis"]["sign_30s_rate"]["value"] == a1["sign_30s_rate"].value == 0.0
    assert b.figures["last_year"]["first"] == today.replace(year=today.year - 1).isoformat() or today.month == 2


def test_generating_twice_makes_one_bulletin_per_kind_org_and_period(coded, today):
    one = bulletins.bulletin_generate(kind="weekly", org=coded.city, day=today)
    two = bulletins.bulletin_generate(kind="weekly", org=coded.city, day=today - timedelta(days=today.weekday()))
    assert one.pk == two.pk and Bulletin.objects.count() == 1
    assert one.first.weekday() == 0 and one.last == one.first + timedelta(days=6)
    # The city covers its counties (not the partner agency); a station itself (not its communities).
    assert [r["name"] for r in one.figures["orgs"]] == ["东城分局", "西城分局"]
    assert bulletins.covered(coded.station_a1) == [coded.station_a1]


def test_beat_drafts_each_kind_at_eight_for_every_command_center():
    from celery.schedules import crontab

    from command_center.celery import app

    app.loader.import_default_modules()
    app.finalize()
    daily = app.conf.beat_schedule["bulletins daily"]
    assert daily["task"] == "supervision.generate_bulletins" in app.tasks and daily["args"] == ("daily",)
    assert daily["schedule"] == crontab(hour=8, minute=0)
    assert app.conf.beat_schedule["bulletins weekly"]["schedule"] == crontab(hour=8, minute=0, day_of_week=1)
    assert app.conf.beat_schedule["bulletins monthly"]["schedule"] == crontab(hour=8, minute=0, day_of_month=1)
    assert app.conf.timezone == "Asia/Shanghai"
    assert bulletins.due_today(date(2026, 12, 7)) == ["daily", "weekly"]  # a Monday
    assert bulletins.due_today(date(2027, 2, 1)) == ["daily", "weekly", "monthly"]
    assert bulletins.due_today(date(2026, 12, 9)) == ["daily"]


def test_the_task_drafts_yesterday_for_every_command_center_once(coded):
    from supervision.tasks import generate_bulletins

    assert generate_bulletins("daily") == 3  # the city and its two counties
    assert generate_bulletins("daily") == 3
    yesterday = timezone.localdate() - timedelta(days=1)
    assert set(Bulletin.objects.values_list("first", flat=True)) == {yesterday}
    assert Bulletin.objects.count() == 3
    generate_bulletins("monthly")
    month = Bulletin.objects.get(kind="monthly", org=coded.city)
    assert month.first == yesterday.replace(day=1) and month.last.month == yesterday.month


def test_the_command_generates_by_hand(coded, capsys):
    call_command("generate_bulletins", "daily", "--day", "2026-12-01", "--org", str(coded.county_b.pk))
    b = Bulletin.objects.get()
    assert (b.org, b.first) == (coded.county_b, date(2026, 12, 1))
    assert "西城分局" in capsys.readouterr().out


def test_drafts_are_for_editors_and_published_bulletins_for_the_area(coded, today):
    b = bulletins.bulletin_generate(kind="daily", org=coded.county_a, day=today)
    sup, station, other = api_as(coded.supervisor), api_as(coded.station_a1_officer), api_as(coded.station_b1_officer)
    assert [x["id"] for x in sup.get("/api/bulletins/").json()["results"]] == [b.pk]
    assert station.get(f"/api/bulletins/{b.pk}/").status_code == 404  # a draft: not for the station
    r = sup.patch(f"/api/bulletins/{b.pk}/", {"requirements": "=各所加强夜间巡逻"}, format="json")
    assert r.status_code == 200 and r.json()["requirements"] == "=各所加强夜间巡逻"
    assert sup.patch(f"/api/bulletins/{b.pk}/", {"title": " "}, format="json").status_code == 400
    assert sup.patch(f"/api/bulletins/{b.pk}/", {"figures": {}}, format="json").status_code == 400
    assert api_as(coded.county_a_duty).post(f"/api/bulletins/{b.pk}/publish/").status_code == 404  # no editor: no draft

    r = sup.post(f"/api/bulletins/{b.pk}/publish/")
    assert r.status_code == 200 and r.json()["state"] == "published"
    assert sup.post(f"/api/bulletins/{b.pk}/publish/").status_code == 409
    assert sup.patch(f"/api/bulletins/{b.pk}/", {"summary": "改"}, format="json").status_code == 409
    assert station.get(f"/api/bulletins/{b.pk}/").status_code == 200  # covered: reads it now
    assert other.get(f"/api/bulletins/{b.pk}/").status_code == 404  # another county's station


def test_publishing_gives_each_covered_station_a_task_to_sign_for_it(coded, today):
    b = bulletins.bulletin_generate(kind="daily", org=coded.county_a, day=today)
    b = bulletins.bulletin_publish(bulletin_id=b.pk, actor=coded.supervisor)
    d = b.directive
    assert d is not None and d.source == Directive.Source.BULLETIN and d.colour == "blue"
    assert d.issuer_org == coded.county_a and f"/supervision/bulletins/{b.pk}/" in d.content
    tasks = {t.org: t for t in Task.objects.filter(carried__directive=d)}
    assert set(tasks) == {coded.station_a1, coded.station_a2}
    t = loop.task_sign(task_id=tasks[coded.station_a1].pk, actor=coded.station_a1_officer)
    assert t.state == Task.State.SIGNED and t.signed_at is not None


def test_the_docx_reads_back_with_chinese_text_and_its_tables(coded, today):
    b = bulletins.bulletin_generate(kind="daily", org=coded.county_a, day=today)
    bulletins.bulletin_update(
        bulletin_id=b.pk, actor=coded.supervisor, changes={"requirements": '=HYPERLINK("x")\x07各所落实'}
    )
    bulletins.bulletin_publish(bulletin_id=b.pk, actor=coded.supervisor)
    r = api_as(coded.station_a1_officer).get(f"/api/bulletins/{b.pk}/docx/")
    assert r.status_code == 200 and r["Content-Type"] == exports.CONTENT_TYPES["docx"]
    assert "filename*=utf-8''" in r["Content-Disposition"]
    doc = Document(io.BytesIO(r.content))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert f"东城分局日推进通报（{today.isoformat()}）" in text
    assert '=HYPERLINK("x")\ufffd各所落实' in text  # as text, the control character replaced
    kpi_table, rank_table = doc.tables
    header = [c.text for c in kpi_table.rows[0].cells]
    assert header[0] == "指标" and header[1].startswith("本期")
    signed = next(row for row in kpi_table.rows if row.cells[0].text == "30 秒签收率")
    assert signed.cells[1].text == "0.0%"
    assert [row.cells[1].text for row in rank_table.rows[1:]] == ["东湖派出所", "新华派出所"]
    assert "发布时间" in text and "+08:00" in text


def test_the_xlsx_has_the_text_the_measures_and_the_full_ranking(coded, today):
    b = bulletins.bulletin_generate(kind="daily", org=coded.county_a, day=today)
    r = api_as(coded.supervisor).get(f"/api/bulletins/{b.pk}/xlsx/")
    assert r.status_code == 200
    wb = load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames == ["通报", "考评指标", "排名"]
    measures = [[c.value for c in row] for row in wb["考评指标"].iter_rows()]
    assert measures[0][0] == b.title and measures[1][0] == "指标"
    assert len(wb["排名"]["1"]) == 2 + len(kpis.KPIS)


def test_the_page_shows_the_draft_to_edit_and_the_published_one_to_read(client, coded, today):
    b = bulletins.bulletin_generate(kind="daily", org=coded.county_a, day=today)
    client.force_login(coded.supervisor)
    html = client.get(f"/supervision/bulletins/{b.pk}/").content.decode()
    assert 'name="summary"' in html and 'id="bulletin-chart"' in html and "bulletin.js" in html
    r = client.post(f"/supervision/bulletins/{b.pk}/", {"title": b.title, "summary": "平稳", "do": "publish"})
    assert r.status_code == 302
    b.refresh_from_db()
    assert b.state == "published" and b.summary == "平稳"
    client.force_login(coded.station_a1_officer)
    assert b.title in client.get("/supervision/bulletins/").content.decode()
    html = client.get(f"/supervision/bulletins/{b.pk}/").content.decode()
    assert 'name="summary"' not in html and "平稳" in html
    client.force_login(coded.station_b1_officer)
    assert client.get(f"/supervision/bulletins/{b.pk}/").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_make_one_draft_and_two_publishers_one_directive():
    from intel.models import Directive
    from tests.concurrency import parallel
    from tests.conftest import build_world

    w = build_world()
    day = date(2026, 12, 6)
    made = parallel(3, lambda _k: bulletins.bulletin_generate(kind="daily", org=w.county_a, day=day).pk)
    assert len(set(made)) == 1 and Bulletin.objects.count() == 1

    def publish(_k: int) -> int:
        return api_as(w.supervisor).post(f"/api/bulletins/{made[0]}/publish/").status_code

    assert sorted(parallel(2, publish)) == [200, 409]
    assert Directive.objects.filter(source="bulletin").count() == 1
    assert Task.objects.filter(carried__directive__source="bulletin").count() == 2
