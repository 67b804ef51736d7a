"""The closed loop 研交办督结 in Chromium, each person in their own browser context: the analyst issues a red
directive to three stations on the workspace page; two stations sign it in their phone inbox in time; the
third does not — the sweep breaks its sign clock and a reminder (催办), then a 督办, reach its inbox and the
commander's board, who puts the task on the watch list (盯办); a station reports (text, checklist, a photo),
the supervisor returns it with a reason, the station sees the reason and reports again; the supervisor
approves all three (one of them decided first by a colleague: the page says so); the directive closes and
its closure report downloads as a workbook with one row per recipient."""

from __future__ import annotations

import io
import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone
from playwright.sync_api import expect

from command_center import clocks, codes
from command_center.models import Deadline, Role
from incidents import services as incident_services
from intel import services
from intel.models import Analysis, Attachment, Directive, Task
from supervision.models import Reminder, SupervisionOrder
from tests.browser.test_dispatch import ARTIFACTS, closing, login  # noqa: F401  # `closing` is a fixture
from tests.conftest import build_world
from tests.factories import make_person

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
TITLE = "湖滨商圈夜间安保专项"


def open_page(context: Any, base: str, username: str, path: str, errors: list[str]) -> Any:
    page = context.new_page()
    page.on("pageerror", lambda e: errors.append(f"{username}: {e}"))
    login(page, base, username)
    page.goto(f"{base}{path}")
    expect(page.locator(".live-status[data-state=live]")).to_be_visible()
    return page


def break_clock(task: Task, kind: str) -> None:
    """Make the task's running `kind` clock due a second ago and sweep, as beat would (no real minutes)."""
    now = timezone.now()
    ct = ContentType.objects.get_for_model(Task)
    moved = (
        Deadline.objects.open()
        .filter(subject_type=ct, subject_id=task.pk, kind=kind)
        .update(due_at=now - timedelta(seconds=1))
    )
    assert moved == 1, kind
    if kind == services.CLOCK_SIGN:
        Task.objects.filter(pk=task.pk).update(sign_due_at=now - timedelta(seconds=1))
    assert clocks.sweep() == 1


