"""Issuing, reading and withdrawing directives through the API; closing when every task is approved."""

from datetime import timedelta

import pytest

from command_center import clocks
from intel.models import ClosureReport, Directive, DirectiveTransition, Task
from tests.conftest import capture_broadcasts

from .conftest import api_as, issue, task_of, walk_to_reported


def body(world, **over):
    data = {
        "title": "加强夜间巡防",
        "content": "近期夜间盗窃高发，请加强巡防。",
        "colour": "blue",
        "recipients": [world.station_a1.pk, world.station_b1.pk],
        "actions": ["加密巡逻", "走访商户"],
        "subject": "",
    }
    data.update(over)
    return {k: v for k, v in data.items() if v is not ...}


def test_issue_through_the_api(coded):
    with capture_broadcasts() as sent:
        r = api_as(coded.analyst).post("/api/directives/", body(coded), format="json")
    assert r.status_code == 201, r.content
    d = r.json()
    assert d["state"] == "issued" and d["source"] == "manual" and d["colour"] == "blue"
    assert d["issuer"]["username"] == "analyst" and d["issuer_org"] == coded.city.pk
    assert [x["id"] for x in d["recipients"]] == [coded.station_a1.pk, coded.station_b1.pk]
    # Blue: sign 2 h, report 7 d by default.
    assert (d["sign_within_s"], d["report_within_s"]) == (7200, 7 * 86400)
    assert [p["org"] for p in d["progress"]] == [coded.station_a1.pk, coded.station_b1.pk]
    assert {p["state"] for p in d["progress"]} == {"issued"}
    assert d["counts"] == {"issued": 2}
    assert d["allowed"] == ["withdraw"]
    events = sorted({m["event"] for m in sent})
    assert events == ["directive.issued", "task.issued"]
    # The directive reaches both stations' groups and the city's once.
    groups = [m["group"] for m in sent if m["event"] == "directive.issued"]
    assert sorted(groups) == sorted(
        f"org.{o.pk}" for o in (coded.city, coded.county_a, coded.station_a1, coded.county_b, coded.station_b1)
    )


def test_clocks_given_by_the_issuer_override_the_colour(coded):
    r = api_as(coded.commander).post(
        "/api/directives/", body(coded, colour="red", sign_within_s=120, report_within_s=3600), format="json"
    )
    assert r.status_code == 201
    t = Task.objects.get(pk=r.json()["progress"][0]["task"])
    assert t.sign_due_at == t.issued_at + timedelta(seconds=120)
    assert t.report_due_at == t.issued_at + timedelta(seconds=3600)


@pytest.mark.parametrize(
    "over,field",
    [
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"content": ...}, "content"),
        ({"colour": "green"}, "colour"),
        ({"recipients": []}, "recipients"),
        ({"recipients": ["a"]}, "recipients"),
        ({"recipients": [999999]}, "recipients"),
        ({"actions": "巡逻"}, "actions"),
        ({"actions": ["x" * 201]}, "actions"),
        ({"sign_within_s": 10}, "sign_within_s"),
        ({"sign_within_s": 7200, "report_within_s": 3600}, "report_within_s"),
        ({"source": "rectification"}, "source"),
        ({"analysis": 999999}, "analysis"),
        ({"priority": 1}, "priority"),
    ],
)
def test_bad_input_is_a_400_on_the_field(coded, over, field):
    r = api_as(coded.analyst).post("/api/directives/", body(coded, **over), format="json")
    assert r.status_code == 400 and field in r.json(), r.content
    assert not Directive.objects.exists()


def test_recipients_outside_the_area_are_refused(coded):
    r = api_as(coded.county_a_duty).post(
        "/api/directives/", body(coded, recipients=[coded.station_a1.pk, coded.station_b1.pk]), format="json"
    )
    assert r.status_code == 400 and str(coded.station_b1.pk) in r.json()["recipients"][0]


def test_only_analysts_commanders_and_duty_officers_issue(coded):
    for user in (coded.station_a1_officer, coded.supervisor, coded.partner_agent):
        r = api_as(user).post("/api/directives/", body(coded, recipients=[coded.station_a1.pk]), format="json")
        assert r.status_code in (400, 403), user  # 400: a recipient outside a station's area
    r = api_as(coded.supervisor).post("/api/directives/", body(coded), format="json")
    assert r.status_code == 403
    for user in (coded.analyst, coded.commander, coded.duty, coded.county_a_duty):
        r = api_as(user).post("/api/directives/", body(coded, recipients=[coded.station_a1.pk]), format="json")
        assert r.status_code == 201, user


