"""The task's way through the API: sign, start, report, approve or return — what each does, what the state
refuses (409 with the allowed actions), who may (403), who sees it (404), and the pushes."""

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from command_center import clocks
from command_center.models import Role
from intel.models import Directive, Task, TaskReport, TaskTransition
from tests.conftest import capture_broadcasts
from tests.factories import make_person

from .conftest import answers, api_as, issue, task_of, walk_to_reported


@pytest.fixture
def directive(coded):
    return issue(coded, coded.station_a1, coded.station_b1, colour="red")


@pytest.fixture
def task(coded, directive):
    return task_of(directive, coded.station_a1)


def post(client, task, action, body=None, **kw):
    return client.post(f"/api/tasks/{task.pk}/{action}/", body or {}, format=kw.pop("format", "json"), **kw)


def test_issue_makes_one_task_per_recipient_with_clocks_by_colour(coded, directive):
    tasks = Task.objects.filter(carried__directive=directive).order_by("org__path")
    assert [t.org for t in tasks] == [coded.station_a1, coded.station_b1]
    t = tasks[0]
    assert t.state == "issued" and t.version == 1 and t.colour == "red"
    assert t.actions == ["加密巡逻", "排查隐患"]
    # Red: sign within 10 minutes, report within 24 hours (settings.DIRECTIVE_CLOCKS).
    assert t.sign_due_at == directive.issued_at + timedelta(minutes=10)
    assert t.report_due_at == directive.issued_at + timedelta(hours=24)
    kinds = sorted(clocks.open_for(t).values_list("kind", flat=True))
    assert kinds == ["intel.task.report", "intel.task.sign"]
    assert [(x.from_state, x.to_state, x.event) for x in TaskTransition.objects.filter(subject=t)] == [
        ("", "issued", "issue")
    ]


def test_the_whole_way_to_approval(coded, task):
    station = api_as(coded.station_a1_officer)
    r = post(station, task, "sign")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["state"] == "signed" and body["version"] == 2 and body["signed_by"]["username"] == "station1"
    assert body["allowed"] == ["start"]
    assert not clocks.open_for(task).filter(kind="intel.task.sign").exists()  # met
    assert post(station, task, "start").json()["state"] == "in_progress"
    r = post(station, task, "report", {"text": "已加密巡逻", "checklist": answers(task)})
    assert r.status_code == 200, r.content
    assert r.json()["state"] == "reported" and r.json()["allowed"] == ["approve", "return"]
    assert r.json()["reports"][0]["checklist"] == answers(task)
    assert not clocks.open_for(task).exists()  # the report clock met
    r = post(api_as(coded.supervisor), task, "approve", {"note": "落实到位"})
    assert r.status_code == 200 and r.json()["state"] == "approved" and r.json()["version"] == 5
    assert r.json()["approved_by"]["username"] == "supervisor"
    assert TaskReport.objects.get(task=task).decision == "approved"
    events = list(TaskTransition.objects.filter(subject=task).values_list("event", flat=True))
    assert events == ["issue", "sign", "start", "report", "approve"]


def test_a_return_sends_the_task_back_with_the_reason_and_counts_the_rework(coded, task):
    walk_to_reported(coded, task)
    supervisor = api_as(coded.supervisor)
    assert post(supervisor, task, "return").status_code == 400  # a reason is required
    assert post(supervisor, task, "return", {"reason": "  "}).status_code == 400
    r = post(supervisor, task, "return", {"reason": "缺少巡逻轨迹"})
    assert r.status_code == 200
    body = r.json()
    assert body["state"] == "returned" and body["rework_count"] == 1 and body["last_return_reason"] == "缺少巡逻轨迹"
    assert body["reports"][0]["decision"] == "returned" and body["reports"][0]["reason"] == "缺少巡逻轨迹"
    assert body["allowed"] == ["start"]
    # A new report clock for the rework.
    assert clocks.open_for(task).filter(kind="intel.task.report").exists()
    station = api_as(coded.station_a1_officer)
    assert post(station, task, "start").json()["state"] == "in_progress"
    t = Task.objects.get(pk=task.pk)
    r = post(station, task, "report", {"text": "补充巡逻轨迹", "checklist": answers(t)})
    assert r.json()["state"] == "reported" and len(r.json()["reports"]) == 2
    post(supervisor, task, "return", {"reason": "仍不完整"})
    assert Task.objects.get(pk=task.pk).rework_count == 2


