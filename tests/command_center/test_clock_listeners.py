"""The clocks kernel's breach listeners (`clocks.listen`, `clocks.Breach`) and its read side (`unmet`,
`overdue`, `overdue_ids`, `unmet_q`), on the test app's widgets."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from command_center import clocks
from command_center.models import Deadline
from tests.testapp.models import Widget

RESPOND = "testapp.respond"  # registered by the test app, with an owner's handler that marks the widget late
PROBE = "testapp.probe"  # registered by these tests


@pytest.fixture(autouse=True)
def own_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test adds kinds and listeners to copies: the process's own (the apps') stay as they were."""
    monkeypatch.setattr(clocks, "_registry", dict(clocks._registry))
    monkeypatch.setattr(clocks, "_listeners", list(clocks._listeners))


@pytest.fixture
def widget(world: Any) -> Widget:
    return Widget.objects.create(org=world.station_a1, name="w")


def _due(widget: Widget, kind: str, world: Any, *, seconds: int = 0) -> Deadline:
    return clocks.start(widget, kind, due=timezone.now() + timedelta(seconds=seconds), org=world.station_a1)


def _sweep(seconds: int = 1) -> int:
    return clocks.sweep(now=timezone.now() + timedelta(seconds=seconds))


# --- Listeners ------------------------------------------------------------------------------------------


def test_the_owner_runs_first_then_the_listeners_in_the_order_added_with_the_owners_facts(world, widget):
    calls: list[tuple[str, object]] = []

    def owner(deadline: Deadline) -> dict[str, int]:
        calls.append(("owner", deadline.pk))
        return {"widget": deadline.subject_id}

    clocks.register(PROBE, label="probe", on_breach=owner)
    clocks.listen(PROBE, lambda b: calls.append(("first", b.facts)))
    clocks.listen(PROBE, lambda b: calls.append(("second", b.facts)))
    d = _due(widget, PROBE, world)
    assert _sweep() == 1
    assert calls == [("owner", d.pk), ("first", {"widget": widget.pk}), ("second", {"widget": widget.pk})]


def test_a_listener_is_given_the_breached_deadline(world, widget):
    seen: list[clocks.Breach] = []
    clocks.listen(RESPOND, seen.append)
    d = _due(widget, RESPOND, world)
    _sweep()
    assert [b.deadline.pk for b in seen] == [d.pk]
    assert seen[0].deadline.breached_at is not None
    assert seen[0].facts is None  # the test app's owner returns nothing


def test_a_listener_hears_one_kind_every_kind_or_the_kinds_a_predicate_names(world):
    heard: dict[str, list[str]] = {"respond": [], "any": [], "probe-ish": []}
    clocks.register(PROBE, label="probe")  # no owner's handler: the listeners alone
    clocks.listen(RESPOND, lambda b: heard["respond"].append(b.deadline.kind))
    clocks.listen(None, lambda b: heard["any"].append(b.deadline.kind))
    clocks.listen(lambda name: name.endswith(".probe"), lambda b: heard["probe-ish"].append(b.deadline.kind))
    _due(Widget.objects.create(org=world.station_a1, name="a"), RESPOND, world)
    _due(Widget.objects.create(org=world.station_a1, name="b"), PROBE, world, seconds=1)
    assert _sweep(2) == 2
    assert heard == {"respond": [RESPOND], "any": [RESPOND, PROBE], "probe-ish": [PROBE]}


def test_a_listener_added_before_its_kind_is_registered_still_hears_it(world, widget):
    heard: list[int] = []
    clocks.listen(PROBE, lambda b: heard.append(b.deadline.pk))  # the higher app's ready() ran first
    clocks.register(PROBE, label="probe")
    d = _due(widget, PROBE, world)
    _sweep()
    assert heard == [d.pk]


def test_registering_a_kind_again_keeps_its_listeners_and_listening_twice_is_once(world, widget):
    heard: list[int] = []

    def listener(breach: clocks.Breach) -> None:
        heard.append(breach.deadline.pk)

    clocks.register(PROBE, label="probe")
    clocks.listen(PROBE, listener)
    clocks.listen(PROBE, listener)  # an AppConfig.ready that ran twice
    clocks.register(PROBE, label="probe, again")
    assert clocks.listeners(PROBE) == [listener]
    d = _due(widget, PROBE, world)
    _sweep()
    assert heard == [d.pk]


