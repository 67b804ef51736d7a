import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from command_center import clocks
from command_center.models import Deadline
from tests.conftest import capture_broadcasts
from tests.testapp.models import Widget


@pytest.fixture
def widget(world):
    return Widget.objects.create(org=world.station_a1, name="w")


def test_a_due_deadline_fires_once(world, widget):
    now = timezone.now()
    d = clocks.start(widget, "testapp.respond", due=now + timedelta(seconds=30), org=world.station_a1)
    assert clocks.sweep(now=now + timedelta(seconds=29)) == 0
    with capture_broadcasts() as sent:
        assert clocks.sweep(now=now + timedelta(seconds=31)) == 1
    assert clocks.sweep(now=now + timedelta(seconds=60)) == 0
    d.refresh_from_db()
    assert d.state == "breached" and d.breached_at == now + timedelta(seconds=31)
    widget.refresh_from_db()
    assert widget.state == "late"  # the kind's on_breach ran
    # Pushed to the station and every ancestor, once each, after commit.
    assert [(m["group"], m["event"]) for m in sent] == [
        (f"org.{world.city.pk}", "deadlines.breached"),
        (f"org.{world.county_a.pk}", "deadlines.breached"),
        (f"org.{world.station_a1.pk}", "deadlines.breached"),
    ]
    assert sent[0]["data"]["deadlines"][0]["id"] == d.pk
    assert sent[0]["data"]["deadlines"][0]["subject"] == {"type": "testapp.widget", "id": widget.pk}


def test_a_met_deadline_never_fires(world, widget):
    now = timezone.now()
    d = clocks.start(widget, "testapp.respond", due=now + timedelta(seconds=30), org=world.station_a1)
    assert clocks.meet(widget, "testapp.respond", at=now + timedelta(seconds=10)) == 1
    assert clocks.sweep(now=now + timedelta(hours=1)) == 0
    d.refresh_from_db()
    assert d.state == "met" and d.breached_at is None


def test_a_cancelled_deadline_never_fires(world, widget):
    now = timezone.now()
    clocks.start(widget, "testapp.respond", due=now, org=world.station_a1)
    assert clocks.cancel(widget) == 1
    assert clocks.sweep(now=now + timedelta(hours=1)) == 0


def test_meeting_a_breached_deadline_records_it_was_met_late(world, widget):
    now = timezone.now()
    d = clocks.start(widget, "testapp.respond", due=now, org=world.station_a1)
    clocks.sweep(now=now + timedelta(seconds=1))
    clocks.meet(widget, "testapp.respond", at=now + timedelta(seconds=90))
    d.refresh_from_db()
    assert d.breached_at and d.met_at == now + timedelta(seconds=90)


def test_the_sweep_runs_on_the_clock(world, widget):
    with time_machine.travel("2026-11-22 08:00:00+08:00", tick=False):
        clocks.start(widget, "testapp.respond", due=timezone.now() + timedelta(minutes=3), org=world.station_a1)
    with time_machine.travel("2026-11-22 08:02:59+08:00", tick=False):
        assert clocks.sweep() == 0
    with time_machine.travel("2026-11-22 08:03:00+08:00", tick=False):
        assert clocks.sweep() == 1


def test_a_poison_row_is_pushed_forward_not_looped(world):
    poison = Widget.objects.create(org=world.station_a1, name="poison")
    good = Widget.objects.create(org=world.station_a1, name="good")
    now = timezone.now()
    bad_d = clocks.start(poison, "testapp.respond", due=now, org=world.station_a1)
    good_d = clocks.start(good, "testapp.respond", due=now, org=world.station_a1)
    assert clocks.sweep(now=now) == 1  # the good one; the sweep did not crash or spin
    bad_d.refresh_from_db()
    good_d.refresh_from_db()
    assert good_d.state == "breached"
    assert bad_d.state == "open" and bad_d.attempts == 1 and "escalation failed" in bad_d.last_error
    assert bad_d.due_at == now + timedelta(seconds=5)
    assert clocks.sweep(now=now + timedelta(seconds=4)) == 0  # not retried before its time
    clocks.sweep(now=now + timedelta(seconds=5))
    bad_d.refresh_from_db()
    assert bad_d.attempts == 2 and bad_d.due_at == now + timedelta(seconds=15)  # backing off