# Every station and reviewer action from every state: allowed → 200, refused → 409 with what is allowed.
ACTIONS: dict[str, tuple[str, Any]] = {
    "sign": ("station", None),
    "start": ("station", None),
    "report": ("station", "report"),
    "approve": ("supervisor", None),
    "return": ("supervisor", {"reason": "再核实"}),
}
PATHS = {
    "issued": [],
    "signed": ["sign"],
    "in_progress": ["sign", "start"],
    "reported": ["sign", "start", "report"],
    "returned": ["sign", "start", "report", "return"],
    "approved": ["sign", "start", "report", "approve"],
}
ALLOWED = {
    "issued": ["sign"],
    "signed": ["start"],
    "in_progress": ["report"],
    "reported": ["approve", "return"],
    "returned": ["start"],
    "approved": [],
}


@pytest.mark.parametrize("state", list(PATHS))
@pytest.mark.parametrize("action", list(ACTIONS))
def test_every_action_from_every_state(coded, task, state, action):
    clients = {"station": api_as(coded.station_a1_officer), "supervisor": api_as(coded.supervisor)}

    def do(name):
        who, body = ACTIONS[name]
        if body == "report":
            body = {"text": "已落实", "checklist": answers(Task.objects.get(pk=task.pk))}
        return post(clients[who], task, name, body)

    for step in PATHS[state]:
        assert do(step).status_code == 200, step
    assert Task.objects.get(pk=task.pk).state == state
    r = do(action)
    if action in ALLOWED[state]:
        assert r.status_code == 200, r.content
    else:
        assert r.status_code == 409, r.content
        assert r.json()["state"] == state and r.json()["allowed"] == ALLOWED[state]


def test_a_withdrawn_task_refuses_everything(coded, directive, task):
    api_as(coded.analyst).post(f"/api/directives/{directive.pk}/withdraw/", {"reason": "情况变化"}, format="json")
    assert Task.objects.get(pk=task.pk).state == "withdrawn"
    r = post(api_as(coded.station_a1_officer), task, "sign")
    assert r.status_code == 409 and r.json() == {**r.json(), "state": "withdrawn", "allowed": []}


def test_who_may_act(coded, task):
    # Another station does not see the task at all.
    assert post(api_as(coded.station_b1_officer), task, "sign").status_code == 404
    # The county above sees it, but signing is the station's own act.
    assert post(api_as(coded.county_a_duty), task, "sign").status_code == 403
    # The analyst who issued it sees it and may not sign it either.
    assert post(api_as(coded.analyst), task, "sign").status_code == 403
    # A second officer of the station may.
    other = make_person("station1b", coded.station_a1, Role.STATION_OFFICER)
    assert post(api_as(other), task, "sign").status_code == 200
    api_as(other).post(f"/api/tasks/{task.pk}/start/", {}, format="json")
    api_as(other).post(f"/api/tasks/{task.pk}/report/", {"text": "x", "checklist": answers(task)}, format="json")
    # Reviewing is the supervisors'.
    assert post(api_as(coded.station_a1_officer), task, "approve").status_code == 403
    assert post(api_as(coded.analyst), task, "approve").status_code == 403
    assert post(api_as(coded.supervisor), task, "approve").status_code == 200


def test_the_report_answers_every_action_once(coded, task):
    station = api_as(coded.station_a1_officer)
    post(station, task, "sign")
    post(station, task, "start")
    bad = [
        ({"checklist": answers(task)}, "text"),  # no text
        ({"text": "x"}, "checklist"),  # no answers
        ({"text": "x", "checklist": answers(task)[:1]}, "checklist"),  # one missing
        ({"text": "x", "checklist": [*answers(task), {"action": "别的", "done": True}]}, "checklist"),
        ({"text": "x", "checklist": [{"action": "加密巡逻", "done": "yes"}, answers(task)[1]]}, "checklist"),
        ({"text": "x", "checklist": [*answers(task), answers(task)[0]]}, "checklist"),  # twice
        ({"text": "x", "checklist": "not json"}, "checklist"),
        ({"text": "x", "checklist": answers(task), "extra": 1}, "extra"),
    ]
    for body, field in bad:
        r = post(station, task, "report", body)
        assert r.status_code == 400 and field in r.json(), (body, r.content)
    assert Task.objects.get(pk=task.pk).state == "in_progress"
    notes = [{"action": "加密巡逻", "done": True, "note": "每晚两轮"}, {"action": "排查隐患", "done": False}]
    r = post(station, task, "report", {"text": "部分完成", "checklist": notes})
    assert r.status_code == 200
    assert r.json()["reports"][0]["checklist"] == [
        {"action": "加密巡逻", "done": True, "note": "每晚两轮"},
        {"action": "排查隐患", "done": False, "note": ""},
    ]


