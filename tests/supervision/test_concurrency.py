"""Races between real threads on separate database connections: two sweepers on the same due deadlines
(exactly one reminder per breach, exactly one push per reminder and group), and two supervisors deciding
the same report (one wins, the other gets 409)."""

import threading
from collections import Counter
from datetime import timedelta
from functools import partial

import pytest

from command_center import clocks, codes, realtime
from command_center.models import Role
from intel import services
from intel.models import ClosureReport, Directive, Task, TaskTransition
from supervision.models import Reminder, SupervisionOrder
from tests.concurrency import parallel
from tests.conftest import build_world
from tests.factories import make_person
from tests.intel.conftest import api_as, task_of, walk_to_reported

N = 30


def _sweep(at, _k):
    return clocks.sweep(now=at, batch=3)


def _world():
    w = build_world()
    codes.load_defaults()
    return w


def _pushes_per_reminder(sent):
    """{reminder id: Counter(group)} of the reminder.created envelopes actually sent."""
    found: dict[int, Counter] = {}
    for m in sent:
        if m["event"] == "reminder.created":
            found.setdefault(m["data"]["id"], Counter())[m["group"]] += 1
    return found


@pytest.mark.django_db(transaction=True)
def test_two_sweepers_make_one_reminder_per_breach_and_one_push_per_reminder():
    w = _world()
    issued = []
    for k in range(N):
        station = (w.station_a1, w.station_b1)[k % 2]
        d = services.directive_issue(
            actor=w.analyst,
            data=services.DirectiveData(title=f"d{k}", content="c", recipients=[station], colour="red"),
        )
        issued.append(d)
    start = max(d.issued_at for d in issued)
    lineages = {
        w.station_a1.pk: {f"org.{o.pk}" for o in (w.city, w.county_a, w.station_a1)},
        w.station_b1.pk: {f"org.{o.pk}" for o in (w.city, w.county_b, w.station_b1)},
    }

    for phase, at, level in [
        ("reminders", start + timedelta(minutes=11), 1),
        ("督办", start + timedelta(minutes=42), 2),
    ]:
        with realtime.recording() as sent:
            counts = parallel(2, partial(_sweep, at))
        assert sum(counts) == N, phase  # every due deadline breached once, between the two
        reminders = list(Reminder.objects.filter(level=level))
        assert len(reminders) == N, phase
        assert len({r.deadline_id for r in reminders}) == N  # one per breach
        pushes = _pushes_per_reminder(sent)
        assert set(pushes) == {r.pk for r in reminders}, phase
        for r in reminders:
            assert pushes[r.pk] == Counter(lineages[r.recipient_id]), (phase, r.pk)  # each group exactly once
    assert SupervisionOrder.objects.count() == N
    assert Task.objects.filter(supervision_orders__level__rank=1).distinct().count() == N


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("second", ["approve", "return"])
def test_two_supervisors_decide_the_same_report_at_once_exactly_one_wins(second):
    w = _world()
    other = make_person("supervisor2", w.county_a, Role.SUPERVISOR)
    d = services.directive_issue(
        actor=w.analyst, data=services.DirectiveData(title="t", content="c", recipients=[w.station_a1], actions=["a"])
    )
    t = walk_to_reported(w, task_of(d, w.station_a1))
    calls = [
        (w.supervisor, "approve", {}),
        (other, second, {"reason": "再核实"} if second == "return" else {}),
    ]

    def decide(k):
        user, action, body = calls[k]
        r = api_as(user).post(f"/api/tasks/{t.pk}/{action}/", body, format="json")
        return r.status_code, r.json()

    results = parallel(2, decide)
    assert sorted(code for code, _ in results) == [200, 409]
    loser = next(body for code, body in results if code == 409)
    assert loser["state"] in ("approved", "returned") and loser["detail"]
    decided = TaskTransition.objects.filter(subject=t, event__in=["approve", "return"])
    assert decided.count() == 1
    final = Task.objects.get(pk=t.pk)
    assert final.state == loser["state"] and final.version == 5
    if final.state == "approved":
        assert Directive.objects.get(pk=d.pk).state == "closed"
        assert ClosureReport.objects.filter(directive=d).count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_sweep_reminds_about_a_task_a_supervisor_holds_locked():
    """A supervisor's service holds the task's lock (as task_approve does) while the sweep breaches its clock
    and writes the reminder that points at the task: the sweep must not wait for the supervisor, or the two
    deadlock when the service then cancels the task's clocks (rows the sweep holds)."""
    from django.db import transaction

    w = _world()
    d = services.directive_issue(
        actor=w.analyst, data=services.DirectiveData(title="t", content="c", recipients=[w.station_a1], colour="red")
    )
    t = task_of(d, w.station_a1)
    locked, swept = threading.Event(), threading.Event()
    seen: dict[str, bool] = {}

    def supervisor(k):
        with transaction.atomic():
            services._lock_task(t.pk)
            locked.set()
            seen["swept_while_locked"] = swept.wait(20)
            clocks.cancel(t)
        return "supervisor"

    def sweeper(k):
        assert locked.wait(20)
        n = clocks.sweep(now=d.issued_at + timedelta(minutes=11))
        swept.set()
        return n

    results = parallel(2, lambda k: supervisor(k) if k == 0 else sweeper(k))
    assert sorted(map(str, results)) == ["1", "supervisor"]
    assert seen["swept_while_locked"] is True
    assert Reminder.objects.filter(task=t).count() == 1
