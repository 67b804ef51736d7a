"""The supervisors' review queue and the overdue list, scoped."""

from datetime import timedelta

from command_center import clocks
from command_center.models import Role
from intel.models import Directive
from tests.conftest import capture_broadcasts
from tests.factories import make_person
from tests.intel.conftest import api_as, callback, closed_incident, issue, task_of, walk_to_reported


def test_the_review_queue_holds_reported_tasks_oldest_first(coded, red):
    b1 = walk_to_reported(coded, task_of(red, coded.station_b1), officer=coded.station_b1_officer)
    a1 = walk_to_reported(coded, task_of(red, coded.station_a1))
    other = task_of(issue(coded, coded.station_a1), coded.station_a1)  # issued, not reported
    queue = api_as(coded.supervisor).get("/api/review/").json()
    assert queue["tasks"]["count"] == 2
    assert [t["id"] for t in queue["tasks"]["results"]] == [b1.pk, a1.pk]
    assert other.pk not in [t["id"] for t in queue["tasks"]["results"]]
    county = make_person("county_a_supervisor", coded.county_a, Role.SUPERVISOR)
    assert [t["id"] for t in api_as(county).get("/api/review/").json()["tasks"]["results"]] == [a1.pk]
    api_as(coded.supervisor).post(f"/api/tasks/{a1.pk}/approve/", {}, format="json")
    assert api_as(county).get("/api/review/").json()["tasks"]["count"] == 0
    assert api_as(coded.supervisor).get("/api/review/", {"limit": "0"}).status_code == 400


def test_the_review_queue_lists_closed_incidents_marked_for_rectification(coded):
    incident = closed_incident(coded)
    with capture_broadcasts():
        callback(coded, incident, "dissatisfied")
    rows = api_as(coded.supervisor).get("/api/review/").json()["incidents"]["results"]
    d = Directive.objects.get(incident=incident)
    assert rows == [
        {
            "id": incident.pk,
            "number": incident.number,
            "address": incident.address,
            "category": "020500",
            "category_name": incident.category.name,
            "org": coded.station_a1.pk,
            "org_name": "东湖派出所",
            "closed_at": rows[0]["closed_at"],
            "rectification": {"directive": d.pk, "state": "issued"},
        }
    ]
    assert api_as(coded.station_b1_officer).get("/api/review/").json()["incidents"]["count"] == 0


def test_the_overdue_list_by_org_and_kind(coded, red):
    clocks.sweep(now=red.issued_at + timedelta(minutes=11))
    city = api_as(coded.duty).get("/api/overdue/").json()
    assert city["count"] == 2
    assert [(g["org_name"], g["kind"], g["label"], g["count"]) for g in city["groups"]] == [
        ("东湖派出所", "intel.task.sign", "签收指令", 1),
        ("西溪派出所", "intel.task.sign", "签收指令", 1),
    ]
    item = city["results"][0]
    subject = item["subject"]
    assert subject["type"] == "intel.task" and subject["title"] == "湖滨商圈安保"
    assert subject["org_name"] in ("东湖派出所", "西溪派出所") and subject["url"] == f"/intel/directives/{red.pk}/"
    b1 = api_as(coded.station_b1_officer).get("/api/overdue/").json()
    assert [g["org"] for g in b1["groups"]] == [coded.station_b1.pk] and b1["count"] == 1
    assert api_as(coded.duty).get("/api/overdue/", {"org": coded.county_a.pk}).json()["count"] == 1
    assert api_as(coded.duty).get("/api/overdue/", {"kind": "dispatch."}).json()["count"] == 0
    assert api_as(coded.duty).get("/api/overdue/", {"org": "x"}).status_code == 400
    # Signed late: met, no longer overdue.
    api_as(coded.station_b1_officer).post(f"/api/tasks/{task_of(red, coded.station_b1).pk}/sign/", {}, format="json")
    assert api_as(coded.duty).get("/api/overdue/").json()["count"] == 1


def test_the_overdue_list_names_an_order_by_its_incident_unit_and_address(coded):
    """Not "dispatchorder #23": the incident's number, the unit and the address, the station, a link."""
    from dispatch import services as dispatch_services
    from dispatch.models import DispatchOrder
    from tests.dispatch.conftest import make_incident, make_unit

    incident = make_incident(coded)
    car = make_unit(coded.station_a1, call_sign="东湖3号车")
    order = dispatch_services.order_dispatch(incident_id=incident.pk, actor=coded.duty, unit_id=car.pk)
    clocks.sweep(now=order.sent_at + timedelta(minutes=1))  # the sign clock (30 s) broke
    rows = api_as(coded.supervisor).get("/api/overdue/", {"kind": "dispatch.sign"}).json()["results"]
    (row,) = rows
    assert row["subject"] == {
        "type": "dispatch.dispatchorder",
        "id": order.pk,
        "title": incident.number,
        "detail": "东湖3号车 · 东湖路12号",
        "org_name": "东湖派出所",
        "url": f"/incidents/{incident.pk}/",
        "incident": incident.pk,
    }
    assert DispatchOrder.objects.get(pk=order.pk).state == "sent"
