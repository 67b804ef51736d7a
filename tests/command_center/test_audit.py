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
