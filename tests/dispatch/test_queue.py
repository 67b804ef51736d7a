"""No call waits unseen (issue 12): the dispatch clock (received → first order) per incident, and the board's
working queue — a broken dispatch clock first, then other broken clocks, then the waiting calls by level and
age; diverted, merged and closed incidents behind a filter; linked duplicates under their master."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from command_center import clocks
from command_center.models import Deadline
from incidents import services as incident_services
from incidents.models import CLOCK_DISPATCH, Incident, LinkType, SlaPolicy

from .conftest import api_as, dispatch, make_incident

pytestmark = pytest.mark.django_db


def dispatch_clocks(incident: Incident):
    return Deadline.objects.filter(subject_id=incident.pk, kind=CLOCK_DISPATCH)


def the_clock(incident: Incident) -> Deadline:
    (d,) = dispatch_clocks(incident)
    return d


# --- The clock ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("level", "seconds"), [(1, 60), (2, 120), (3, 300), (4, 600)])
def test_intake_starts_the_dispatch_clock_by_level(coded, level, seconds):
    i = make_incident(coded, level=level)
    d = the_clock(i)
    assert d.due_at == i.reported_at + timedelta(seconds=seconds)
    assert d.org_id == i.org_id and d.met_at is None and d.cancelled_at is None


def test_a_policy_sets_the_dispatch_clock_by_category_and_level(coded):
    SlaPolicy.objects.create(name="治安 1 级 30 秒派警", category_prefix="02", level=1, dispatch_s=30)
    SlaPolicy.objects.create(name="治安 签收", category_prefix="0205", sign_s=20)  # more specific, no dispatch_s
    one = make_incident(coded, level=1, category="010100")  # 刑事: no policy of its own
    two = make_incident(coded, level=1)  # 治安 0205: the most specific policy leaves dispatch to the level
    three = make_incident(coded, level=1, category="020100")  # 治安 0201: 30 s
    assert the_clock(one).due_at == one.reported_at + timedelta(seconds=60)
    assert the_clock(two).due_at == two.reported_at + timedelta(seconds=60)
    assert the_clock(three).due_at == three.reported_at + timedelta(seconds=30)


def test_the_first_order_meets_the_clock_and_reinforcements_leave_it(coded, car):
    i = make_incident(coded)
    dispatch(coded, i, unit=car)
    d = the_clock(i)
    assert d.met_at is not None and d.breached_at is None
    dispatch(coded, i, org=coded.station_a1)
    assert dispatch_clocks(i).count() == 1


def test_a_late_dispatch_meets_the_broken_clock_late(coded, car):
    i = make_incident(coded, level=1)
    assert clocks.sweep(now=i.reported_at + timedelta(seconds=61)) == 1
    d = the_clock(i)
    assert d.breached_at is not None and d.met_at is None
    dispatch(coded, i, unit=car)
    d.refresh_from_db()
    assert d.met_at is not None  # met late: the breach stays recorded


def test_the_sweep_breaks_the_clock_only_once_it_is_due(coded):
    i = make_incident(coded, level=2)
    assert clocks.sweep(now=i.reported_at + timedelta(seconds=119)) == 0
    assert the_clock(i).breached_at is None
    assert clocks.sweep(now=i.reported_at + timedelta(seconds=121)) == 1
    assert the_clock(i).breached_at is not None
    assert clocks.sweep(now=i.reported_at + timedelta(seconds=200)) == 0  # exactly once


def _cancelled(i: Incident) -> bool:
    d = the_clock(i)
    return d.cancelled_at is not None and d.met_at is None


def test_leaving_the_wait_without_a_dispatch_cancels_the_clock(coded):
    duty = coded.duty
    diverted = make_incident(coded)
    incident_services.incident_divert(incident_id=diverted.pk, actor=duty, partner=coded.partner)
    invalid = make_incident(coded)
    incident_services.incident_invalidate(incident_id=invalid.pk, actor=duty, reason="误拨")
    handled = make_incident(coded)
    incident_services.incident_self_handle(incident_id=handled.pk, actor=duty, reason="电话调解")
    master = make_incident(coded)
    merged = make_incident(coded)
    incident_services.incident_merge(incident_id=merged.pk, actor=duty, into_id=master.pk)
    linked = make_incident(coded)
    incident_services.incident_link(incident_id=linked.pk, actor=duty, master_id=master.pk, link_type=LinkType.REPEAT)
    for i in (diverted, invalid, handled, merged, linked):
        assert _cancelled(i), i.state
    assert the_clock(master).cancelled_at is None


def test_a_broken_clock_of_a_diverted_call_leaves_the_open_breaches(coded):
    i = make_incident(coded, level=1)
    clocks.sweep(now=i.reported_at + timedelta(seconds=61))
    incident_services.incident_divert(incident_id=i.pk, actor=coded.duty, partner=coded.partner)
    assert not clocks.unmet().breached().filter(subject_id=i.pk, kind=CLOCK_DISPATCH).exists()


def test_a_partner_return_starts_the_clock_again(coded):
    i = make_incident(coded, level=2)
    d = incident_services.incident_divert(incident_id=i.pk, actor=coded.duty, partner=coded.partner)
    incident_services.diversion_return(diversion_id=d.pk, actor=coded.partner_agent, reason="不属于我单位")
    fresh = dispatch_clocks(i).filter(cancelled_at__isnull=True).get()
    d.refresh_from_db()
    assert d.finished_at is not None
    assert fresh.due_at == d.finished_at + timedelta(seconds=120)


def test_a_call_linked_at_intake_has_no_clock_of_its_own(coded):
    master = make_incident(coded)
    again = make_incident(coded, repeat_of=master)
    assert not dispatch_clocks(again).exists()


def test_the_clock_is_registered_with_a_label():
    assert str(clocks.kind(CLOCK_DISPATCH).label)


# --- The queue ------------------------------------------------------------------------------------------


def board(coded, **params):
    r = api_as(coded.duty).get("/api/board/", params)
    assert r.status_code == 200
    return r.json()


def numbers(state) -> list[str]:
    return [r["number"] for r in state["incidents"]]


def test_waiting_calls_lead_by_level_and_age_and_a_broken_dispatch_clock_comes_first(coded, car):
    now = timezone.now()

    def aged(level, minutes):
        i = make_incident(coded, level=level)
        Incident.objects.filter(pk=i.pk).update(reported_at=now - timedelta(minutes=minutes))
        return i

    in_hand = aged(1, 1)
    dispatch(coded, in_hand, unit=car)  # in hand: a feedback clock runs, after every waiting call
    old_l3 = aged(3, 4)
    new_l2 = aged(2, 1)
    old_l2 = aged(2, 3)
    late = aged(4, 30)
    # Only the level-4 call's clock is due (the clocks run from intake here; its due time is moved back).
    Deadline.objects.filter(subject_id=late.pk, kind=CLOCK_DISPATCH).update(due_at=now - timedelta(seconds=1))
    clocks.sweep(now=now)
    state = board(coded)
    assert numbers(state) == [late.number, old_l2.number, new_l2.number, old_l3.number, in_hand.number]
    (row,) = [r for r in state["incidents"] if r["id"] == late.pk]
    (clock,) = row["clocks"]
    assert clock["kind"] == CLOCK_DISPATCH and clock["breached_at"] and clock["label"]


def test_a_broken_dispatch_clock_leads_even_other_broken_clocks(coded, car):
    now = timezone.now()
    in_hand = make_incident(coded, level=1)
    dispatch(coded, in_hand, unit=car)
    waiting = make_incident(coded, level=4)
    Deadline.objects.filter(subject_id__in=[in_hand.pk, waiting.pk], met_at__isnull=True).update(
        due_at=now - timedelta(seconds=1)
    )
    clocks.sweep(now=now)
    assert numbers(board(coded))[:2] == [waiting.number, in_hand.number]


def test_diverted_merged_and_closed_leave_the_queue_and_the_filter_shows_them(coded):
    duty = coded.duty
    waiting = make_incident(coded)
    diverted = make_incident(coded)
    incident_services.incident_divert(incident_id=diverted.pk, actor=duty, partner=coded.partner)
    merged = make_incident(coded)
    incident_services.incident_merge(incident_id=merged.pk, actor=duty, into_id=waiting.pk)
    closed = make_incident(coded)
    incident_services.incident_self_handle(incident_id=closed.pk, actor=duty)
    incident_services.incident_feedback(incident_id=closed.pk, actor=duty, text="已调解", result=_result())
    incident_services.incident_close(incident_id=closed.pk, actor=duty)
    state = board(coded)
    assert numbers(state) == [waiting.number]
    assert state["ended"] is False
    state = board(coded, ended="1")
    assert state["ended"] is True
    assert numbers(state)[0] == waiting.number
    assert set(numbers(state)[1:]) == {diverted.number, closed.number}  # the merged one rides under its master
    assert [r["ended"] for r in state["incidents"]] == [False, True, True]


def _result():
    from command_center.models import HandlingResult

    return HandlingResult.objects.filter(active=True).first()


def test_a_linked_duplicate_rides_under_its_master_and_leaves_with_it(coded):
    master = make_incident(coded)
    again = make_incident(coded, repeat_of=master, link_type=LinkType.URGE)
    later = make_incident(coded)
    incident_services.incident_link(incident_id=later.pk, actor=coded.duty, master_id=master.pk, link_type="repeat")
    state = board(coded)
    assert numbers(state) == [master.number]
    (row,) = state["incidents"]
    assert [d["number"] for d in row["duplicates"]] == [again.number, later.number]
    assert row["duplicates"][0]["link_type"] == LinkType.URGE
    incident_services.incident_invalidate(incident_id=master.pk, actor=coded.duty, reason="恶作剧")
    assert numbers(board(coded)) == []


def test_the_intake_push_carries_the_clock_and_a_linked_push_names_its_master(coded):
    from tests.conftest import capture_broadcasts

    with capture_broadcasts() as sent:
        master = make_incident(coded, level=1)
    (created,) = {e["data"]["id"]: e for e in sent if e["event"] == "incident.created"}.values()
    (clock,) = created["data"]["clocks"]
    assert clock["kind"] == CLOCK_DISPATCH and clock["breached_at"] is None
    with capture_broadcasts() as sent:
        again = make_incident(coded, repeat_of=master)
    pushes = [e["data"] for e in sent if e["event"] == "incident.created"]
    assert pushes and all(p["id"] == again.pk and p["master"] == master.pk for p in pushes)


def test_a_merge_push_names_the_master(coded):
    from tests.conftest import capture_broadcasts

    master = make_incident(coded)
    dup = make_incident(coded)
    with capture_broadcasts() as sent:
        incident_services.incident_merge(incident_id=dup.pk, actor=coded.duty, into_id=master.pk)
    pushes = [e["data"] for e in sent if e["event"] == "incident.updated" and e["data"]["id"] == dup.pk]
    assert pushes and all(p["master"] == master.pk and p["state"] == "merged" for p in pushes)
