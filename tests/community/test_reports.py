"""A volunteer's report through the API, its triage (four outcomes), points, the triage clock, and scope."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from command_center import clocks
from command_center.models import Deadline
from community import selectors, services
from community.models import PointsEntry, PointsRule, ReportPhoto, Volunteer, VolunteerReport
from incidents.models import Incident, Source
from intel.models import Task
from tests.conftest import capture_broadcasts

from .conftest import api_as, png, submit

pytestmark = pytest.mark.django_db

URL = "/api/community/reports/"


def _post(world: Any, **fields: Any) -> Any:
    body = {"kind": "hazard", "category": "fire_hazard", "text": "楼道里有人给电动车充电", **fields}
    return api_as(world.volunteer).post(URL, body, format="multipart")


def test_a_volunteer_reports_a_hazard_with_a_photo_and_gps(coded: Any) -> None:
    with capture_broadcasts() as sent:
        res = _post(coded, lat="30.27", lon="120.15", accuracy_m="12", located_by="gps", photos=[png()])
    assert res.status_code == 201, res.data
    r = VolunteerReport.objects.get()
    assert (r.state, r.org, r.community, r.located_by, r.accuracy_m) == (
        "submitted",
        coded.station_a1,
        coded.community_a1,
        "gps",
        12.0,
    )
    assert res.data["photos"] == [f"/api/community/photos/{r.photos.get().pk}/"]
    # The triage clock runs at the station, due after the category's time (data: 30 min for a fire hazard).
    d = Deadline.objects.get(kind=services.CLOCK_TRIAGE)
    assert d.org == coded.station_a1 and d.due_at == r.triage_due_at
    assert round((d.due_at - r.submitted_at).total_seconds()) == 1800
    # One point for sending, in the ledger and the total.
    assert Volunteer.objects.get().points == 1
    assert list(PointsEntry.objects.values_list("event", "points")) == [("submitted", 1)]
    # The station (and the desks above it) hear of it; the volunteer's community does not.
    groups = {s["group"] for s in sent if s["event"] == "community.report.submitted"}
    assert f"org.{coded.station_a1.pk}" in groups and f"org.{coded.community_a1.pk}" not in groups


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"category": "crime_clue"}, "category"),  # a clue's category on a hazard
        ({"text": "   "}, "text"),
        ({"lat": "30.2"}, "lat"),
        ({"lat": "30.2", "lon": "120.1"}, "located_by"),
        ({"lat": "95", "lon": "120.1", "located_by": "gps"}, "lat"),
        ({"photos": [SimpleUploadedFile("x.png", b"not a png at all", content_type="image/png")]}, "photos"),
        ({"photos": [SimpleUploadedFile("x.pdf", b"%PDF-1.4\n000", content_type="application/pdf")]}, "photos"),
        ({"photos": [png(f"p{i}.png") for i in range(5)]}, "photos"),
    ],
)
def test_a_bad_report_is_refused_on_its_field_and_stores_nothing(coded: Any, fields: Any, field: str) -> None:
    res = _post(coded, **fields)
    assert res.status_code == 400 and field in res.data, res.data
    assert not VolunteerReport.objects.exists() and not ReportPhoto.objects.exists()
    assert Volunteer.objects.get().points == 0


def test_only_a_registered_volunteer_reports(coded: Any) -> None:
    res = api_as(coded.station_a1_officer).post(
        URL, {"kind": "hazard", "category": "fire_hazard", "text": "x"}, format="multipart"
    )
    assert res.status_code == 400 and "volunteer" in res.data


def test_the_volunteer_sees_only_their_own_reports_and_the_outcome(coded: Any) -> None:
    mine = submit(coded)
    other_v = Volunteer.objects.create(
        person=_person(coded, "volunteer_b", coded.station_b1), station=coded.station_b1, phone="1"
    )
    other = services.report_submit(
        actor=other_v.person.user, data=services.ReportData(kind="clue", category="crime_clue", text="线索")
    )
    res = api_as(coded.volunteer).get(URL)
    assert [r["id"] for r in res.data["results"]] == [mine.pk]
    # Nothing of the police's in the volunteer's row: no incident, no directive, no phone.
    assert "incident" not in res.data["results"][0] and "volunteer" not in res.data["results"][0]
    assert api_as(coded.volunteer).get(f"{URL}{other.pk}/").status_code == 404
    services.report_close(report_id=mine.pk, actor=coded.station_a1_officer, reason="已核实，无隐患")
    row = api_as(coded.volunteer).get(f"{URL}{mine.pk}/").data
    assert (row["state"], row["reason"]) == ("closed", "已核实，无隐患")


def _person(world: Any, username: str, station: Any) -> Any:
    from command_center.models import Org, Role
    from tests.factories import make_org, make_person

    community = make_org(station, name=f"{station.name}社区", level=Org.Level.COMMUNITY)
    return make_person(username, community, Role.VOLUNTEER).person


def test_make_an_incident_links_both_ways_and_gives_points(coded: Any) -> None:
    r = submit(coded, lat=30.27, lon=120.15, located_by="map", address="东湖小区3号楼")
    res = api_as(coded.station_a1_officer).post(f"{URL}{r.pk}/make-incident/", {"note": "派员核查"}, format="json")
    assert res.status_code == 200, res.data
    r.refresh_from_db()
    i = Incident.objects.get()
    assert r.state == "incident" and r.incident == i and i.volunteer_report == r
    assert (i.source, i.category_id, i.org, i.address) == (
        Source.VOLUNTEER,
        "040500",
        coded.station_a1,
        "东湖小区3号楼",
    )
    assert r.text in i.narrative
    assert Volunteer.objects.get().points == 1 + 5
    assert clocks.unmet_for(r).count() == 0  # the triage clock is met
    # The incident page shows the report (a panel of this app), for police of the area only.
    panel = selectors.incident_panel(coded.station_a1_officer, i.pk)
    assert panel is not None and panel["report"] == r
    assert selectors.incident_panel(coded.station_b1_officer, i.pk) is None
    page = _session(coded.station_a1_officer).get(f"/incidents/{i.pk}/")
    assert page.status_code == 200 and r.text in page.content.decode()


def _session(user: Any) -> Any:
    from django.test import Client

    c = Client()
    c.force_login(user)
    return c


def test_a_task_goes_round_the_loop_to_the_community(coded: Any) -> None:
    r = submit(coded)
    res = api_as(coded.station_a1_officer).post(
        f"{URL}{r.pk}/task/", {"note": "请社区民警上门", "actions": ["上门核查"]}, format="json"
    )
    assert res.status_code == 200, res.data
    r.refresh_from_db()
    t = Task.objects.get()
    assert r.state == "tasked" and r.directive is not None and r.directive.issuer_org == coded.station_a1
    assert t.org == coded.community_a1 and t.actions == ["上门核查"]
    assert Volunteer.objects.get().points == 1 + 3


def test_a_task_can_go_straight_to_the_community_officer(coded: Any) -> None:
    from command_center.models import Role
    from tests.factories import make_person

    beat = make_person("beat", coded.community_a1, Role.STATION_OFFICER).person
    r = submit(coded)
    queue = api_as(coded.station_a1_officer).get(f"{URL}queue/").data
    assert {"id": beat.pk, "name": "beat", "org": coded.community_a1.name} in queue["officers"]
    res = api_as(coded.station_a1_officer).post(f"{URL}{r.pk}/task/", {"assignee": beat.pk}, format="json")
    assert res.status_code == 200, res.data
    assert Task.objects.get().assignee == beat


def test_forward_to_a_partner_or_a_community_of_the_station_only(coded: Any) -> None:
    r = submit(coded)
    res = api_as(coded.station_a1_officer).post(f"{URL}{r.pk}/forward/", {"target": coded.station_b1.pk}, format="json")
    assert res.status_code == 400 and "target" in res.data
    r.refresh_from_db()
    assert r.state == "submitted" and not r.transitions.filter(event="forward").exists()
    with capture_broadcasts() as sent:
        res = api_as(coded.station_a1_officer).post(
            f"{URL}{r.pk}/forward/", {"target": coded.partner.pk, "note": "转12345"}, format="json"
        )
    assert res.status_code == 200
    r.refresh_from_db()
    assert (r.state, r.forwarded_to, r.reason) == ("forwarded", coded.partner, "转12345")
    told = [s for s in sent if s["event"] == "community.report.forwarded"]
    assert f"org.{coded.partner.pk}" in {s["group"] for s in told}
    assert all(s["data"]["volunteer"] is None for s in told)


def test_close_needs_a_reason_and_earns_what_the_rule_says(coded: Any) -> None:
    PointsRule.objects.filter(event="closed").update(points=0)
    r = submit(coded)
    res = api_as(coded.station_a1_officer).post(f"{URL}{r.pk}/close/", {"reason": ""}, format="json")
    assert res.status_code == 400 and "reason" in res.data
    res = api_as(coded.station_a1_officer).post(f"{URL}{r.pk}/close/", {"reason": "重复上报"}, format="json")
    assert res.status_code == 200
    assert Volunteer.objects.get().points == 1
    assert PointsEntry.objects.filter(report=r, event="closed", points=0).exists()


def test_a_second_triage_is_a_409_and_changes_nothing(coded: Any) -> None:
    r = submit(coded)
    api = api_as(coded.station_a1_officer)
    assert api.post(f"{URL}{r.pk}/close/", {"reason": "无效"}, format="json").status_code == 200
    res = api.post(f"{URL}{r.pk}/make-incident/", {}, format="json")
    assert res.status_code == 409 and res.data["allowed"] == []
    assert not Incident.objects.exists() and Volunteer.objects.get().points == 1


def test_points_are_given_once_per_report_and_event(coded: Any) -> None:
    r = submit(coded)
    assert services.points_award(r, "submitted") is None
    assert Volunteer.objects.get().points == 1 and PointsEntry.objects.count() == 1
    rule = PointsRule.objects.get(event="incident")
    rule.points = 7
    rule.save()
    services.report_make_incident(report_id=r.pk, actor=coded.station_a1_officer)
    assert Volunteer.objects.get().points == 8
    v = Volunteer.objects.get()
    assert v.points == sum(PointsEntry.objects.filter(volunteer=v).values_list("points", flat=True))
    res = api_as(coded.volunteer).get("/api/community/points/")
    assert res.data["points"] == 8 and {e["event"] for e in res.data["entries"]} == {"submitted", "incident"}


def test_the_triage_clock_breaches_when_no_one_triages(coded: Any) -> None:
    r = submit(coded)
    assert clocks.sweep(now=timezone.now() + timedelta(minutes=29)) == 0
    assert clocks.sweep(now=timezone.now() + timedelta(minutes=31)) == 1
    d = Deadline.objects.get(kind=services.CLOCK_TRIAGE)
    assert d.breached_at is not None and d.met_at is None
    assert clocks.overdue(VolunteerReport, [r.pk]) == {r.pk: [services.CLOCK_TRIAGE]}
    row = api_as(coded.station_a1_officer).get(f"{URL}queue/").data["reports"][0]
    assert row["id"] == r.pk and row["late"] is True
    # Lists of late things name it.
    from command_center import words

    said = words.describe("community.volunteerreport", [r.pk])[r.pk]
    assert said["org_name"] == coded.station_a1.name and "消防隐患" in said["title"]
    # Triaged late: the clock is met, late.
    services.report_close(report_id=r.pk, actor=coded.station_a1_officer, reason="已处理")
    d.refresh_from_db()
    assert d.met_at is not None


def test_station_b_never_sees_or_triages_station_a_reports(coded: Any) -> None:
    r = submit(coded, photos=[png()])
    b = api_as(coded.station_b1_officer)
    assert b.get(URL).data["results"] == []
    assert b.get(f"{URL}queue/").data["reports"] == []
    assert b.get(f"{URL}{r.pk}/").status_code == 404
    assert b.post(f"{URL}{r.pk}/close/", {"reason": "x"}, format="json").status_code == 404
    assert b.get(f"/api/community/photos/{r.photos.get().pk}/").status_code == 404
    assert b.get("/api/community/volunteers/").data["results"] == []
    a = api_as(coded.station_a1_officer)
    assert [v["id"] for v in a.get("/api/community/volunteers/").data["results"]] == [Volunteer.objects.get().pk]
    res: Any = a.get(f"/api/community/photos/{r.photos.get().pk}/")
    assert res.status_code == 200 and b"".join(res.streaming_content).startswith(b"\x89PNG")
    assert api_as(coded.volunteer).get(f"/api/community/photos/{r.photos.get().pk}/").status_code == 200


@pytest.mark.parametrize(
    "url",
    [
        "/api/incidents/",
        "/api/diversions/",
        "/api/directives/",
        "/api/tasks/",
        "/api/analyses/",
        "/api/sentiment/posts/",
        "/api/sentiment/events/",
        "/api/sentiment/warnings/",
        "/api/community/volunteers/",
        "/api/community/reports/queue/",
    ],
)
def test_a_volunteer_reads_no_police_data(coded: Any, url: str) -> None:
    r = submit(coded)
    services.report_make_incident(report_id=r.pk, actor=coded.station_a1_officer)
    res = api_as(coded.volunteer).get(url)
    assert res.status_code in (200, 403, 404)
    if res.status_code == 200:
        body = res.data
        rows = body.get("results", body.get("reports", body)) if isinstance(body, dict) else body
        assert rows == [], (url, rows)


@pytest.mark.parametrize(
    "page",
    ["/incidents/", "/board/", "/inbox/", "/sentiment/", "/intel/", "/community/triage/", "/community/volunteers/"],
)
def test_a_volunteer_gets_no_police_page(coded: Any, page: str) -> None:
    """Refused, or (the incident list, a shell over the scoped API) nothing of the station's in it."""
    r = submit(coded)
    services.report_make_incident(report_id=r.pk, actor=coded.station_a1_officer)
    number = Incident.objects.get().number
    res = _session(coded.volunteer).get(page)
    assert res.status_code in (403, 404) or (res.status_code == 200 and number not in res.content.decode()), page


def test_the_volunteer_page_is_the_volunteers(coded: Any) -> None:
    assert _session(coded.volunteer).get("/community/").status_code == 200
    assert _session(coded.station_a1_officer).get("/community/").status_code == 403
    page = _session(coded.station_a1_officer).get("/community/triage/")
    assert page.status_code == 200 and "data-community-triage" in page.content.decode()
