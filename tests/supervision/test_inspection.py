"""数字督察 (issue 13): each inspection rule finds what it should and nothing else, on data built through the
services; a run is idempotent; thresholds are data, overridable per org (the most specific org wins); a
finding is confirmed or dismissed with a reason by a supervisor or commander of its org (404 outside the
area, 409 once decided); the counts per rule show each rule's dismissal rate."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from command_center.models import HandlingResult, Org, Role
from incidents import services as incidents
from incidents.models import Category, Incident, RepeatCluster
from intel import services as loop
from supervision import inspection
from supervision.models import Finding, InspectionRule, InspectionRuleOrg
from tests.conftest import capture_broadcasts
from tests.factories import make_person
from tests.intel.conftest import api_as, issue, task_of

_seq = itertools.count(1)
S = timedelta(seconds=1)


def later(**kw: float):
    return timezone.now() + timedelta(**kw)


def intake(w, org: Org | None = None) -> Incident:
    data = incidents.IntakeData(
        call_id=f"INSP{next(_seq):06d}",
        source="110",
        address=f"东湖路{next(_seq)}号",
        category=Category.objects.get(code="020500"),
        caller_phone="13800138000",
        org=org or w.station_a1,
    )
    i, _ = incidents.incident_intake(actor=w.duty, data=data)
    return Incident.objects.get(pk=i.pk)


def closed(w, org: Org | None = None, **feedback) -> Incident:
    """Self-handled, a feedback (with `feedback` fields, e.g. arrived_at), closed."""
    i = intake(w, org)
    incidents.incident_self_handle(incident_id=i.pk, actor=w.duty)
    incidents.incident_feedback(
        incident_id=i.pk, actor=w.duty, text="已劝导", result=HandlingResult.objects.get(code="05"), **feedback
    )
    incidents.incident_close(incident_id=i.pk, actor=w.duty)
    return Incident.objects.get(pk=i.pk)


def found(rule: str) -> set[int]:
    return set(Finding.objects.filter(rule=rule).values_list("subject_id", flat=True))


@pytest.fixture
def sup_b(coded):
    return make_person("sup_b", coded.county_b, Role.SUPERVISOR)


# --- The rules -----------------------------------------------------------------------------------------


def test_feedback_filed_seconds_after_arrival_is_found_and_a_real_one_is_not(coded):
    fast = closed(coded, arrived_at=timezone.now() - 30 * S)
    slow = closed(coded, arrived_at=timezone.now() - timedelta(minutes=20))
    none = closed(coded)  # no arrival at all: not this rule's business
    inspection.inspect(now=later(seconds=1))
    assert found("feedback_too_fast") == {fast.pk}
    assert slow.pk not in found("feedback_too_fast") and none.pk not in found("feedback_too_fast")
    (f,) = Finding.objects.filter(rule="feedback_too_fast")
    assert f.org_id == coded.station_a1.pk and f.facts["seconds"] < 120 and f.state == Finding.State.OPEN


def test_closed_without_arrival_is_found_and_with_an_arrival_is_not(coded):
    bare = closed(coded)
    arrived = closed(coded, arrived_at=timezone.now() - timedelta(minutes=30))
    open_one = intake(coded)  # not closed
    inspection.inspect(now=later(seconds=1))
    assert found("closed_without_arrival") == {bare.pk}
    assert arrived.pk not in found("closed_without_arrival") and open_one.pk not in found("closed_without_arrival")


def test_a_dissatisfied_callback_without_a_rectification_is_found_after_the_grace(coded):
    lost = closed(coded)
    incidents.incident_callback(incident_id=lost.pk, actor=coded.duty, channel="phone", satisfaction="dissatisfied")
    # The loop opens the rectification after commit: here it runs (capture_broadcasts runs on-commit work).
    kept = closed(coded)
    with capture_broadcasts():
        incidents.incident_callback(incident_id=kept.pk, actor=coded.duty, channel="phone", satisfaction="dissatisfied")
    happy = closed(coded)
    incidents.incident_callback(incident_id=happy.pk, actor=coded.duty, channel="phone", satisfaction="satisfied")
    inspection.inspect(now=later(minutes=10))  # within the grace (60 minutes): nothing yet
    assert found("dissatisfied_unrectified") == set()
    inspection.inspect(now=later(minutes=90))
    assert found("dissatisfied_unrectified") == {lost.pk}


def test_one_officer_marking_many_calls_invalid_is_found_once_a_day(coded):
    inspection.rule_update(key="many_invalid", actor=coded.supervisor, params={"count": 3})
    for _n in range(3):
        incidents.incident_invalidate(incident_id=intake(coded).pk, actor=coded.duty, reason="误拨")
    incidents.incident_invalidate(incident_id=intake(coded).pk, actor=coded.commander, reason="误拨")
    inspection.inspect(now=later(seconds=1))
    (f,) = Finding.objects.filter(rule="many_invalid")
    assert f.subject_id == coded.duty.pk and f.facts["count"] == 3 and f.org_id == coded.city.pk
    assert f.bucket == timezone.localdate().isoformat()
    rows = api_as(coded.supervisor).get("/api/inspection/findings/", {"rule": "many_invalid"}).json()["results"]
    assert rows[0]["subject"]["title"] and rows[0]["subject"]["type"] == "user"


def test_a_diversion_returned_twice_is_found_and_once_is_not(coded):
    twice, once = intake(coded), intake(coded)
    for i, times in ((twice, 2), (once, 1)):
        for _n in range(times):
            d = incidents.incident_divert(incident_id=i.pk, actor=coded.duty, partner=coded.partner)
            incidents.diversion_return(diversion_id=d.pk, actor=coded.partner_agent, reason="非我单位职责")
    inspection.inspect(now=later(seconds=1))
    assert found("diversion_returned_twice") == {twice.pk}


def test_a_report_with_an_empty_checklist_note_is_found_and_a_told_one_is_not(coded):
    def report(note: str):
        t = task_of(issue(coded, coded.station_a1), coded.station_a1)
        officer = coded.station_a1_officer
        loop.task_sign(task_id=t.pk, actor=officer)
        loop.task_start(task_id=t.pk, actor=officer)
        t.refresh_from_db()
        checklist = [{"action": a, "done": True, "note": note} for a in t.actions]
        loop.task_report(task_id=t.pk, actor=officer, text="已落实", checklist=checklist)
        return t.reports.get()

    empty, told = report(""), report("巡逻三次，排查隐患两处")
    inspection.inspect(now=later(seconds=1))
    assert found("empty_checklist_note") == {empty.pk}
    assert told.pk not in found("empty_checklist_note")
    row = api_as(coded.supervisor).get("/api/inspection/findings/", {"rule": "empty_checklist_note"}).json()
    assert row["results"][0]["subject"]["url"]  # the task's page


def test_a_repeat_cluster_left_open_past_its_days_is_found(coded):
    def cluster(days: int, status=RepeatCluster.Status.OPEN):
        first = timezone.now() - timedelta(days=days)
        return RepeatCluster.objects.create(
            kind=RepeatCluster.Kind.RECURRING,
            status=status,
            org=coded.station_a1,
            category=Category.objects.get(code="020500"),
            address="东湖路1号",
            first_at=first,
            last_at=first + timedelta(days=1),
            count=3,
        )

    old, fresh = cluster(10), cluster(2)
    governed = cluster(10, RepeatCluster.Status.GOVERNED)
    inspection.inspect(now=later(seconds=1))
    assert found("cluster_ungoverned") == {old.pk}
    assert fresh.pk not in found("cluster_ungoverned") and governed.pk not in found("cluster_ungoverned")


# --- The run -------------------------------------------------------------------------------------------


def test_a_run_twice_finds_once_and_the_command_runs_it(coded):
    closed(coded)
    now = later(seconds=1)
    first = inspection.inspect(now=now)
    assert first["closed_without_arrival"] == 1
    assert sum(inspection.inspect(now=now + timedelta(minutes=10)).values()) == 0
    call_command("inspect", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert Finding.objects.filter(rule="closed_without_arrival").count() == 1
    # Every rule in code has its row, with the code's defaults.
    assert set(InspectionRule.objects.values_list("key", flat=True)) >= set(inspection.BY_KEY)


def test_a_disabled_rule_finds_nothing_and_an_org_override_wins_over_the_rule(coded):
    a1 = closed(coded, org=coded.station_a1, arrived_at=timezone.now() - 30 * S)
    a2 = closed(coded, org=coded.station_a2, arrived_at=timezone.now() - 30 * S)
    b1 = closed(coded, org=coded.station_b1, arrived_at=timezone.now() - 30 * S)
    rule = inspection.rules_sync()["feedback_too_fast"]
    # County A: at least 20 s is enough; station A1 under it: off. The most specific org wins.
    InspectionRuleOrg.objects.create(rule=rule, org=coded.county_a, params={"seconds": 20})
    InspectionRuleOrg.objects.create(rule=rule, org=coded.station_a1, enabled=False)
    inspection.inspect(now=later(seconds=1))
    assert found("feedback_too_fast") == {b1.pk}
    assert a1.pk not in found("feedback_too_fast") and a2.pk not in found("feedback_too_fast")
    # Off at the top, on for county A with a stricter threshold: only county A is inspected.
    Finding.objects.all().delete()
    InspectionRule.objects.filter(pk=rule.pk).update(enabled=False)
    InspectionRuleOrg.objects.filter(org=coded.county_a).update(params={"seconds": 60})
    inspection.inspect(now=later(seconds=1))
    assert found("feedback_too_fast") == {a2.pk}


# --- Decisions and counts ------------------------------------------------------------------------------


def test_confirm_dismiss_409_scope_and_counts(coded, sup_b):
    for _n in range(3):
        closed(coded)
    inspection.inspect(now=later(seconds=1))
    f1, f2, f3 = Finding.objects.filter(rule="closed_without_arrival").order_by("pk")
    sup = api_as(coded.supervisor)
    base = "/api/inspection/findings/"
    # Another area's supervisor: not found. A station officer of the org: no role for it.
    assert api_as(sup_b).post(f"{base}{f1.pk}/confirm/", {}, format="json").status_code == 404
    assert api_as(sup_b).get(base).json()["count"] == 0
    r = api_as(coded.station_a1_officer).post(f"{base}{f1.pk}/confirm/", {}, format="json")
    assert r.status_code == 403
    # Confirm; a second decision is 409.
    r = sup.post(f"{base}{f1.pk}/confirm/", {}, format="json")
    assert r.status_code == 200 and r.json()["state"] == "confirmed" and r.json()["decided_by"]
    assert sup.post(f"{base}{f1.pk}/dismiss/", {"reason": "误报"}, format="json").status_code == 409
    # Dismiss needs a reason.
    r = sup.post(f"{base}{f2.pk}/dismiss/", {"reason": "  "}, format="json")
    assert r.status_code == 400 and "reason" in r.json()
    r = api_as(coded.commander).post(f"{base}{f2.pk}/dismiss/", {"reason": "电话劝导，无需到场"}, format="json")
    assert r.status_code == 200 and r.json()["reason"] == "电话劝导，无需到场"
    # The list filters by state and org subtree; the counts per rule show the dismissal rate.
    assert [x["id"] for x in sup.get(base, {"state": "open"}).json()["results"]] == [f3.pk]
    assert sup.get(base, {"org": coded.county_b.pk}).json()["count"] == 0
    assert sup.get(base, {"org": coded.county_a.pk}).json()["count"] == 3
    row = next(r for r in sup.get("/api/inspection/rules/").json() if r["key"] == "closed_without_arrival")
    assert (row["found"], row["open"], row["confirmed"], row["dismissed"]) == (3, 1, 1, 1)
    assert row["dismissal_rate"] == 0.5
    assert next(r for r in api_as(sup_b).get("/api/inspection/rules/").json() if r["key"] == row["key"])["found"] == 0
    # For the scores: confirmed findings of an org's subtree in a period.
    today = timezone.localdate()
    assert inspection.findings_count(coded.county_a, today, today) == 1
    assert inspection.findings_count(coded.county_b, today, today) == 0
    assert inspection.findings_count(coded.city, today, today, state=None) == 3
    assert inspection.findings_count(coded.city, today - timedelta(days=7), today - timedelta(days=1)) == 0


def test_rules_are_set_by_a_top_supervisor_with_checked_params(coded, sup_b):
    url = "/api/inspection/rules/feedback_too_fast/"
    assert api_as(sup_b).patch(url, {"enabled": False}, format="json").status_code == 403
    sup = api_as(coded.supervisor)
    r = sup.patch(url, {"params": {"seconds": 30}}, format="json")
    assert r.status_code == 200 and r.json()["params"] == {"seconds": 30}
    assert sup.patch(url, {"params": {"minutes": 3}}, format="json").status_code == 400
    assert sup.patch(url, {"params": {"seconds": "fast"}}, format="json").status_code == 400
    assert sup.patch(url, {"colour": "red"}, format="json").status_code == 400
    r = sup.patch(url, {"enabled": False}, format="json")
    assert r.status_code == 200 and r.json()["enabled"] is False
    assert sup.patch("/api/inspection/rules/nope/", {"enabled": False}, format="json").status_code == 404


def test_the_page_is_for_supervisors_and_commanders(coded, client):
    client.force_login(coded.supervisor)
    r = client.get("/supervision/inspection/")
    assert r.status_code == 200 and b"inspection.js" in r.content
    client.force_login(coded.station_a1_officer)
    assert client.get("/supervision/inspection/").status_code == 302
    client.force_login(coded.analyst)
    assert client.get("/supervision/inspection/").status_code == 403


def test_beat_runs_the_inspection_every_ten_minutes():
    from command_center.celery import app

    app.loader.import_default_modules()
    app.finalize()
    entry = app.conf.beat_schedule["supervision.inspect"]
    assert entry["schedule"] == 600.0 and entry["task"] in app.tasks


def test_the_admin_sets_rules_and_per_org_overrides(coded, client, django_user_model):
    admin = django_user_model.objects.create_superuser("root", "root@example.org", "pw-12345")
    client.force_login(admin)
    inspection.rules_sync()
    rule = InspectionRule.objects.get(key="many_invalid")
    assert client.get("/admin/supervision/inspectionrule/").status_code == 200
    page = client.get(f"/admin/supervision/inspectionrule/{rule.pk}/change/")
    assert page.status_code == 200 and b"overrides-TOTAL_FORMS" in page.content
    assert client.get("/admin/supervision/inspectionrule/add/").status_code == 403  # a row per rule in code
    assert client.get("/admin/supervision/finding/").status_code == 200
