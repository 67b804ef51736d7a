"""The kernel's transition step (command_center/transitions.py) and the log row in SQL (audit.log_insert_sql),
on the test app's widget: new → busy → done."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from command_center import audit, transitions
from command_center.transitions import InvalidTransition
from tests.testapp.models import Widget, WidgetTransition

TABLE = {
    "new": {"start": "busy", "touch": "new"},
    "busy": {"finish": "done", "drop": "new", "touch": "busy"},
    "done": {},
}


@pytest.fixture
def widget(world):
    w = Widget.objects.create(org=world.station_a1, name="w")
    w.version = 1  # type: ignore[attr-defined]  # the widget keeps no version; `apply` needs only the attribute
    return w


def test_moves_is_true_only_for_an_allowed_event_that_leads_elsewhere():
    assert transitions.moves(TABLE, "new", "start")
    assert not transitions.moves(TABLE, "new", "touch")  # a self-loop: allowed, yet it stays
    assert not transitions.moves(TABLE, "new", "finish")  # not allowed
    assert not transitions.moves(TABLE, "gone", "start")  # unknown state


def test_apply_checks_logs_sets_the_state_and_bumps_the_version_without_saving(widget, world):
    assert transitions.apply(widget, TABLE, "start", world.duty, reason="go") == "busy"
    assert (widget.state, widget.version) == ("busy", 2)
    assert list(widget.transitions.values_list("from_state", "to_state", "event", "actor", "reason")) == [
        ("new", "busy", "start", world.duty.pk, "go")
    ]
    assert Widget.objects.get(pk=widget.pk).state == "new"  # the caller saves, with its own fields


def test_apply_logs_a_self_loop_and_keeps_the_state(widget, world):
    assert transitions.apply(widget, TABLE, "touch", world.duty) == "new"
    assert (widget.state, widget.version) == ("new", 2)
    assert list(widget.transitions.values_list("from_state", "to_state")) == [("new", "new")]


def test_the_system_acts_without_a_user(widget):
    class Clock:  # an actor with no saved user (a clock, the simulator)
        pk = None

    transitions.apply(widget, TABLE, "start", Clock())
    transitions.apply(widget, TABLE, "finish", None)
    assert list(widget.transitions.values_list("actor", flat=True)) == [None, None]


def test_a_refused_step_changes_nothing_and_offers_only_what_is_asked(widget, world):
    with pytest.raises(InvalidTransition) as exc:
        transitions.apply(widget, TABLE, "finish", world.duty)
    assert (exc.value.state, exc.value.event, exc.value.allowed) == ("new", "finish", ["start", "touch"])
    with pytest.raises(InvalidTransition) as exc:
        transitions.apply(widget, TABLE, "finish", world.duty, offer=["start"])
    assert exc.value.allowed == ["start"]
    assert (widget.state, widget.version) == ("new", 1)
    assert not WidgetTransition.objects.exists()


def test_apply_moves_another_field_when_told(widget, world):
    widget.status = "new"
    assert transitions.apply(widget, TABLE, "start", world.duty, field="status") == "busy"
    assert (widget.status, widget.state) == ("busy", "new")


def _locking_sql(call):
    with transaction.atomic(), CaptureQueriesContext(connection) as ctx:
        found = call()
    return found, ctx.captured_queries[-1]["sql"]


def test_lock_takes_the_row_itself_never_what_it_joins(world):
    w = Widget.objects.create(org=world.station_a1, name="w")
    found, sql = _locking_sql(lambda: transitions.lock(Widget, w.pk, related=["org"]))
    assert found == w and found.org == world.station_a1
    assert 'JOIN "command_center_org"' in sql
    assert sql.endswith('FOR UPDATE OF "testapp_widget"')


def test_lock_without_related_joins_nothing_and_no_key_is_weaker(world):
    w = Widget.objects.create(org=world.station_a1, name="w")
    _found, sql = _locking_sql(lambda: transitions.lock(Widget, w.pk, no_key=True))
    assert "JOIN" not in sql
    assert sql.endswith('FOR NO KEY UPDATE OF "testapp_widget"')


def test_lock_all_locks_in_key_order_and_takes_a_queryset(world):
    a, b, c = (Widget.objects.create(org=world.station_a1, name=n) for n in "abc")
    found, sql = _locking_sql(lambda: transitions.lock_all(Widget, [c.pk, a.pk, b.pk]))
    assert found == [a, b, c]
    assert 'ORDER BY "testapp_widget"."id" ASC' in sql and sql.endswith('FOR UPDATE OF "testapp_widget"')
    Widget.objects.filter(pk=b.pk).update(state="done")
    assert transitions.lock_all(Widget.objects.filter(state="new"), [c.pk, b.pk, a.pk]) == [a, c]


def test_a_missing_row_is_does_not_exist(world):
    with pytest.raises(Widget.DoesNotExist):
        transitions.lock(Widget, 0)


def test_the_log_row_in_sql_is_the_row_log_transition_writes(world):
    """A statement that stores its subject in SQL writes the subject's first log row in the same statement."""
    w = Widget.objects.create(org=world.station_a1, name="w")
    sql = audit.log_insert_sql(Widget, subject_sql="w.id", from_sql="w")
    assert sql.startswith('INSERT INTO "testapp_widgettransition" (')
    params = audit.log_insert_params(from_state="", to_state="new", event="create", actor=world.duty, reason="r")
    with connection.cursor() as cur:
        cur.execute(f"WITH w AS (SELECT %s::bigint AS id) {sql}", [w.pk, *params])
    audit.log_transition(w, from_state="new", to_state="busy", event="start")
    rows = list(w.transitions.values_list("from_state", "to_state", "event", "actor", "reason"))
    assert rows == [("", "new", "create", world.duty.pk, "r"), ("new", "busy", "start", None, "")]
    first, second = w.transitions.all()
    assert first.at is not None and first.at <= second.at  # the database's clock, as for every row


def test_the_log_row_params_name_no_user_for_the_system():
    assert audit.log_insert_params(from_state="a", to_state="b", event="e") == ["a", "b", "e", None, ""]
