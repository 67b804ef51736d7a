from datetime import timedelta

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

from command_center.audit import AppendOnlyError, log_transition
from tests.testapp.models import Widget, WidgetTransition


@pytest.fixture
def logged(world):
    w = Widget.objects.create(org=world.station_a1, name="w")
    row = log_transition(w, from_state="new", to_state="done", event="finish", actor=world.duty, reason="ok")
    return w, row


def test_log_transition_appends_a_row(logged, world):
    w, row = logged
    assert list(w.transitions.values_list("from_state", "to_state", "event", "actor", "reason")) == [
        ("new", "done", "finish", world.duty.pk, "ok")
    ]
    assert row.at is not None


def test_rows_cannot_be_changed_or_deleted_through_the_orm(logged):
    _w, row = logged
    row.reason = "rewritten"
    with pytest.raises(AppendOnlyError):
        row.save()
    with pytest.raises(AppendOnlyError):
        row.delete()
    with pytest.raises(AppendOnlyError):
        WidgetTransition.objects.filter(pk=row.pk).update(reason="x")
    with pytest.raises(AppendOnlyError):
        WidgetTransition.objects.all().delete()
    assert WidgetTransition.objects.get(pk=row.pk).reason == "ok"


def test_admin_offers_neither_change_nor_delete(rf, world):
    from django.contrib.admin.sites import AdminSite

    from command_center.admin import AppendOnlyAdmin

    admin = AppendOnlyAdmin(WidgetTransition, AdminSite())
    request = rf.get("/")
    request.user = world.duty
    assert not admin.has_change_permission(request)
    assert not admin.has_delete_permission(request)
    assert not admin.has_add_permission(request)


def test_state_tables_are_data_and_refuse_unknown_events():
    from command_center.transitions import InvalidTransition, next_state

    table = {"new": {"start": "busy"}, "busy": {"finish": "done", "drop": "new"}}
    assert next_state(table, "new", "start") == "busy"
    with pytest.raises(InvalidTransition) as exc:
        next_state(table, "busy", "start")
    assert exc.value.allowed == ["drop", "finish"] and exc.value.state == "busy"


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE {t} SET reason = 'rewritten' WHERE id = %s",
        "DELETE FROM {t} WHERE id = %s",
    ],
)
def test_the_database_refuses_changes_too(logged, sql):
    from django.db import DatabaseError, connection, transaction

    _w, row = logged
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cur:
        cur.execute(sql.format(t=WidgetTransition._meta.db_table), [row.pk])
    assert WidgetTransition.objects.get(pk=row.pk).reason == "ok"


def test_every_transition_log_table_has_the_trigger(db):
    from django.apps import apps
    from django.db import connection

    from command_center.audit import TransitionLog

    logs = {m._meta.db_table for m in apps.get_models() if issubclass(m, TransitionLog)}
    assert {"incidents_incidenttransition", "dispatch_ordertransition"} <= logs
    with connection.cursor() as cur:
        for trigger in ("cc_append_only", "cc_log_time"):
            cur.execute(
                "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE t.tgname = %s",
                [trigger],
            )
            guarded = {r[0] for r in cur.fetchall()}
            assert logs <= guarded, trigger


def test_every_log_in_the_admin_is_read_only_even_for_a_superuser(rf, db):
    """Walk the admin site: each transition log registered there refuses add, change and delete, and its
    change page is a read-only view, also for a superuser."""
    from django.contrib import admin
    from django.contrib.auth import get_user_model

    from command_center.audit import TransitionLog

    root = get_user_model().objects.create_superuser("root", password="pw-12345")
    request = rf.get("/")
    request.user = root
    logs = [(model, ma) for model, ma in admin.site._registry.items() if issubclass(model, TransitionLog)]
    assert len(logs) >= 3
    for model, model_admin in logs:
        assert not model_admin.has_add_permission(request), model
        assert not model_admin.has_change_permission(request), model
        assert not model_admin.has_delete_permission(request), model
        assert not model_admin.get_actions(request), model  # no bulk "delete selected"


def test_a_row_gets_the_database_time_whatever_the_app_clock_says(world):
    """The returned row holds the stored `at` (read back on insert), and that is the database's clock."""
    w = Widget.objects.create(org=world.station_a1, name="w")
    with time_machine.travel("2001-01-01 00:00:00+00:00", tick=False):
        row = log_transition(w, from_state="new", to_state="done", event="finish")
    stored = WidgetTransition.objects.get(pk=row.pk).at
    assert row.at == stored
    assert stored > timezone.now() - timedelta(minutes=5)


def test_a_back_dated_row_from_any_client_gets_the_database_time(logged):
    from django.db import connection

    w, _row = logged
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO testapp_widgettransition (from_state, to_state, event, reason, subject_id, at) "
            "VALUES ('done', 'done', 'forged', '', %s, '2001-01-01 00:00:00+00') RETURNING at, now()",
            [w.pk],
        )
        at, transaction_start = cur.fetchone()
    assert at >= transaction_start  # the database's clock, read at the insert
    assert WidgetTransition.objects.get(event="forged").at == at


def test_rows_of_one_transaction_keep_their_order(world):
    w = Widget.objects.create(org=world.station_a1, name="w")
    with transaction.atomic():
        for n in range(20):
            log_transition(w, from_state=str(n), to_state=str(n + 1), event="step")
    rows = list(w.transitions.all())  # ORDER BY at, id
    assert [r.to_state for r in rows] == [str(n + 1) for n in range(20)]
    assert [r.at for r in rows] == sorted(r.at for r in rows)


@pytest.mark.django_db(transaction=True)
def test_a_step_logged_after_waiting_stands_after_the_step_it_waited_for(world):
    """Transaction B begins, A moves the subject and commits, then B (having waited for the subject's lock)
    logs the next step. B's row is written later and must be listed later: the time is the clock at the
    insert, not the start of B's transaction (now()), which is earlier than A's step."""
    import psycopg2
    from django.db import connection

    w = Widget.objects.create(org=world.station_a1, name="w")
    s = connection.settings_dict
    b = psycopg2.connect(dbname=s["NAME"], user=s["USER"], password=s["PASSWORD"], host=s["HOST"], port=s["PORT"])
    try:
        with b.cursor() as cur:
            cur.execute("SELECT now()")  # B's transaction has begun
        log_transition(w, from_state="new", to_state="busy", event="start")  # A, committed
        with b.cursor() as cur:
            cur.execute(
                "INSERT INTO testapp_widgettransition (from_state, to_state, event, reason, subject_id, at) "
                "VALUES ('busy', 'done', 'finish', '', %s, now())",
                [w.pk],
            )
        b.commit()
    finally:
        b.close()
    assert list(w.transitions.values_list("event", flat=True)) == ["start", "finish"]
