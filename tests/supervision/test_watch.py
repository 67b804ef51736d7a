"""盯办: commanders put a task or an incident on their board until it closes."""

from command_center.models import Role
from incidents.models import Incident
from intel import services
from supervision.models import Watch
from tests.conftest import capture_broadcasts
from tests.factories import make_person
from tests.intel.conftest import api_as, task_of, walk_to_reported


def test_a_watched_task_shows_until_it_closes(coded, red):
    t = task_of(red, coded.station_a1)
    commander = api_as(coded.commander)
    with capture_broadcasts() as sent:
        r = commander.post("/api/watch/", {"task": t.pk, "note": "领导批示"}, format="json")
    assert r.status_code == 201, r.content
    w = r.json()
    assert w["task"]["id"] == t.pk and w["by"]["username"] == "commander" and w["by_org"] == coded.city.pk
    assert w["closed"] is False and w["note"] == "领导批示"
    assert [(m["group"], m["event"]) for m in sent] == [(f"org.{coded.city.pk}", "watch.added")]
    again = commander.post("/api/watch/", {"task": t.pk}, format="json")
    assert again.status_code == 200 and again.json()["id"] == w["id"]
    assert [x["id"] for x in commander.get("/api/watch/").json()["results"]] == [w["id"]]
    walk_to_reported(coded, t)
    services.task_approve(task_id=t.pk, actor=coded.supervisor)
    assert commander.get("/api/watch/").json()["count"] == 0  # closed: off the board
    rows = commander.get("/api/watch/", {"all": "true"}).json()["results"]
    assert [(x["id"], x["closed"]) for x in rows] == [(w["id"], True)]


def test_an_incident_on_the_watch_list_and_ending_a_watch(coded):
    duty = api_as(coded.duty)
    body = {"call_id": "W1", "address": "湖滨路1号", "category": "020500", "org": coded.station_a1.pk}
    incident = duty.post("/api/incidents/", body, format="json").json()
    commander = api_as(coded.commander)
    w = commander.post("/api/watch/", {"incident": incident["id"]}, format="json").json()
    assert w["incident"]["number"] == incident["number"]
    assert api_as(coded.station_a1_officer).delete(f"/api/watch/{w['id']}/").status_code == 404
    with capture_broadcasts() as sent:
        assert commander.delete(f"/api/watch/{w['id']}/").status_code == 204
    assert [m["event"] for m in sent] == ["watch.removed"]
    assert commander.get("/api/watch/").json()["count"] == 0
    assert Watch.objects.get(pk=w["id"]).ended_at is not None
    # Watching it again starts a new watch; an invalid incident leaves the board.
    w2 = commander.post("/api/watch/", {"incident": incident["id"]}, format="json").json()
    assert w2["id"] != w["id"]
    duty.post(f"/api/incidents/{incident['id']}/invalidate/", {"reason": "误拨"}, format="json")
    assert Incident.objects.get(pk=incident["id"]).state == "invalid"
    assert commander.get("/api/watch/").json()["count"] == 0


def test_only_commanders_watch_and_only_what_is_in_their_area(coded, red):
    t_b1 = task_of(red, coded.station_b1)
    for user in (coded.duty, coded.analyst, coded.supervisor, coded.station_b1_officer):
        assert api_as(user).post("/api/watch/", {"task": t_b1.pk}, format="json").status_code == 403, user
    county_commander = make_person("county_a_commander", coded.county_a, Role.COMMANDER)
    r = api_as(county_commander).post("/api/watch/", {"task": t_b1.pk}, format="json")
    assert r.status_code == 400 and "task" in r.json()
    t_a1 = task_of(red, coded.station_a1)
    assert api_as(county_commander).post("/api/watch/", {"task": t_a1.pk}, format="json").status_code == 201
    # The city's board sees its counties' watches; county B's people do not see county A's.
    assert api_as(coded.commander).get("/api/watch/").json()["count"] == 1
    assert api_as(coded.station_b1_officer).get("/api/watch/").json()["count"] == 0


def test_bad_input(coded, red):
    commander = api_as(coded.commander)
    r = commander.post("/api/watch/", {}, format="json")
    assert r.status_code == 400 and set(r.json()) == {"task", "incident"}
    t = task_of(red, coded.station_a1)
    r = commander.post("/api/watch/", {"task": t.pk, "incident": 1}, format="json")
    assert r.status_code == 400 and set(r.json()) == {"task", "incident"}
    r = commander.post("/api/watch/", {"task": t.pk, "until": "forever"}, format="json")
    assert r.status_code == 400 and set(r.json()) == {"until"}
    assert not Watch.objects.exists()
