import pytest

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
        cur.execute(
            "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE t.tgname = 'cc_append_only'"
        )
        guarded = {r[0] for r in cur.fetchall()}
    assert logs <= guarded


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
