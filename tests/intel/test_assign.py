"""A task handed to who carries it (社区民警): task_assign's rules, log, push and the API."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied

from command_center.models import Role
from command_center.transitions import InvalidTransition
from intel import services
from intel.models import Task
from tests.conftest import capture_broadcasts
from tests.factories import make_person

from .conftest import api_as, issue, task_of

pytestmark = pytest.mark.django_db


def test_a_station_hands_its_task_to_its_community_officer(coded: Any) -> None:
    w = coded
    beat = make_person("beat", w.community_a1, Role.STATION_OFFICER).person
    t = task_of(issue(w, w.station_a1), w.station_a1)
    with capture_broadcasts() as sent:
        res = api_as(w.station_a1_officer).post(f"/api/tasks/{t.pk}/assign/", {"assignee": beat.pk}, format="json")
    assert res.status_code == 200, res.data
    assert res.data["assignee"] == {"id": beat.pk, "name": "beat"}
    t.refresh_from_db()
    assert (t.assignee, t.state, t.version) == (beat, Task.State.ISSUED, 2)
    log = t.transitions.get(event="assign")
    assert (log.from_state, log.to_state, log.reason, log.actor) == ("issued", "issued", "beat", w.station_a1_officer)
    pushed = [s for s in sent if s["event"] == "task.assigned"]
    assert pushed and pushed[0]["data"]["assignee"] == {"id": beat.pk, "name": "beat"}
    # The station inbox's list shows it.
    rows = api_as(w.station_a1_officer).get("/api/tasks/").data["results"]
    assert [r["assignee"] for r in rows if r["id"] == t.pk] == [{"id": beat.pk, "name": "beat"}]


def test_the_assignee_belongs_to_the_tasks_org_or_a_community_under_it(coded: Any) -> None:
    w = coded
    t = task_of(issue(w, w.station_a1), w.station_a1)
    elsewhere = make_person("elsewhere", w.station_a2, Role.STATION_OFFICER).person
    res = api_as(w.commander).post(f"/api/tasks/{t.pk}/assign/", {"assignee": elsewhere.pk}, format="json")
    assert res.status_code == 400 and "assignee" in res.data
    # Outside the caller's area: not found, as any id B cannot see.
    res = api_as(w.station_a1_officer).post(f"/api/tasks/{t.pk}/assign/", {"assignee": elsewhere.pk}, format="json")
    assert res.status_code == 400 and "assignee" in res.data
    assert Task.objects.get(pk=t.pk).assignee is None
    # Another station's officer may not assign A's task; an analyst has no such role.
    with pytest.raises(PermissionDenied):
        services.task_assign(task_id=t.pk, actor=w.station_b1_officer, assignee=None)
    with pytest.raises(PermissionDenied):
        services.task_assign(task_id=t.pk, actor=w.analyst, assignee=w.station_a1_officer.person)


def test_a_finished_task_is_not_assigned(coded: Any) -> None:
    w = coded
    d = issue(w, w.station_a1)
    t = task_of(d, w.station_a1)
    services.directive_withdraw(directive_id=d.pk, actor=w.analyst, reason="撤回")
    with pytest.raises(InvalidTransition):
        services.task_assign(task_id=t.pk, actor=w.station_a1_officer, assignee=w.station_a1_officer.person)