def test_starting_an_unregistered_kind_is_refused(world, widget):
    with pytest.raises(clocks.UnknownClockKind):
        clocks.start(widget, "testapp.typo", due=timezone.now(), org=world.station_a1)


def test_one_open_clock_per_kind_per_subject(world, widget):
    clocks.start(widget, "testapp.respond", due=timezone.now(), org=world.station_a1)
    with pytest.raises(IntegrityError), transaction.atomic():
        clocks.start(widget, "testapp.respond", due=timezone.now(), org=world.station_a1)


def test_a_rolled_back_service_leaves_no_clock(world, widget):
    with pytest.raises(RuntimeError), transaction.atomic():
        clocks.start(widget, "testapp.respond", due=timezone.now(), org=world.station_a1)
        raise RuntimeError("the state change failed")
    assert not Deadline.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_sweeps_fire_each_deadline_exactly_once():
    from tests.conftest import build_world

    w = build_world()
    now = timezone.now()
    widgets = Widget.objects.bulk_create(Widget(org=w.station_a1, name=f"w{i}") for i in range(300))
    for wd in widgets:
        clocks.start(wd, "testapp.respond", due=now, org=w.station_a1)
    counts: list[int] = []
    barrier = threading.Barrier(2)

    def sweeper() -> None:
        try:
            barrier.wait()
            counts.append(clocks.sweep(now=now + timedelta(seconds=1), batch=7))
        finally:
            connection.close()

    threads = [threading.Thread(target=sweeper) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sum(counts) == 300
    assert Deadline.objects.filter(breached_at__isnull=False).count() == 300
    assert Widget.objects.filter(state="late").count() == 300


def test_oldest_due_age_reports_the_sweepers_lag(world, widget):
    now = timezone.now()
    assert clocks.oldest_due_age(now) is None
    clocks.start(widget, "testapp.respond", due=now - timedelta(seconds=42), org=world.station_a1)
    assert clocks.oldest_due_age(now) == pytest.approx(42)


def test_a_pushed_breach_is_marked_and_not_sent_again(world, widget):
    now = timezone.now()
    d = clocks.start(widget, "testapp.respond", due=now, org=world.station_a1)
    with capture_broadcasts():
        clocks.sweep(now=now + timedelta(seconds=1))
    d.refresh_from_db()
    assert d.pushed_at is not None
    with capture_broadcasts() as again:
        assert clocks.repush(now=now + timedelta(minutes=5)) == 0
    assert again == []


def test_a_breach_whose_push_was_lost_is_pushed_by_a_later_sweep(world, widget):
    """The worker died between commit and push: the breach is recorded, its push never happened."""
    now = timezone.now()
    d = clocks.start(widget, "testapp.respond", due=now, org=world.station_a1)
    assert clocks.sweep(now=now + timedelta(seconds=1)) == 1  # after-commit callbacks never run here
    d.refresh_from_db()
    assert d.breached_at is not None and d.pushed_at is None
    with capture_broadcasts() as early:
        assert clocks.repush(now=now + timedelta(seconds=3)) == 0  # not yet: the first push may be on its way
    assert early == []
    with capture_broadcasts() as sent:
        assert clocks.sweep(now=now + timedelta(seconds=7)) == 0  # nothing new is breached...
    assert {m["data"]["deadlines"][0]["id"] for m in sent} == {d.pk}  # ...but the lost push goes out
    d.refresh_from_db()
    assert d.pushed_at is not None and d.breached_at == now + timedelta(seconds=1)  # recorded once