def open_tasks_tab(page: Any) -> None:
    page.get_by_role("tab", name=re.compile("指令任务")).click()
    expect(page.locator("[data-panel=tasks]")).to_be_visible()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_red_directive_goes_round_the_loop(asgi_live_server, browser, closing):  # noqa: F811
    w = build_world()
    codes.load_defaults()  # the 督办 levels
    make_person("station3", w.station_a2, Role.STATION_OFFICER)  # 新华派出所
    colleague = make_person("supervisor2", w.city, Role.SUPERVISOR)
    ARTIFACTS.mkdir(exist_ok=True)
    base = asgi_live_server
    errors: list[str] = []
    desk = {"viewport": {"width": 1440, "height": 900}}
    phone = {"viewport": {"width": 390, "height": 844}}

    analyst_ctx, commander_ctx, supervisor_ctx = (browser.new_context(**desk) for _ in range(3))
    s1_ctx, s2_ctx, s3_ctx = (browser.new_context(**phone) for _ in range(3))
    for c in (analyst_ctx, commander_ctx, supervisor_ctx, s1_ctx, s2_ctx, s3_ctx):
        closing(c)

    # 1. 研: the analyst writes an analysis on the workspace page, linked to an incident, and publishes it.
    incident, _ = incident_services.incident_intake(
        actor=w.duty,
        data=incident_services.IntakeData(
            call_id="LOOP-1",
            source="110",
            address="湖滨路8号 商场南门",
            category=codes.active_categories()["020500"],
            narrative="商场门口深夜聚集喧哗",
        ),
    )
    ws = open_page(analyst_ctx, base, "analyst", "/intel/", errors)
    an = ws.locator("form.analysis-form")
    an.get_by_label("标题").fill("湖滨商圈夜间警情上升")
    an.get_by_label("研判意见").fill("近一周湖滨商圈夜间纠纷、噪音类警情环比上升四成，集中在22时至次日2时。")
    an.locator(".incident-search").fill(incident.number)
    an.locator(".incident-hits .hit").first.click()
    expect(an.locator(".linked-incidents .chip")).to_have_text(re.compile(incident.number))
    an.get_by_role("button", name="保存并发布").click()
    analysis_row = ws.locator(".an", has_text="湖滨商圈夜间警情上升")
    expect(analysis_row.locator(".state")).to_have_text("已发布")
    analysis = Analysis.objects.get(title="湖滨商圈夜间警情上升")
    assert analysis.state == "published" and list(analysis.incidents.all()) == [incident]

    # 交: from it, a red directive to three stations.
    analysis_row.get_by_role("button", name="据此下发指令").click()
    form = ws.locator("form.issue-form")
    expect(form.get_by_label("标题")).to_have_value("湖滨商圈夜间警情上升")
    expect(form.get_by_label("依据研判")).to_have_value(str(analysis.pk))
    form.get_by_label("标题").fill(TITLE)
    form.get_by_label("内容").fill("国庆期间湖滨商圈人流密集，请各所加强夜间巡防，排查消防与治安隐患。")
    form.get_by_label("红色").check()
    expect(form.get_by_label("签收时限（分钟）")).to_have_value("10")  # red: sign within 10 minutes
    form.get_by_label("必办事项（每行一项）").fill("加密夜间巡逻\n排查消防隐患")
    for name in ("东湖派出所", "新华派出所", "西溪派出所"):
        form.locator(".org-tree label", has_text=name).locator("input").check()
    expect(form.locator(".rcount")).to_have_text("3")
    form.get_by_label("标题").press("Control+Enter")
    row = ws.locator(f'.dir[data-title="{TITLE}"]')
    expect(row).to_be_visible()
    d = Directive.objects.get(title=TITLE)
    assert d.colour == "red" and d.sign_within_s == 600 and d.actions == ["加密夜间巡逻", "排查消防隐患"]
    assert d.source == "analysis" and d.analysis_id == analysis.pk
    assert d.recipients.count() == 3
    t1, t2, t3 = (Task.objects.get(carried__directive=d, org=o) for o in (w.station_a1, w.station_b1, w.station_a2))
    expect(row).to_contain_text("0 / 3")
    ws.evaluate("window.scrollTo(0, 0)")
    ws.screenshot(path=str(ARTIFACTS / "loop-workspace.png"))
    row.locator(".dir-title").click()
    expect(ws.locator(".dv-table tbody tr")).to_have_count(3)
    directive_page = ws
    expect(directive_page.locator('tr[data-org-name="新华派出所"]')).to_have_attribute("data-state", "issued")

    # 2. 办: two stations sign in time, in their phone inbox.
    s1 = open_page(s1_ctx, base, "station1", "/dispatch/inbox/", errors)
    s2 = open_page(s2_ctx, base, "station2", "/dispatch/inbox/", errors)
    s3 = open_page(s3_ctx, base, "station3", "/dispatch/inbox/", errors)
    for page, task in ((s1, t1), (s2, t2)):
        expect(page.locator("[data-tab=tasks] .badge")).to_have_text("1")
        open_tasks_tab(page)
        card = page.locator(f'.ib-task[data-id="{task.pk}"]')
        expect(card).to_contain_text(TITLE)
        expect(card).to_contain_text("加密夜间巡逻")
        card.get_by_role("button", name="签收").click()
        expect(card).to_have_attribute("data-state", "signed")
    for task in (t1, t2):
        task.refresh_from_db()
        assert task.state == "signed" and task.signed_at is not None and task.sign_due_at is not None
        assert task.signed_at <= task.sign_due_at
    expect(directive_page.locator('tr[data-org-name="东湖派出所"]')).to_have_attribute("data-state", "signed")
    expect(directive_page.locator('tr[data-org-name="西溪派出所"]')).to_have_attribute("data-state", "signed")
    s2_ctx.close()  # done with station 2's phone (its report is filed below through the services)

    # 3. 督: the third does not sign. Its clock breaks: a reminder on its inbox and on the commander's board.
    board = open_page(commander_ctx, base, "commander", "/dispatch/board/", errors)
    open_tasks_tab(s3)
    break_clock(t3, services.CLOCK_SIGN)
    reminder = Reminder.objects.get(task=t3)
    banner = s3.locator(f'.ib-reminder[data-id="{reminder.pk}"]')
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("催办")
    expect(banner).to_contain_text(TITLE)
    expect(s3.locator("body")).to_have_attribute("data-beeps", re.compile(r"^[1-9]"))  # the alert sounded
    expect(s3.locator(f'.ib-task[data-id="{t3.pk}"]')).to_have_class(re.compile(r"\boverdue\b"))
    strip = board.locator(f'.alert.a-reminder[data-task="{t3.pk}"]')
    expect(strip).to_be_visible()
    expect(strip).to_contain_text("新华派出所")
    expect(board.locator(f'.alert.a-breach[data-key="breach:{reminder.deadline_id}"]')).to_have_count(0)
    expect(directive_page.locator('tr[data-org-name="新华派出所"]')).to_have_class(re.compile(r"\boverdue\b"))
    # Still nothing: the escalation clock breaks too and raises a 督办.
    break_clock(t3, services.CLOCK_ESCALATE)
    order = SupervisionOrder.objects.get(task=t3)
    expect(board.locator(f'.alert.a-supervision[data-key="supervision:{order.pk}"]')).to_contain_text("一般督办")
    expect(s3.locator(".ib-reminder[data-level='2']")).to_contain_text("一般督办")
    directive_page.screenshot(path=str(ARTIFACTS / "loop-directive-progress.png"), full_page=True)
    # The commander puts the late task on the watch list from the directive's page: it shows on the board.
    watch_page = commander_ctx.new_page()
    watch_page.on("pageerror", lambda e: errors.append(f"commander directive page: {e}"))
    watch_page.goto(f"{base}/intel/directives/{d.pk}/")
    watch_page.locator('tr[data-org-name="新华派出所"]').get_by_role("button", name="盯办").click()
    expect(watch_page.locator('tr[data-org-name="新华派出所"]')).to_contain_text("已盯办")
    watch_page.close()
    expect(board.locator(f'.watch[data-task="{t3.pk}"]')).to_be_visible()
    board.screenshot(path=str(ARTIFACTS / "loop-board.png"))
    s3.screenshot(path=str(ARTIFACTS / "loop-inbox-reminder.png"), full_page=True)
    # The station acknowledges and signs, late: the reminder and the 督办 leave the board's strip.
    banners = s3.locator(".ib-reminder")
    expect(banners).to_have_count(2)  # the reminder and the 督办 notice
    for left in (2, 1):  # one at a time: the list redraws after each
        banners.first.locator(".rm-ack").click()
        expect(banners).to_have_count(left - 1)
    assert Reminder.objects.filter(task=t3, acknowledged_at__isnull=True).count() == 0
    s3.locator(f'.ib-task[data-id="{t3.pk}"]').get_by_role("button", name="签收").click()
    expect(s3.locator(f'.ib-task[data-id="{t3.pk}"]')).to_have_attribute("data-state", "signed")
    expect(board.locator(f'.alert[data-task="{t3.pk}"]')).to_have_count(0)
    expect(board.locator(f'.watch[data-task="{t3.pk}"]')).to_be_visible()  # watched until it closes
    s3_ctx.close()

    # 4. A station reports: text, the checklist, a photo.
    card = s1.locator(f'.ib-task[data-id="{t1.pk}"]')
    card.get_by_role("button", name="开始办理").click()
    card.get_by_role("button", name="反馈").click()
    card.get_by_label("处理情况").fill("已组织夜间巡逻4次，排查商铺32家，发现消防隐患2处已督促整改。")
    card.get_by_label("排查消防隐患 说明").fill("2处已整改")
    card.get_by_label("附件（照片、文件）").set_input_files(
        files=[{"name": "巡逻照片.png", "mimeType": "image/png", "buffer": PNG}]
    )
    s1.screenshot(path=str(ARTIFACTS / "loop-inbox-report.png"), full_page=True)
    card.get_by_role("button", name="提交反馈").click()
    expect(card).to_have_attribute("data-state", "reported")
    expect(card).to_contain_text("已反馈，等待审核")

    # The other two report through the services (their phones are closed).
    for task, officer in ((t2, w.station_b1_officer), (t3, Task.objects.get(pk=t3.pk).signed_by)):
        services.task_start(task_id=task.pk, actor=officer)
        task.refresh_from_db()
        services.task_report(
            task_id=task.pk,
            actor=officer,
            text="已落实",
            checklist=[{"action": a, "done": True, "note": ""} for a in task.actions],
        )

    # 5. 督: the supervisor returns the first report with a reason (a reason is required).
    review = open_page(supervisor_ctx, base, "supervisor", "/supervision/", errors)
    item = review.locator(f'.rv-item[data-id="{t1.pk}"]')
    expect(review.locator(".rv-item")).to_have_count(3)
    item.click()
    body = review.locator(".rv-body")
    expect(body).to_contain_text("排查商铺32家")
    expect(body.locator(".checklist-view")).to_contain_text("2处已整改")
    expect(body.locator(".rp-files a")).to_have_text(re.compile("巡逻照片.png"))
    body.get_by_role("button", name="退回整改").click()
    expect(body.locator(".rv-notice")).to_contain_text("请说明退回原因")
    body.get_by_label("退回原因（必填）").fill("缺少巡逻时间和路线记录，请补充后再报。")
    review.screenshot(path=str(ARTIFACTS / "loop-review.png"))
    body.get_by_label("退回原因（必填）").press("Control+Enter")
    expect(review.locator(".rv-notice")).to_contain_text("已退回")
    expect(item).to_have_count(0)

    # 6. The station sees the reason and the count of returns, and reports again.
    expect(card).to_have_attribute("data-state", "returned")
    expect(card.locator(".return-reason")).to_have_text("缺少巡逻时间和路线记录，请补充后再报。")
    expect(card.locator(".ib-returned")).to_contain_text("1")
    s1.screenshot(path=str(ARTIFACTS / "loop-inbox-returned.png"), full_page=True)
    card.get_by_role("button", name="开始整改").click()
    card.get_by_role("button", name="反馈").click()
    card.get_by_label("处理情况").fill("补充：巡逻时间20:00-24:00，路线湖滨路—东坡路—平海路，记录附后。")
    card.get_by_role("button", name="提交反馈").click()
    expect(card).to_have_attribute("data-state", "reported")

    # 7. The supervisor approves all three; one is decided first by a colleague, and the page says so.
    def colleague_first(route: Any) -> None:
        services.task_approve(task_id=t3.pk, actor=colleague)
        route.continue_()

    review.route(f"**/api/tasks/{t3.pk}/approve/", colleague_first)
    for task in (t1, t2, t3):
        review.locator(f'.rv-item[data-id="{task.pk}"]').click()
        expect(review.locator(f'.rv-body[data-task="{task.pk}"]')).to_contain_text(task.org.name)
        review.locator(".rv-body").get_by_role("button", name="通过").click()
        if task is t3:
            expect(review.locator(".rv-notice.conflict")).to_contain_text("已由他人处理")
            expect(review.locator(".rv-notice.conflict")).to_contain_text("已办结")
        else:
            expect(review.locator(".rv-notice")).to_contain_text("已通过")
            # The queue moves on to the next report by itself; the confirmation stays until one is picked.
            expect(review.locator(".rv-body[data-task]:not([data-task=''])")).to_have_count(1)
            expect(review.locator(".rv-notice")).to_contain_text(f"已通过：{task.org.name}")
            if task is t1:
                review.screenshot(path=str(ARTIFACTS / "loop-review-approved.png"))
    expect(review.locator(".rv-item")).to_have_count(0)
    assert set(Task.objects.filter(carried__directive=d).values_list("state", flat=True)) == {"approved"}
    expect(board.locator(f'.watch[data-task="{t3.pk}"]')).to_have_count(0)  # closed: off the board

    # 8. 结: the directive shows closed; its closure report downloads as a workbook, a row per recipient.
    expect(directive_page.locator(".dv-state")).to_have_text("已办结")
    expect(directive_page.locator(".dv-summary")).to_contain_text("3 / 3")
    directive_page.screenshot(path=str(ARTIFACTS / "loop-directive.png"), full_page=True)
    directive_page.locator(".report-link").click()
    expect(directive_page.locator("h1")).to_have_text("办结报告")
    expect(directive_page.locator(".rp-table tbody tr")).to_have_count(3)
    directive_page.screenshot(path=str(ARTIFACTS / "loop-report.png"), full_page=True)
    with directive_page.expect_download() as download:
        directive_page.locator(".download-xlsx").click()
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()))
    sheet = wb.worksheets[0]
    values = [[c for c in r] for r in sheet.iter_rows(values_only=True)]
    header = next(k for k, r in enumerate(values) if r and r[0] == "接收单位")
    recipients = [r for r in values[header + 1 :] if r and r[0]]
    assert sorted(r[0] for r in recipients) == ["东湖派出所", "新华派出所", "西溪派出所"]
    assert [r[6] for r in recipients if r[0] == "东湖派出所"] == [1]  # one return for rework
    assert errors == []
    for a in Attachment.objects.all():  # the live server stores under .run/media: leave nothing behind
        if a.file and os.path.exists(a.file.path):
            os.remove(a.file.path)
