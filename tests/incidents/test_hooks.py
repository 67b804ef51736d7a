"""What other apps tell an incident (incidents/hooks.py): the incident's table decides whether it moves."""

from incidents import hooks
from incidents.models import Incident
from tests.conftest import capture_broadcasts

from .conftest import call


def test_a_later_signature_or_arrival_leaves_the_incident_alone(duty_api, coded):
    pk = duty_api.post("/api/incidents/", call(), format="json").json()["id"]
    officer = coded.station_a1_officer
    hooks.incident_mark_dispatched(incident_id=pk, actor=coded.duty)
    assert hooks.incident_mark_responding(incident_id=pk, actor=officer).state == "responding"
    assert hooks.incident_mark_on_scene(incident_id=pk, actor=officer).state == "on_scene"
    before = Incident.objects.get(pk=pk)
    with capture_broadcasts() as pushes:
        assert hooks.incident_mark_responding(incident_id=pk, actor=officer).state == "on_scene"
        assert hooks.incident_mark_on_scene(incident_id=pk, actor=officer).state == "on_scene"
    after = Incident.objects.get(pk=pk)
    assert pushes == []
    assert (after.version, after.signed_at, after.arrived_at) == (before.version, before.signed_at, before.arrived_at)
    assert [t.event for t in after.transitions.all()] == ["intake", "dispatch", "respond", "arrive"]


def test_a_signature_on_an_incident_off_the_dispatch_path_changes_nothing(duty_api, coded):
    pk = duty_api.post("/api/incidents/", call(), format="json").json()["id"]
    duty_api.post(f"/api/incidents/{pk}/self-handle/", {}, format="json")
    i = hooks.incident_mark_responding(incident_id=pk, actor=coded.station_a1_officer)
    assert (i.state, i.version, i.signed_at) == ("self_handled", 2, None)
