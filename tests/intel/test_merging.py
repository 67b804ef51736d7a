"""Admission and merging (准入/整合): directives of one subject to one station meet in one open task, so the
station is never handed the same thing twice; the task's approval counts for each of them."""

from datetime import timedelta

import pytest

from command_center import clocks, codes
from intel import services
from intel.models import Directive, Task, TaskDirective, TaskTransition
from tests.concurrency import parallel
from tests.conftest import build_world, capture_broadcasts

from .conftest import api_as, issue, task_of, walk_to_reported


def test_the_same_subject_to_the_same_station_is_one_task(coded):
    first = issue(coded, coded.station_a1, coded.station_b1, subject="ebike-theft", actions=["加密巡逻"])
    second = issue(
        coded,
        coded.station_a1,
        subject="ebike-theft",
        actor=coded.county_a_duty,
        colour="red",
        actions=["加密巡逻", "排查车棚"],
    )
    a1 = Task.objects.filter(org=coded.station_a1)
    assert a1.count() == 1
    t = a1.get()
    assert sorted(t.directives.values_list("pk", flat=True)) == [first.pk, second.pk]
    assert t.actions == ["加密巡逻", "排查车棚"]  # the union, in order, no repeats
    assert t.colour == "red"  # the more severe
    assert t.version == 2
    assert TaskDirective.objects.get(task=t, directive=second).merged
    assert [x.event for x in TaskTransition.objects.filter(subject=t)] == ["issue", "merge"]
    # Red's tighter sign clock replaced the yellow one.
    assert t.sign_due_at == second.issued_at + timedelta(minutes=10)
    assert clocks.open_for(t).get(kind="intel.task.sign").due_at == t.sign_due_at
    assert clocks.open_for(t).filter(kind="intel.task.sign").count() == 1
    # Station B1 has its own task, untouched.
    assert Task.objects.get(org=coded.station_b1).directives.get() == first
    # Both directives list the one task in their progress.
    for d in (first, second):
        detail = api_as(coded.duty).get(f"/api/directives/{d.pk}/").json()
        assert t.pk in [p["task"] for p in detail["progress"]]


def test_a_merge_is_pushed_to_the_station_and_both_issuers(coded):
    issue(coded, coded.station_a1, subject="s")
    with capture_broadcasts() as sent:
        issue(coded, coded.station_a1, subject="s", actor=coded.county_a_duty)
    merged = [m for m in sent if m["event"] == "task.merged"]
    assert sorted(m["group"] for m in merged) == sorted(
        f"org.{o.pk}" for o in (coded.city, coded.county_a, coded.station_a1)
    )
    assert len(merged[0]["data"]["directives"]) == 2


def test_no_subject_or_another_subject_is_another_task(coded):
    issue(coded, coded.station_a1)
    issue(coded, coded.station_a1)
    issue(coded, coded.station_a1, subject="a")
    issue(coded, coded.station_a1, subject="b")
    assert Task.objects.filter(org=coded.station_a1).count() == 4


def test_approval_counts_for_every_directive_it_carries(coded):
    first = issue(coded, coded.station_a1, subject="s")
    second = issue(coded, coded.station_a1, coded.station_b1, subject="s")
    t = walk_to_reported(coded, task_of(first, coded.station_a1))
    services.task_approve(task_id=t.pk, actor=coded.supervisor)
    assert Directive.objects.get(pk=first.pk).state == "closed"  # its only task
    assert Directive.objects.get(pk=second.pk).state == "issued"  # station B1 still owes its part
    b1 = walk_to_reported(coded, task_of(second, coded.station_b1), officer=coded.station_b1_officer)
    services.task_approve(task_id=b1.pk, actor=coded.supervisor)
    assert Directive.objects.get(pk=second.pk).state == "closed"
    t.refresh_from_db()
    stamps = list(TaskDirective.objects.filter(task=t).values_list("approved_at", flat=True))
    assert stamps == [t.approved_at, t.approved_at]  # one approval, counted for both directives


def test_a_closed_task_takes_no_more_merges(coded):
    first = issue(coded, coded.station_a1, subject="s")
    t = walk_to_reported(coded, task_of(first, coded.station_a1))
    services.task_approve(task_id=t.pk, actor=coded.supervisor)
    again = issue(coded, coded.station_a1, subject="s")
    fresh = task_of(again, coded.station_a1)
    assert fresh.pk != t.pk and fresh.state == "issued"


def test_withdrawing_one_of_two_directives_keeps_the_task(coded):
    first = issue(coded, coded.station_a1, subject="s")
    second = issue(coded, coded.station_a1, subject="s")
    t = task_of(first, coded.station_a1)
    services.directive_withdraw(directive_id=first.pk, actor=coded.analyst)
    t.refresh_from_db()
    assert t.state == "issued"
    detail = api_as(coded.station_a1_officer).get(f"/api/tasks/{t.pk}/").json()
    assert [d["id"] for d in detail["directives"]] == [second.pk]
    services.directive_withdraw(directive_id=second.pk, actor=coded.analyst)
    t.refresh_from_db()
    assert t.state == "withdrawn" and not clocks.open_for(t).exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_", range(3))
def test_two_directives_of_one_subject_issued_at_once_make_one_task(round_):
    w = build_world()
    codes.load_defaults()
    users = [w.analyst, w.county_a_duty]

    def send(k):
        r = api_as(users[k]).post(
            "/api/directives/",
            {
                "title": f"t{k}",
                "content": "c",
                "recipients": [w.station_a1.pk],
                "subject": "same",
                "actions": [f"a{k}"],
            },
            format="json",
        )
        return r.status_code

    assert parallel(2, send) == [201, 201]
    t = Task.objects.get(org=w.station_a1)
    assert t.directives.count() == 2 and sorted(t.actions) == ["a0", "a1"]
    assert [x.event for x in TaskTransition.objects.filter(subject=t)] == ["issue", "merge"]