def test_a_failing_listener_rolls_back_the_whole_escalation_and_the_row_is_retried(world, widget):
    heard: list[int] = []
    broken = [True]

    def listener(breach: clocks.Breach) -> None:
        heard.append(breach.deadline.pk)
        if broken[0]:
            raise RuntimeError("listener failed")

    clocks.listen(RESPOND, listener)
    now = timezone.now()
    d = clocks.start(widget, RESPOND, due=now, org=world.station_a1)
    assert clocks.sweep(now=now) == 0
    d.refresh_from_db()
    widget.refresh_from_db()
    assert widget.state == "new"  # the owner's write went with the listener's failure
    assert d.state == "open" and d.attempts == 1 and "listener failed" in d.last_error
    assert d.due_at == now + timedelta(seconds=5)
    broken[0] = False
    assert clocks.sweep(now=now + timedelta(seconds=5)) == 1  # the retry runs the owner and the listener again
    d.refresh_from_db()
    widget.refresh_from_db()
    assert d.state == "breached" and widget.state == "late"
    assert heard == [d.pk, d.pk]


def _savepoints(world: Any, kind: str) -> int:
    _due(Widget.objects.create(org=world.station_a1, name=kind), kind, world)
    with CaptureQueriesContext(connection) as ctx:
        assert _sweep() == 1
    return sum(q["sql"].startswith("SAVEPOINT") for q in ctx.captured_queries)


def test_a_kind_nobody_handles_or_hears_gets_no_savepoint_per_row(world):
    clocks.register(PROBE, label="probe")  # no owner's handler
    clocks.listen(RESPOND, lambda b: None)  # a listener of another kind
    assert clocks.listeners(PROBE) == []
    bare = _savepoints(world, PROBE)
    clocks.listen(PROBE, lambda b: None)
    assert _savepoints(world, PROBE) == bare + 1  # a listener's row gets its savepoint


# --- Reads ----------------------------------------------------------------------------------------------


@pytest.fixture
def clock_states(world: Any) -> dict[str, Widget]:
    """A widget per state of its one clock: running, broken, broken and met late, met, cancelled."""
    now = timezone.now()
    ws = {name: Widget.objects.create(org=world.station_a1, name=name) for name in ("running", "broken", "late", "met")}
    ws["cancelled"] = Widget.objects.create(org=world.station_a1, name="cancelled")
    clocks.start(ws["running"], RESPOND, due=now + timedelta(hours=1), org=world.station_a1)
    for name in ("broken", "late", "met", "cancelled"):
        clocks.start(ws[name], RESPOND, due=now, org=world.station_a1)
    clocks.meet(ws["met"], RESPOND)
    clocks.cancel(ws["cancelled"])
    clocks.sweep(now=now + timedelta(seconds=1))
    clocks.meet(ws["late"], RESPOND)
    return ws


def _names(qs: Any) -> set[str]:
    return set(Widget.objects.filter(pk__in=qs.values("subject_id")).values_list("name", flat=True))


def test_unmet_is_running_and_broken_clocks_not_met_or_cancelled(clock_states):
    assert _names(clocks.unmet()) == {"running", "broken"}
    assert _names(clocks.unmet().breached()) == {"broken"}
    assert _names(Deadline.objects.filter(clocks.unmet_q())) == {"running", "broken"}


def test_unmet_q_follows_a_relation_to_the_deadline():
    assert clocks.unmet_q("deadline") == Q(deadline__met_at__isnull=True, deadline__cancelled_at__isnull=True)


def test_overdue_lists_the_broken_unmet_kinds_by_subject(world, clock_states):
    ws = clock_states
    clocks.register(PROBE, label="probe")
    clocks.start(ws["broken"], PROBE, due=timezone.now(), org=world.station_a1)
    clocks.sweep(now=timezone.now() + timedelta(seconds=1))
    found = clocks.overdue(Widget, [w.pk for w in ws.values()])
    assert {pk: sorted(kinds) for pk, kinds in found.items()} == {ws["broken"].pk: [PROBE, RESPOND]}
    assert clocks.overdue(Widget, [ws["broken"].pk], prefix="testapp.res") == {ws["broken"].pk: [RESPOND]}
    assert clocks.overdue(Widget, [ws["running"].pk]) == {}
    assert clocks.overdue(Widget, []) == {}
    assert clocks.overdue(Deadline, [ws["broken"].pk]) == {}  # another model's ids are not the widgets'


def test_overdue_ids_filters_the_subjects_with_a_broken_unmet_clock(clock_states):
    late = clocks.overdue_ids(Widget)
    assert set(Widget.objects.filter(pk__in=late).values_list("name", flat=True)) == {"broken"}
    assert set(Widget.objects.exclude(pk__in=late).values_list("name", flat=True)) == {
        "running",
        "late",
        "met",
        "cancelled",
    }
    assert not Widget.objects.filter(pk__in=clocks.overdue_ids(Widget, prefix="testapp.other")).exists()
