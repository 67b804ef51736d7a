"""The kernel's after-commit hooks (command_center/hooks.py), by which incidents tells the loop about a
dissatisfied callback without importing it: listeners run after commit, never on a rollback, each in its own
transaction; a failing listener is logged and cannot undo what was committed."""

import pytest
from django.db import transaction

from command_center import hooks
from incidents.models import Incident
from intel import services
from intel.models import Directive, Task
from tests.conftest import build_world

from .conftest import answers, api_as, callback, closed_incident


@pytest.fixture
def heard():
    calls: list[dict] = []

    def listener(**kwargs):
        calls.append(kwargs)

    hooks.listen("test.event", listener)
    hooks.listen("test.event", listener)  # listening twice is listening once
    yield calls
    hooks._listeners.pop("test.event", None)


def test_the_loop_listens_for_dissatisfied_callbacks():
    assert services.rectification_open in hooks.listeners(hooks.INCIDENT_DISSATISFIED)


def test_listeners_run_after_commit_only(db, heard, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        hooks.emit_on_commit("test.event", x=1)
        assert heard == []  # not before the commit
    assert heard == [{"x": 1}]
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        hooks.emit_on_commit("test.event", x=2)
        raise RuntimeError("rolled back")
    assert heard == [{"x": 1}]


def test_a_failing_listener_is_logged_and_the_others_still_run(db, heard, django_capture_on_commit_callbacks, caplog):
    def broken(**kwargs):
        raise ValueError("boom")

    hooks._listeners["test.event"].insert(0, broken)
    with django_capture_on_commit_callbacks(execute=True):
        hooks.emit_on_commit("test.event", x=3)
    assert heard == [{"x": 3}]
    assert "listener" in caplog.text and "boom" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_a_real_commit_opens_the_rectification_and_the_station_closes_it():
    from command_center import codes

    w = build_world()
    codes.load_defaults()
    incident = closed_incident(w)
    assert callback(w, incident, "dissatisfied").status_code == 201  # the request's transaction commits
    d = Directive.objects.get(incident=incident, source="rectification")
    t = Task.objects.get(carried__directive=d)
    assert t.org == w.station_a1
    station = api_as(w.station_a1_officer)
    station.post(f"/api/tasks/{t.pk}/sign/", {}, format="json")
    station.post(f"/api/tasks/{t.pk}/start/", {}, format="json")
    r = station.post(f"/api/tasks/{t.pk}/report/", {"text": "已回访致歉", "checklist": answers(t)}, format="json")
    assert r.status_code == 200
    assert api_as(w.supervisor).post(f"/api/tasks/{t.pk}/approve/", {}, format="json").status_code == 200
    assert Directive.objects.get(pk=d.pk).state == "closed"
    done = Incident.objects.get(pk=incident.pk)
    assert not done.needs_rectification  # the mark comes off; the complaint stays on record:
    assert done.callback.satisfaction == "dissatisfied"
    assert done.transitions.filter(event="rectified").count() == 1