def test_every_move_is_pushed_to_the_station_and_the_issuer(coded, task):
    with capture_broadcasts() as sent:
        api_as(coded.station_a1_officer).post(f"/api/tasks/{task.pk}/sign/", {}, format="json")
    groups = sorted(m["group"] for m in sent)
    # The station's lineage (city, county A, station A1); the issuer (the city) is in it: each group once.
    assert groups == sorted(f"org.{o.pk}" for o in (coded.city, coded.county_a, coded.station_a1))
    assert {m["event"] for m in sent} == {"task.signed"}
    data = sent[0]["data"]
    assert data["id"] == task.pk and data["state"] == "signed" and data["version"] == 2


def test_a_county_issuer_hears_its_tasks_too(coded):
    d = issue(coded, coded.station_a1, actor=coded.county_a_duty)
    t = task_of(d, coded.station_a1)
    with capture_broadcasts() as sent:
        api_as(coded.station_a1_officer).post(f"/api/tasks/{t.pk}/sign/", {}, format="json")
    assert sorted(m["group"] for m in sent) == sorted(
        f"org.{o.pk}" for o in (coded.city, coded.county_a, coded.station_a1)
    )


def test_the_inbox_is_scoped_and_filtered(coded, directive):
    other = issue(coded, coded.station_b1)
    a1 = api_as(coded.station_a1_officer).get("/api/tasks/").json()
    assert [t["org"] for t in a1["results"]] == [coded.station_a1.pk]
    b1 = api_as(coded.station_b1_officer).get("/api/tasks/").json()
    assert sorted(t["directives"][0]["id"] for t in b1["results"]) == sorted([directive.pk, other.pk])
    city = api_as(coded.duty).get("/api/tasks/", {"directive": directive.pk}).json()
    assert city["count"] == 2
    county = api_as(coded.county_a_duty).get("/api/tasks/").json()
    assert [t["org"] for t in county["results"]] == [coded.station_a1.pk]
    t = task_of(directive, coded.station_a1)
    assert api_as(coded.station_a1_officer).get("/api/tasks/", {"state": "signed"}).json()["count"] == 0
    api_as(coded.station_a1_officer).post(f"/api/tasks/{t.pk}/sign/", {}, format="json")
    assert api_as(coded.station_a1_officer).get("/api/tasks/", {"state": "signed"}).json()["count"] == 1
    assert api_as(coded.station_b1_officer).get(f"/api/tasks/{t.pk}/").status_code == 404
    assert api_as(coded.partner_agent).get("/api/tasks/").json()["count"] == 0


def test_the_overdue_filter_and_field(coded, task):
    station = api_as(coded.station_a1_officer)
    assert station.get("/api/tasks/", {"overdue": "true"}).json()["count"] == 0
    clocks.sweep(now=timezone.now() + timedelta(minutes=11))
    rows = station.get("/api/tasks/", {"overdue": "true"}).json()["results"]
    assert [r["id"] for r in rows] == [task.pk] and rows[0]["overdue"] == ["intel.task.sign"]
    assert station.get("/api/tasks/", {"overdue": "false"}).json()["count"] == 0
    post(station, task, "sign")  # met late: no longer overdue
    assert station.get("/api/tasks/", {"overdue": "true"}).json()["count"] == 0


def test_the_task_detail_carries_the_directive_and_timeline(coded, directive, task):
    body = api_as(coded.station_a1_officer).get(f"/api/tasks/{task.pk}/").json()
    assert body["directives"][0]["id"] == directive.pk
    assert body["directives"][0]["content"] == directive.content
    assert body["directives"][0]["actions"] == directive.actions
    assert [e["event"] for e in body["timeline"]] == ["issue"]
    assert body["allowed"] == ["sign"]
    assert Directive.objects.get(pk=directive.pk).state == "issued"
