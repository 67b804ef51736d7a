"""What the loop adds to the live screens (command_center.screens): the station inbox's `tasks` (intel) and
`reminders` (supervision), the board's alerts for reminders (催办) and 督办 orders in place of the bare
breaches, and the board's watch list (盯办) — each scoped, each in the shape of its push. Also the pages of
the loop (workspace, a directive, its closure report, the supervision desk): who opens what."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from command_center import clocks, realtime, screens
from command_center.models import Deadline, Role
from intel import services
from intel.models import Task
from supervision.models import Reminder, SupervisionOrder
from tests.factories import make_person
from tests.intel.conftest import answers, api_as, issue, task_of, walk_to_reported

MIN = timedelta(minutes=1)


def json_safe(data):
    return json.loads(JSONRenderer().render(data))


def inbox(user) -> dict:
    r = api_as(user).get("/api/board/inbox/")
    assert r.status_code == 200, r.content
    return r.json()


def board(user) -> dict:
    r = api_as(user).get("/api/board/")
    assert r.status_code == 200, r.content
    return r.json()


# --- The inbox's tasks ---------------------------------------------------------------------------------


def test_a_station_sees_its_own_tasks_only_in_the_shape_of_their_pushes(coded, red):
    a1, b1 = task_of(red, coded.station_a1), task_of(red, coded.station_b1)
    other = issue(coded, coded.station_a2, title="新华专项")
    body = inbox(coded.station_a1_officer)
    [row] = body["tasks"]
    assert row["id"] == a1.pk and row["title"] == "湖滨商圈安保" and row["state"] == "issued"
    extra = {k: row.pop(k) for k in ("actions", "last_return_reason", "carried", "overdue", "can_act")}
    assert row == json_safe(services.task_payload(Task.objects.select_related("org").get(pk=a1.pk)))  # the push
    assert extra["actions"] == ["加密巡逻", "排查隐患"] and extra["can_act"] is True and extra["overdue"] == []
    [carried] = extra["carried"]
    assert carried["id"] == red.pk and carried["content"] == "请落实夜间巡防"
    assert carried["issuer_org_name"] == "示范市公安局情指中心" and carried["attachments"] == []
    assert [t["id"] for t in inbox(coded.station_b1_officer)["tasks"]] == [b1.pk]
    # A county's duty officer sees its stations' tasks, but may not sign them (the station's own act).
    county = {t["id"]: t for t in inbox(coded.county_a_duty)["tasks"]}
    assert set(county) == {a1.pk, task_of(other, coded.station_a2).pk}
    assert county[a1.pk]["can_act"] is False
    # Issuing a directive does not put its tasks into the issuer's inbox: the analyst has none.
    assert api_as(coded.analyst).get("/api/board/inbox/").status_code == 403


def test_the_inbox_keeps_what_closed_today_and_shows_the_reviewers_reason(coded, red):
    t = task_of(red, coded.station_a1)
    walk_to_reported(coded, t)
    services.task_return(task_id=t.pk, actor=coded.supervisor, reason="缺少现场照片")
    [row] = inbox(coded.station_a1_officer)["tasks"]
    assert row["state"] == "returned" and row["rework_count"] == 1 and row["last_return_reason"] == "缺少现场照片"
    services.task_start(task_id=t.pk, actor=coded.station_a1_officer)
    services.task_report(task_id=t.pk, actor=coded.station_a1_officer, text="已补充", checklist=answers(t))
    services.task_approve(task_id=t.pk, actor=coded.supervisor)
    [row] = inbox(coded.station_a1_officer)["tasks"]
    assert row["state"] == "approved"  # closed today: still listed (under "closed today")
    Task.objects.filter(pk=t.pk).update(approved_at=timezone.now() - timedelta(days=2))
    assert inbox(coded.station_a1_officer)["tasks"] == []


def test_the_inbox_tasks_take_a_fixed_number_of_queries(coded, django_assert_max_num_queries):
    for n in range(6):
        issue(coded, coded.station_a1, title=f"专项 {n}")
    from intel import selectors

    with django_assert_max_num_queries(6):
        rows = selectors.inbox_tasks(coded.station_a1_officer)
    assert len(rows) == 6


# --- The inbox's reminders -----------------------------------------------------------------------------


def test_reminders_reach_their_station_only_and_stay_until_seen(coded, red):
    clocks.sweep(now=red.issued_at + 11 * MIN)  # both sign clocks break
    a1_reminder = Reminder.objects.get(task=task_of(red, coded.station_a1))
    [row] = inbox(coded.station_a1_officer)["reminders"]
    assert row["id"] == a1_reminder.pk and row["level"] == 1 and row["can_ack"] is True
    assert row["recipient_name"] == "东湖派出所" and row["task_title"] == "湖滨商圈安保" and "催办" in row["text"]
    [b1_row] = inbox(coded.station_b1_officer)["reminders"]
    assert b1_row["id"] != a1_reminder.pk
    assert {r["id"] for r in inbox(coded.county_a_duty)["reminders"]} == {a1_reminder.pk}
    assert [r["can_ack"] for r in inbox(coded.county_a_duty)["reminders"]] == [False]
    # Acknowledged: still there today; an older acknowledged one leaves, an older unseen one stays.
    api_as(coded.station_a1_officer).post(f"/api/reminders/{a1_reminder.pk}/acknowledge/", {}, format="json")
    [row] = inbox(coded.station_a1_officer)["reminders"]
    assert row["acknowledged_at"]
    Reminder.objects.filter(pk=a1_reminder.pk).update(created_at=timezone.now() - timedelta(days=2))
    assert inbox(coded.station_a1_officer)["reminders"] == []
    Reminder.objects.filter(pk=a1_reminder.pk).update(acknowledged_at=None)
    assert [r["id"] for r in inbox(coded.station_a1_officer)["reminders"]] == [a1_reminder.pk]


def test_reminder_and_supervision_pushes_carry_what_a_screen_shows(coded, red):
    from tests.conftest import capture_broadcasts

    with capture_broadcasts() as sent:
        clocks.sweep(now=red.issued_at + 11 * MIN)
    push = next(m["data"] for m in sent if m["event"] == "reminder.created")
    assert push["task_title"] == "湖滨商圈安保" and push["recipient_name"] in ("东湖派出所", "西溪派出所")
    assert push["clock"] == "intel.task.sign" and push["acknowledged_at"] is None
    with capture_broadcasts() as sent:
        clocks.sweep(now=red.issued_at + 42 * MIN)
    order = next(m["data"] for m in sent if m["event"] == "supervision.ordered")
    assert order["task_title"] == "湖滨商圈安保" and order["clock"] == "intel.task.escalate"
    assert order["org_name"] in ("东湖派出所", "西溪派出所") and order["level"]["name"] == "一般督办"


# --- The board: reminders and 督办 in the strip, the watch list -------------------------------------------


def test_the_strip_shows_the_reminder_and_the_supervision_order_instead_of_the_bare_breach(coded, red):
    a1 = task_of(red, coded.station_a1)
    clocks.sweep(now=red.issued_at + 11 * MIN)
    sign = Deadline.objects.get(subject_id=a1.pk, kind="intel.task.sign")
    reminder = Reminder.objects.get(task=a1)
    alerts = {a["key"]: a for a in board(coded.duty)["alerts"]}
    assert f"breach:{sign.pk}" not in alerts
    a = alerts[f"reminder:{reminder.pk}"]
    assert a["kind"] == "reminder" and a["task"] == a1.pk and a["covers"] == sign.pk
    assert a["org_name"] == "东湖派出所" and a["text"] == "湖滨商圈安保" and a["clock"] == "intel.task.sign"
    # County B sees its own station's reminder, not station A1's.
    county_b = make_person("county_b_duty", coded.county_b, Role.DUTY_OFFICER)
    keys = {a["key"] for a in board(county_b)["alerts"]}
    assert f"reminder:{reminder.pk}" not in keys and any(k.startswith("reminder:") for k in keys)
    # Still not signed: the escalation clock breaks, a 督办 (its level-2 reminder is not shown beside it).
    clocks.sweep(now=red.issued_at + 42 * MIN)
    order = SupervisionOrder.objects.get(task=a1)
    alerts = {a["key"]: a for a in board(coded.duty)["alerts"]}
    s = alerts[f"supervision:{order.pk}"]
    assert s["kind"] == "supervision" and s["label"] == "一般督办" and s["covers"] == order.deadline_id
    assert f"breach:{order.deadline_id}" not in alerts
    level2 = Reminder.objects.get(task=a1, level=2)
    assert f"reminder:{level2.pk}" not in alerts
    # The station signs, late: the sign clock and the escalation are met; nothing of it is left in the strip,
    # and nothing of it is overdue any more.
    services.task_sign(task_id=a1.pk, actor=coded.station_a1_officer)
    assert not [a for a in board(coded.duty)["alerts"] if a.get("task") == a1.pk]
    assert not Deadline.objects.filter(subject_id=a1.pk, kind__startswith="intel.task.", breached_at__isnull=False,
                                       met_at__isnull=True, cancelled_at__isnull=True).exists()  # fmt: skip
    overdue = api_as(coded.supervisor).get("/api/overdue/", {"kind": "intel."}).json()
    assert {r["subject"]["id"] for r in overdue["results"]} == {task_of(red, coded.station_b1).pk}


def test_a_withdrawn_task_leaves_no_open_breach_behind(coded, red):
    clocks.sweep(now=red.issued_at + 11 * MIN)
    services.directive_withdraw(directive_id=red.pk, actor=coded.analyst, reason="活动取消")
    assert api_as(coded.supervisor).get("/api/overdue/").json()["count"] == 0
    assert not [a for a in board(coded.duty)["alerts"] if a["kind"] in ("breach", "reminder", "supervision")]
    assert Deadline.objects.filter(kind="intel.task.sign", breached_at__isnull=False).count() == 2  # recorded


def test_the_board_shows_the_watch_list_until_the_task_closes(coded, red):
    t = task_of(red, coded.station_a1)
    w = api_as(coded.commander).post("/api/watch/", {"task": t.pk, "note": "领导关注"}, format="json").json()
    [row] = board(coded.commander)["watch"]
    assert row == w  # the shape of GET /api/watch/ (the board fetches it on watch.* pushes)
    assert [x["id"] for x in board(coded.duty)["watch"]] == [w["id"]]  # the city's board, whoever looks
    assert board(make_person("county_b_duty", coded.county_b, Role.DUTY_OFFICER))["watch"] == []
    walk_to_reported(coded, t)
    services.task_approve(task_id=t.pk, actor=coded.supervisor)
    assert board(coded.commander)["watch"] == []


# --- The kernel's registry and the live seq ------------------------------------------------------------


def test_the_screens_registry_names_each_field_once():
    assert set(screens.provided(screens.INBOX)) >= {"tasks", "reminders"}
    assert "watch" in screens.provided(screens.BOARD)
    fn = screens._fields[(screens.INBOX, "tasks")]
    screens.provide(screens.INBOX, "tasks", fn)  # the same function again: a no-op (ready() may run twice)
    with pytest.raises(ValueError):
        screens.provide(screens.INBOX, "tasks", lambda user: [])


def test_the_live_seq_is_the_callers_group(coded, red):
    body = api_as(coded.analyst).get("/api/live/").json()
    assert body["seq"] == realtime.current_seq(realtime.org_group(coded.city.pk)) and body["at"]
    from rest_framework.test import APIClient

    assert APIClient().get("/api/live/").status_code == 401


# --- Pages ---------------------------------------------------------------------------------------------


def test_the_loop_pages_by_role(client, coded, red):
    client.force_login(coded.analyst)
    html = client.get("/intel/").content.decode()
    assert "js/loop.js" in html and 'href="/intel/"' in html and 'href="/supervision/"' not in html
    assert "issue-form" in html and "analysis-form" in html
    html = client.get(f"/intel/directives/{red.pk}/").content.decode()
    assert "湖滨商圈安保" in html and f"/api/directives/{red.pk}/" in html and "withdraw-form" in html
    html = client.get(f"/intel/directives/{red.pk}/report/").content.decode()
    assert "办结报告（预览：尚未办结）" in html and f"/api/directives/{red.pk}/report/?format=xlsx" in html
    assert "东湖派出所" in html and "西溪派出所" in html

    client.force_login(coded.supervisor)
    html = client.get("/intel/").content.decode()
    assert "issue-form" not in html and "analysis-form" not in html  # supervisors read
    html = client.get("/supervision/").content.decode()
    assert "js/review.js" in html and 'href="/supervision/"' in html and 'data-can-review="1"' in html
    assert 'data-can-watch=""' in html

    client.force_login(coded.commander)
    html = client.get("/supervision/").content.decode()
    assert 'data-can-review=""' in html and 'data-can-watch="1"' in html
    html = client.get("/dispatch/board/").content.decode()
    assert "watch-strip" in html and "/api/watch/" in html  # the watch list's endpoint, named by supervision
    assert 'href="/intel/"' in html and 'href="/supervision/"' in html

    client.force_login(coded.station_a1_officer)
    assert client.get("/intel/")["Location"] == "/dispatch/inbox/"
    assert client.get("/supervision/")["Location"] == "/dispatch/inbox/"
    assert client.get(f"/intel/directives/{red.pk}/").status_code == 403
    html = client.get("/dispatch/inbox/").content.decode()
    assert "js/inboxtasks.js" in html and "/api/tasks/0/" in html and "/api/reminders/0/" in html
    assert 'href="/intel/"' not in html

    client.force_login(coded.partner_agent)
    for url in ("/intel/", "/supervision/", f"/intel/directives/{red.pk}/report/"):
        assert client.get(url).status_code == 403

    # Another county's analyst does not see the city's directive: 404.
    client.force_login(make_person("analyst_b", coded.county_b, Role.ANALYST))
    assert client.get(f"/intel/directives/{red.pk}/").status_code == 200  # it has a task in county B
    mine = issue(coded, coded.station_a1, title="仅东城")
    assert client.get(f"/intel/directives/{mine.pk}/").status_code == 404
    assert client.get(f"/intel/directives/{mine.pk}/report/").status_code == 404
