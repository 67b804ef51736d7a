"""反馈审核: a supervisor accepts a feedback or returns it for rectification (整改) with a note; the station
rectifies on a clock that escalates (催办, then 督办); the supervisor decides again, round after round. The
queue draws a stable sample per org; every return is a deduction in the scores."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from command_center import clocks
from command_center.models import Category, Deadline, HandlingResult, Role
from incidents import services as incident_services
from incidents.models import Feedback
from supervision import feedback_review as fr
from supervision import kpis, scores
from supervision.models import (
    FeedbackRectification,
    FeedbackReview,
    FeedbackReviewTransition,
    FeedbackSampling,
    Reminder,
    ScoreScheme,
    SupervisionOrder,
)
from tests.concurrency import parallel
from tests.conftest import build_world, capture_broadcasts
from tests.factories import make_person
from tests.intel.conftest import api_as

_seq = itertools.count(1)
URL = "/api/feedback-reviews/"


def filed(world: Any, n: int = 1, *, org: Any = None, officer: Any = None, text: str = "已劝导双方") -> list[Feedback]:
    """n incidents of `org` (station A1), each settled by its officer with one feedback."""
    org = org or world.station_a1
    officer = officer or world.station_a1_officer
    out = []
    for _k in range(n):
        k = next(_seq)
        data = incident_services.IntakeData(
            call_id=f"FB-{k}",
            source="110",
            address=f"东湖路{k}号",
            category=Category.objects.get(code="020500"),
            caller_phone="13800138000",
            org=org,
        )
        incident, _created = incident_services.incident_intake(actor=world.duty, data=data)
        incident_services.incident_self_handle(incident_id=incident.pk, actor=officer)
        out.append(
            incident_services.incident_feedback(
                incident_id=incident.pk, actor=officer, text=text, result=HandlingResult.objects.get(code="05")
            )
        )
    return out


@pytest.fixture
def fb(coded) -> Feedback:
    return filed(coded)[0]


def test_the_state_table():
    from command_center.transitions import InvalidTransition, next_state
    from supervision.transitions import FEEDBACK_REVIEW, NEW, Event

    assert next_state(FEEDBACK_REVIEW, NEW, Event.RETURN) == "returned"
    assert next_state(FEEDBACK_REVIEW, "returned", Event.RECTIFY) == "rectified"
    assert next_state(FEEDBACK_REVIEW, "rectified", Event.RETURN) == "returned"
    assert next_state(FEEDBACK_REVIEW, "rectified", Event.ACCEPT) == "accepted"
    for state, event in [("accepted", Event.RECTIFY), ("accepted", Event.ACCEPT), ("returned", Event.ACCEPT),
                         (NEW, Event.RECTIFY), ("rectified", Event.RECTIFY)]:  # fmt: skip
        with pytest.raises(InvalidTransition):
            next_state(FEEDBACK_REVIEW, state, event)


# --- The loop through the API -------------------------------------------------------------------------


def test_return_rectify_return_again_accept(coded, fb):
    w = coded
    sup, station = api_as(w.supervisor), api_as(w.station_a1_officer)
    with capture_broadcasts() as pushed:
        r = sup.post(f"{URL}{fb.pk}/return/", {"note": "处置经过写得太简单"}, format="json")
    assert r.status_code == 200, r.content
    assert r.json()["review"]["state"] == "returned" and r.json()["review"]["rounds"] == 1
    assert r.json()["rework_due_at"] is not None
    assert {m["event"] for m in pushed} == {"feedback_review.returned"}
    assert f"org.{w.station_a1.pk}" in {m["group"] for m in pushed}
    rework = Deadline.objects.get(kind=fr.CLOCK_REWORK)
    assert rework.org_id == w.station_a1.pk
    assert abs((rework.due_at - rework.started_at) - timedelta(hours=24)) < timedelta(seconds=5)

    r = station.post(f"{URL}{fb.pk}/rectify/", {"text": "已补充处置经过"}, format="json")
    assert r.status_code == 200, r.content
    assert r.json()["review"]["state"] == "rectified" and r.json()["rectifications"][0]["text"] == "已补充处置经过"
    assert Deadline.objects.get(pk=rework.pk).met_at is not None

    r = sup.post(f"{URL}{fb.pk}/return/", {"note": "仍缺当事人信息"}, format="json")
    assert r.json()["review"]["rounds"] == 2
    station.post(f"{URL}{fb.pk}/rectify/", {"text": "已补充当事人信息"}, format="json")
    r = sup.post(f"{URL}{fb.pk}/accept/", {}, format="json")
    assert r.status_code == 200
    body = r.json()
    assert body["review"]["state"] == "accepted" and body["review"]["verdict"] == "accepted"
    assert [s["event"] for s in body["steps"]] == ["return", "rectify", "return", "rectify", "accept"]
    assert [(x["round"], x["decision"]) for x in body["rectifications"]] == [(1, "returned"), (2, "accepted")]
    # The incident's own state machine is not touched.
    fb.incident.refresh_from_db()
    assert fb.incident.state == "self_handled"


def test_accept_at_once(coded, fb):
    r = api_as(coded.supervisor).post(f"{URL}{fb.pk}/accept/", {"note": "规范"}, format="json")
    assert r.status_code == 200 and r.json()["review"]["state"] == "accepted"
    assert not Deadline.objects.filter(kind=fr.CLOCK_REWORK).exists()


def test_400_a_return_needs_a_note(coded, fb):
    r = api_as(coded.supervisor).post(f"{URL}{fb.pk}/return/", {"note": "  "}, format="json")
    assert r.status_code == 400 and "note" in r.json()
    r = api_as(coded.supervisor).post(f"{URL}{fb.pk}/return/", {}, format="json")
    assert r.status_code == 400 and "note" in r.json()
    r = api_as(coded.supervisor).post(f"{URL}{fb.pk}/accept/", {"verdict": "x"}, format="json")
    assert r.status_code == 400 and "verdict" in r.json()  # strict: an unknown field is refused
    api_as(coded.supervisor).post(f"{URL}{fb.pk}/return/", {"note": "补充"}, format="json")
    r = api_as(coded.station_a1_officer).post(f"{URL}{fb.pk}/rectify/", {"text": ""}, format="json")
    assert r.status_code == 400 and "text" in r.json()
    assert not FeedbackReview.objects.filter(state="rectified").exists()


def test_403_a_station_cannot_review_nor_rectify_another_station_s(coded, fb):
    w = coded
    r = api_as(w.station_a1_officer).post(f"{URL}{fb.pk}/accept/", {}, format="json")
    assert r.status_code == 403
    api_as(w.supervisor).post(f"{URL}{fb.pk}/return/", {"note": "补充"}, format="json")
    # The county above sees it, yet it is the station's own people who rectify.
    county = make_person("county_a_officer", w.county_a, Role.DUTY_OFFICER)
    assert api_as(county).post(f"{URL}{fb.pk}/rectify/", {"text": "代为整改"}, format="json").status_code == 403
    assert FeedbackReview.objects.get().state == "returned"


def test_404_outside_the_area(coded, fb):
    w = coded
    other = api_as(w.station_b1_officer)
    assert other.get(f"{URL}{fb.pk}/").status_code == 404
    assert other.post(f"{URL}{fb.pk}/rectify/", {"text": "x"}, format="json").status_code == 404
    county_b_sup = make_person("county_b_sup", w.county_b, Role.SUPERVISOR)
    assert api_as(county_b_sup).post(f"{URL}{fb.pk}/accept/", {}, format="json").status_code == 404
    assert api_as(w.supervisor).get(f"{URL}999999/").status_code == 404


def test_409_reviewing_twice_and_rectifying_what_is_not_returned(coded, fb):
    w = coded
    sup, station = api_as(w.supervisor), api_as(w.station_a1_officer)
    assert station.post(f"{URL}{fb.pk}/rectify/", {"text": "x"}, format="json").status_code == 409  # not returned
    sup.post(f"{URL}{fb.pk}/return/", {"note": "补充"}, format="json")
    r = sup.post(f"{URL}{fb.pk}/accept/", {}, format="json")
    assert r.status_code == 409 and r.json()["allowed"] == []  # awaiting the station: nothing for a reviewer
    assert sup.post(f"{URL}{fb.pk}/return/", {"note": "again"}, format="json").status_code == 409
    station.post(f"{URL}{fb.pk}/rectify/", {"text": "已整改"}, format="json")
    assert station.post(f"{URL}{fb.pk}/rectify/", {"text": "再次"}, format="json").status_code == 409
    sup.post(f"{URL}{fb.pk}/accept/", {}, format="json")
    r = sup.post(f"{URL}{fb.pk}/accept/", {}, format="json")
    assert r.status_code == 409 and r.json()["state"] == "accepted"
    assert station.post(f"{URL}{fb.pk}/rectify/", {"text": "x"}, format="json").status_code == 409


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("second", ["accept", "return"])
def test_two_supervisors_decide_the_same_feedback_at_once_exactly_one_wins(second):
    from command_center import codes

    w = build_world()
    codes.load_defaults()
    [fb] = filed(w)
    other = make_person("supervisor2", w.city, Role.SUPERVISOR)

    def decide(k: int) -> int:
        user, verb = (w.supervisor, "accept") if k == 0 else (other, second)
        return api_as(user).post(f"{URL}{fb.pk}/{verb}/", {"note": "并发"}, format="json").status_code

    assert sorted(parallel(2, decide)) == [200, 409]
    review = FeedbackReview.objects.get(feedback=fb)
    assert FeedbackReviewTransition.objects.filter(subject=review).count() == 1
    connection.close()


# --- The queue and its sample ----------------------------------------------------------------------------


def test_sample_bucket_is_the_same_in_python_and_sql_and_stable(coded):
    rows = filed(coded, 30)
    got = dict(Feedback.objects.annotate(b=fr.SampleBucket()).values_list("pk", "b"))
    assert got == {f.pk: fr.sample_bucket(f.pk) for f in rows}
    assert all(0 <= b < 100 for b in got.values())
    assert fr.sample_bucket(rows[0].pk) == fr.sample_bucket(rows[0].pk)


def test_the_queue_draws_a_predictable_sample_oldest_first(coded, settings):
    w = coded
    rows = filed(w, 40)
    settings.SUPERVISION_FEEDBACK_SAMPLE_PERCENT = 30
    sup = api_as(w.supervisor)
    expected = [f.pk for f in rows if fr.sample_bucket(f.pk) < 30]
    listed = sup.get(URL, {"page_size": 500}).json()["results"]
    assert [x["id"] for x in listed] == expected  # oldest first
    assert all(x["sampled"] for x in listed)
    again = sup.get(URL, {"page_size": 500}).json()["results"]
    assert [x["id"] for x in again] == expected  # stable
    everything = sup.get(URL, {"page_size": "500", "sample": "false"}).json()
    assert everything["count"] == 40
    # A station's own rule (100: all) wins over the default for its feedback.
    FeedbackSampling.objects.create(org=w.station_a1, percent=100)
    assert sup.get(URL, {"page_size": 500}).json()["count"] == 40
    FeedbackSampling.objects.create(org=w.city, percent=0)
    assert sup.get(URL, {"page_size": 500}).json()["count"] == 40  # the station's is the more specific
    FeedbackSampling.objects.filter(org=w.station_a1).delete()
    assert sup.get(URL, {"page_size": 500}).json()["count"] == 0


def test_the_queue_row_and_its_filters(coded, settings):
    w = coded
    settings.SUPERVISION_FEEDBACK_SAMPLE_PERCENT = 100
    a, b = filed(w, 2)
    [c] = filed(w, org=w.station_b1, officer=w.station_b1_officer)
    sup = api_as(w.supervisor)
    [row] = [x for x in sup.get(URL).json()["results"] if x["id"] == a.pk]
    assert row["number"] == a.incident.number and row["address"] == a.incident.address
    assert row["org_name"] == "东湖派出所" and row["category"] == "020500" and row["result"] == "05"
    assert row["text"] == "已劝导双方" and row["review"] is None and row["satisfaction"] is None
    assert {x["id"] for x in sup.get(URL, {"org": w.county_b.pk}).json()["results"]} == {c.pk}
    assert sup.get(URL, {"result": "99"}).json()["count"] == 0
    today = timezone.localdate()
    assert sup.get(URL, {"date_from": str(today), "date_to": str(today)}).json()["count"] == 3
    assert sup.get(URL, {"date_to": "2000-01-01"}).json()["count"] == 0
    # Decided ones leave the queue; a rectified one comes back to it.
    sup.post(f"{URL}{a.pk}/accept/", {}, format="json")
    sup.post(f"{URL}{b.pk}/return/", {"note": "补充"}, format="json")
    assert {x["id"] for x in sup.get(URL).json()["results"]} == {c.pk}
    assert [x["id"] for x in sup.get(URL, {"state": "returned"}).json()["results"]] == [b.pk]
    api_as(w.station_a1_officer).post(f"{URL}{b.pk}/rectify/", {"text": "已整改"}, format="json")
    queue = sup.get(URL).json()["results"]
    assert [x["id"] for x in queue] == [b.pk, c.pk]
    assert queue[0]["rectification"]["text"] == "已整改"
    assert sup.get(URL, {"state": "nonsense"}).status_code == 400


def test_sampling_rule_read_and_set(coded):
    w = coded
    sup = api_as(w.supervisor)
    r = sup.get(f"{URL}sampling/").json()
    assert r["percent"] == 10 and r["own"] is False and r["can_set"] is True
    r = sup.put(f"{URL}sampling/", {"percent": 100}, format="json")
    assert r.status_code == 200 and r.json()["percent"] == 100 and r.json()["own"] is True
    assert FeedbackSampling.objects.get(org=w.city).percent == 100
    assert sup.put(f"{URL}sampling/", {"percent": 101}, format="json").status_code == 400
    station = api_as(w.station_a1_officer)
    assert station.get(f"{URL}sampling/").json()["percent"] == 100  # inherited from the city
    assert station.put(f"{URL}sampling/", {"percent": 5}, format="json").status_code == 403


# --- The rework clock escalates -------------------------------------------------------------------------


def test_the_rework_clock_reminds_then_supervises(coded, fb, settings):
    w = coded
    settings.SUPERVISION_FEEDBACK_REWORK_S = 3600
    settings.SUPERVISION_FEEDBACK_REWORK_ESCALATE_S = 600
    api_as(w.supervisor).post(f"{URL}{fb.pk}/return/", {"note": "补充"}, format="json")
    now = timezone.now()
    with capture_broadcasts() as pushed:
        clocks.sweep(now=now + timedelta(minutes=61))
    [reminder] = Reminder.objects.filter(incident=fb.incident)
    assert reminder.recipient_id == w.station_a1.pk and reminder.level == Reminder.Level.REMINDER
    assert "整改" in reminder.text or "rectification" in reminder.text
    assert any(m["event"] == "reminder.created" for m in pushed)
    assert Deadline.objects.filter(kind=fr.CLOCK_REWORK_ESCALATE, met_at=None, cancelled_at=None).exists()
    clocks.sweep(now=now + timedelta(minutes=72))
    [order] = SupervisionOrder.objects.filter(incident=fb.incident)
    assert order.org_id == w.station_a1.pk and order.level.rank == min(lv.rank for lv in fr.services.levels())
    clocks.sweep(now=now + timedelta(minutes=83))
    assert SupervisionOrder.objects.filter(incident=fb.incident).count() == 2  # the next level
    # The rectification meets the clock and stops the escalation.
    api_as(w.station_a1_officer).post(f"{URL}{fb.pk}/rectify/", {"text": "已整改"}, format="json")
    assert not Deadline.objects.filter(kind__startswith="supervision.feedback", met_at=None, cancelled_at=None).exists()
    clocks.sweep(now=now + timedelta(hours=10))
    assert SupervisionOrder.objects.filter(incident=fb.incident).count() == 2


def test_a_rectification_in_time_raises_nothing(coded, fb):
    w = coded
    api_as(w.supervisor).post(f"{URL}{fb.pk}/return/", {"note": "补充"}, format="json")
    api_as(w.station_a1_officer).post(f"{URL}{fb.pk}/rectify/", {"text": "已整改"}, format="json")
    clocks.sweep(now=timezone.now() + timedelta(days=3))
    assert not Reminder.objects.exists() and not SupervisionOrder.objects.exists()


# --- Scores ---------------------------------------------------------------------------------------------


def test_each_return_is_a_deduction_with_its_cause(coded, fb):
    w = coded
    sup, station = api_as(w.supervisor), api_as(w.station_a1_officer)
    sup.post(f"{URL}{fb.pk}/return/", {"note": "经过不清"}, format="json")
    station.post(f"{URL}{fb.pk}/rectify/", {"text": "已补充"}, format="json")
    sup.post(f"{URL}{fb.pk}/return/", {"note": "仍不清"}, format="json")
    scheme = ScoreScheme.objects.create(name="考评", version=1, weights={}, deductions={"feedback_returned": 2})
    today = timezone.localdate()
    parts = scores.score_parts(scheme, kpis.Scope(w.station_a1, today, today))
    cut = [p for p in parts if p["key"] == "feedback_returned"]
    assert [p["points"] for p in cut] == [-2.0, -2.0]
    review = FeedbackReview.objects.get(feedback=fb)
    assert {p["cause"]["id"] for p in cut} == {review.pk}
    assert [p["cause"]["detail"] for p in cut] == ["经过不清", "仍不清"]
    assert cut[0]["cause"]["url"].endswith(f"/incidents/{fb.incident_id}/#feedback-{fb.pk}")
    assert cut[0]["cause"]["title"]
    # Another station loses nothing; without a weight, nothing is deducted.
    assert not [p for p in scores.score_parts(scheme, kpis.Scope(w.station_b1, today, today)) if p["points"] < 0]
    plain = ScoreScheme.objects.create(name="考评", version=2, weights={}, deductions={})
    assert not [p for p in scores.score_parts(plain, kpis.Scope(w.station_a1, today, today)) if p["points"] < 0]


# --- Pages ----------------------------------------------------------------------------------------------


def _page(user: Any, path: str) -> Any:
    c = Client()
    c.force_login(user)
    return c.get(path)


def test_pages(coded, fb):
    w = coded
    r = _page(w.supervisor, "/supervision/feedback/")
    assert r.status_code == 200 and b"data-feedback-review" in r.content
    assert b"/supervision/feedback/" in _page(w.supervisor, "/supervision/").content  # linked from the nav
    assert _page(w.station_a1_officer, "/supervision/feedback/").status_code == 302
    assert _page(w.analyst, "/supervision/feedback/").status_code == 403
    # The incident page: supervisors get accept / return; after a return the station gets the form.
    page = _page(w.supervisor, f"/incidents/{fb.incident_id}/").content.decode()
    assert f"/api/feedback-reviews/{fb.pk}/return/" in page
    before = _page(w.station_a1_officer, f"/incidents/{fb.incident_id}/").content.decode()
    assert f"/api/feedback-reviews/{fb.pk}/rectify/" not in before
    api_as(w.supervisor).post(f"{URL}{fb.pk}/return/", {"note": "写清处置经过AAA"}, format="json")
    page = _page(w.station_a1_officer, f"/incidents/{fb.incident_id}/").content.decode()
    assert f"/api/feedback-reviews/{fb.pk}/rectify/" in page and "写清处置经过AAA" in page
    rework = _page(w.station_a1_officer, "/supervision/feedback/rework/").content.decode()
    assert f"/api/feedback-reviews/{fb.pk}/rectify/" in rework and "写清处置经过AAA" in rework
    other = _page(w.station_b1_officer, "/supervision/feedback/rework/").content.decode()
    assert "写清处置经过AAA" not in other
    assert FeedbackRectification.objects.count() == 0


def test_admin_sets_a_sampling_rule(coded):
    w = coded
    from django.contrib.auth.models import User

    admin = User.objects.create_superuser("root", "root@example.org", "pw-123456789")
    c = Client()
    c.force_login(admin)
    r = c.post("/admin/supervision/feedbacksampling/add/", {"org": w.county_a.pk, "percent": 50})
    assert r.status_code == 302, r.content[:500]
    row = FeedbackSampling.objects.get(org=w.county_a)
    assert row.percent == 50 and row.updated_by == admin
    assert fr.percent_for(w.station_a1) == 50 and fr.percent_for(w.county_b) == 10
    assert c.get("/admin/supervision/feedbackreview/").status_code == 200


def test_a_late_rework_reads_in_the_overdue_list_and_takes_a_reminder_by_hand(coded, fb, settings):
    w = coded
    settings.SUPERVISION_FEEDBACK_REWORK_S = 60
    api_as(w.supervisor).post(f"{URL}{fb.pk}/return/", {"note": "补充"}, format="json")
    clocks.sweep(now=timezone.now() + timedelta(minutes=2))
    rework = Deadline.objects.get(kind=fr.CLOCK_REWORK)
    rows = api_as(w.supervisor).get("/api/overdue/", {"kind": "supervision."}).json()
    rows = rows.get("results", rows) if isinstance(rows, dict) else rows
    text = str(rows)
    assert fb.incident.number in text and f"#feedback-{fb.pk}" in text
    r = api_as(w.supervisor).post(f"/api/overdue/{rework.pk}/remind/", {"note": "请尽快整改"}, format="json")
    assert r.status_code == 409  # the sweep reminded already: once per clock
    r = api_as(w.supervisor).post(f"/api/overdue/{rework.pk}/supervise/", {"note": "限今日整改"}, format="json")
    assert r.status_code in (200, 201), r.content
    assert SupervisionOrder.objects.get(incident=fb.incident).reason == "限今日整改"


def test_the_late_rework_reminder_reaches_the_station_inbox_after_the_incident_closed(coded, fb, settings):
    from supervision import selectors

    w = coded
    settings.SUPERVISION_FEEDBACK_REWORK_S = 60
    incident_services.incident_close(incident_id=fb.incident_id, actor=w.station_a1_officer)
    api_as(w.supervisor).post(f"{URL}{fb.pk}/return/", {"note": "补充"}, format="json")
    clocks.sweep(now=timezone.now() + timedelta(minutes=2))
    [row] = selectors.inbox_reminders(w.station_a1_officer)
    assert row["incident"] == fb.incident_id and row["can_ack"] is True
    api_as(w.station_a1_officer).post(f"{URL}{fb.pk}/rectify/", {"text": "已整改"}, format="json")
    assert selectors.inbox_reminders(w.station_a1_officer) == []


def test_the_station_inbox_lists_what_was_returned_until_it_is_rectified(coded, fb):
    w = coded
    station = api_as(w.station_a1_officer)
    assert station.get("/api/board/inbox/").json()["feedback_returns"] == []
    api_as(w.supervisor).post(f"{URL}{fb.pk}/return/", {"note": "补充当事人信息"}, format="json")
    [row] = station.get("/api/board/inbox/").json()["feedback_returns"]
    assert row["feedback"] == fb.pk and row["incident_number"] == fb.incident.number
    assert row["note"] == "补充当事人信息" and row["due_at"] and row["url"].endswith(f"#feedback-{fb.pk}")
    assert api_as(w.station_b1_officer).get("/api/board/inbox/").json()["feedback_returns"] == []
    station.post(f"{URL}{fb.pk}/rectify/", {"text": "已补充"}, format="json")
    assert station.get("/api/board/inbox/").json()["feedback_returns"] == []
