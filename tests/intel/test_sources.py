"""Sources that open tasks by themselves: a dissatisfied callback opens a rectification (整改); a repeat
cluster put into the loop (挂账) is struck off (销号) when its task is approved."""

from django.utils import timezone

from command_center.models import Category
from incidents.models import RepeatCluster
from intel import services
from intel.models import Directive, Task
from tests.conftest import capture_broadcasts

from .conftest import api_as, callback, closed_incident, walk_to_reported


def test_a_dissatisfied_callback_opens_a_rectification_task(coded):
    incident = closed_incident(coded)
    with capture_broadcasts() as sent:  # runs the after-commit hook, as a real commit would
        assert callback(coded, incident, "dissatisfied").status_code == 201
    d = Directive.objects.get(incident=incident)
    assert d.source == "rectification" and d.issuer is None and d.issuer_org == coded.city
    assert d.title == f"整改：警情 {incident.number}"
    assert "民警一直没来" in d.content
    assert d.subject == f"rectification:incident:{incident.pk}"
    t = Task.objects.get(carried__directive=d)
    assert t.org == coded.station_a1 and t.state == "issued"
    assert t.actions == ["回访报警人，听取诉求", "查明处置不到位的原因", "落实整改措施", "再次回访并记录满意度"]
    assert {m["event"] for m in sent} >= {"incident.updated", "directive.issued", "task.issued"}
    assert f"org.{coded.station_a1.pk}" in {m["group"] for m in sent if m["event"] == "task.issued"}
    # The station sees it in its inbox; a second call of the hook changes nothing.
    assert api_as(coded.station_a1_officer).get("/api/tasks/").json()["results"][0]["id"] == t.pk
    assert services.rectification_open(incident_id=incident.pk) == d
    assert Directive.objects.filter(incident=incident).count() == 1


def test_a_satisfied_callback_opens_nothing(coded):
    incident = closed_incident(coded)
    with capture_broadcasts():
        assert callback(coded, incident, "satisfied").status_code == 201
    assert not Directive.objects.exists()
    assert services.rectification_open(incident_id=incident.pk) is None


def cluster(world, **over) -> RepeatCluster:
    now = timezone.now()
    values = {
        "kind": RepeatCluster.Kind.RECURRING,
        "theme": RepeatCluster.Theme.NOISE,
        "org": world.station_a1,
        "category": Category.objects.get(code="020500"),
        "address": "东湖路12号",
        "first_at": now,
        "last_at": now,
        "count": 4,
    }
    values.update(over)
    return RepeatCluster.objects.create(**values)


def test_a_repeat_cluster_is_governed_and_struck_off(coded):
    c = cluster(coded)
    with capture_broadcasts() as sent:
        r = api_as(coded.analyst).post(f"/api/clusters/{c.pk}/govern/", {"colour": "blue"}, format="json")
    assert r.status_code == 201, r.content
    d = r.json()
    assert d["source"] == "repeat_governance" and d["cluster"] == c.pk and d["colour"] == "blue"
    assert d["subject"] == f"cluster:{c.pk}" and [x["id"] for x in d["recipients"]] == [coded.station_a1.pk]
    assert "东湖路12号" in d["title"]
    assert RepeatCluster.objects.get(pk=c.pk).status == "governed"
    assert any(m["event"] == "repeat.cluster" and m["data"]["status"] == "governed" for m in sent)
    # Governing it again: the cluster is no longer open.
    again = api_as(coded.analyst).post(f"/api/clusters/{c.pk}/govern/", {}, format="json")
    assert again.status_code == 409 and again.json()["state"] == "governed"
    t = Task.objects.get(pk=d["progress"][0]["task"])
    walk_to_reported(coded, t)
    r = api_as(coded.supervisor).post(f"/api/tasks/{t.pk}/approve/", {}, format="json")
    assert r.status_code == 200
    assert RepeatCluster.objects.get(pk=c.pk).status == "struck_off"
    assert Directive.objects.get(pk=d["id"]).state == "closed"


def test_a_withdrawn_governance_reopens_the_cluster(coded):
    c = cluster(coded)
    d = api_as(coded.analyst).post(f"/api/clusters/{c.pk}/govern/", {}, format="json").json()
    api_as(coded.analyst).post(f"/api/directives/{d['id']}/withdraw/", {}, format="json")
    assert RepeatCluster.objects.get(pk=c.pk).status == "open"


def test_who_may_govern_a_cluster(coded):
    c = cluster(coded)
    assert api_as(coded.station_b1_officer).post(f"/api/clusters/{c.pk}/govern/", {}).status_code == 404
    assert api_as(coded.station_a1_officer).post(f"/api/clusters/{c.pk}/govern/", {}).status_code == 403
    assert api_as(coded.supervisor).post(f"/api/clusters/{c.pk}/govern/", {}).status_code == 403
    r = api_as(coded.analyst).post(f"/api/clusters/{c.pk}/govern/", {"colour": "pink"}, format="json")
    assert r.status_code == 400 and set(r.json()) == {"colour"}
    r = api_as(coded.analyst).post(f"/api/clusters/{c.pk}/govern/", {"x": 1}, format="json")
    assert r.status_code == 400 and set(r.json()) == {"x"}
    assert RepeatCluster.objects.get(pk=c.pk).status == "open"
    assert api_as(coded.county_a_duty).post(f"/api/clusters/{c.pk}/govern/", {}, format="json").status_code == 201