def test_directives_are_seen_by_the_issuer_and_the_recipients_areas(coded):
    d = issue(coded, coded.station_a1)
    assert api_as(coded.analyst).get(f"/api/directives/{d.pk}/").status_code == 200
    assert api_as(coded.station_a1_officer).get(f"/api/directives/{d.pk}/").status_code == 200
    assert api_as(coded.county_a_duty).get(f"/api/directives/{d.pk}/").status_code == 200  # its station's
    assert api_as(coded.station_b1_officer).get(f"/api/directives/{d.pk}/").status_code == 404
    assert api_as(coded.partner_agent).get(f"/api/directives/{d.pk}/").status_code == 404
    assert [x["id"] for x in api_as(coded.station_b1_officer).get("/api/directives/").json()["results"]] == []
    own = issue(coded, coded.station_a2, actor=coded.county_a_duty)
    ids = {x["id"] for x in api_as(coded.county_a_duty).get("/api/directives/").json()["results"]}
    assert ids == {d.pk, own.pk}
    rows = api_as(coded.duty).get("/api/directives/", {"recipient": coded.station_a2.pk}).json()["results"]
    assert [x["id"] for x in rows] == [own.pk]


def test_withdraw(coded):
    d = issue(coded, coded.station_a1, coded.station_b1)
    a1 = task_of(d, coded.station_a1)
    assert api_as(coded.station_a1_officer).post(f"/api/directives/{d.pk}/withdraw/", {}).status_code == 403
    assert api_as(coded.supervisor).post(f"/api/directives/{d.pk}/withdraw/", {}).status_code == 403
    r = api_as(coded.analyst).post(f"/api/directives/{d.pk}/withdraw/", {"reason": "情况变化"}, format="json")
    assert r.status_code == 200 and r.json()["state"] == "withdrawn" and r.json()["withdraw_reason"] == "情况变化"
    assert {p["state"] for p in r.json()["progress"]} == {"withdrawn"}
    assert not clocks.open_for(a1).exists()
    r = api_as(coded.analyst).post(f"/api/directives/{d.pk}/withdraw/", {}, format="json")
    assert r.status_code == 409 and r.json()["state"] == "withdrawn"


def test_the_directive_closes_when_every_task_is_approved(coded):
    d = issue(coded, coded.station_a1, coded.station_b1)
    supervisor = api_as(coded.supervisor)
    a1 = walk_to_reported(coded, task_of(d, coded.station_a1))
    supervisor.post(f"/api/tasks/{a1.pk}/approve/", {}, format="json")
    assert Directive.objects.get(pk=d.pk).state == "issued"
    assert api_as(coded.analyst).get(f"/api/directives/{d.pk}/").json()["counts"] == {"approved": 1, "issued": 1}
    b1 = walk_to_reported(coded, task_of(d, coded.station_b1), officer=coded.station_b1_officer)
    with capture_broadcasts() as sent:
        supervisor.post(f"/api/tasks/{b1.pk}/approve/", {}, format="json")
    d.refresh_from_db()
    assert d.state == "closed" and d.closed_at is not None and d.version == 2
    assert ClosureReport.objects.filter(directive=d).exists()
    assert list(DirectiveTransition.objects.filter(subject=d).values_list("event", flat=True)) == ["issue", "close"]
    assert "directive.closed" in {m["event"] for m in sent}
    r = api_as(coded.analyst).post(f"/api/directives/{d.pk}/withdraw/", {}, format="json")
    assert r.status_code == 409


def test_multipart_issue_with_files_and_repeated_fields(coded, media):
    from .conftest import png

    r = api_as(coded.analyst).post(
        "/api/directives/",
        {
            "title": "布控",
            "content": "见附件",
            "colour": "red",
            "recipients": [coded.station_a1.pk, coded.station_b1.pk],
            "actions": ["布控", "回报"],
            "files": [png("布控图.png")],
        },
        format="multipart",
    )
    assert r.status_code == 201, r.content
    d = r.json()
    assert d["actions"] == ["布控", "回报"] and len(d["recipients"]) == 2
    assert [a["name"] for a in d["attachments"]] == ["布控图.png"]
    assert d["attachments"][0]["url"] == f"/api/attachments/{d['attachments'][0]['id']}/"
