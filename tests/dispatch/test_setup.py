"""What surrounds the dispatch app: admin pages, demo data, role permissions, the API schema."""

from collections import Counter

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.utils import timezone

from dispatch import selectors
from dispatch.demo import duty_day
from dispatch.models import DispatchOrder, OrderTransition, Shift, Unit, UnitTransition

from .conftest import api_as, dispatch, make_incident, make_unit


@pytest.fixture
def admin_client_(coded, client):
    admin = User.objects.create_superuser("root", password="pw-12345")
    client.force_login(admin)
    return client


def test_every_dispatch_model_has_an_admin(coded, admin_client_):
    unit = make_unit(coded.station_a1)
    order = dispatch(coded, make_incident(coded), unit=unit)
    for model, obj in [
        (Unit, unit),
        (DispatchOrder, order),
        (Shift, None),
        (UnitTransition, UnitTransition.objects.first()),
        (OrderTransition, OrderTransition.objects.first()),
    ]:
        base = f"/admin/dispatch/{model._meta.model_name}/"
        assert admin_client_.get(base).status_code == 200, base
        if obj is not None:
            assert admin_client_.get(f"{base}{obj.pk}/change/").status_code == 200, base
    # Logs and orders are not added or deleted by hand.
    for model in (UnitTransition, OrderTransition, DispatchOrder):
        assert admin_client_.get(f"/admin/dispatch/{model._meta.model_name}/add/").status_code == 403


def test_editing_a_unit_in_the_admin_bumps_its_version_and_keeps_its_status(coded, admin_client_):
    unit = make_unit(coded.station_a1, call_sign="东湖巡1")
    Unit.objects.filter(pk=unit.pk).update(status="busy")
    r = admin_client_.post(
        f"/admin/dispatch/unit/{unit.pk}/change/",
        {
            "call_sign": "东湖巡9",
            "kind": "patrol_car",
            "org": coded.station_a1.pk,
            "capabilities": "02,05",
            "ring_minutes": 1,
            "lat": 30.3,
            "lon": 120.2,
        },
    )
    assert r.status_code == 302, r.content[:2000]
    u = Unit.objects.get(pk=unit.pk)
    assert (u.call_sign, u.capabilities, u.ring_minutes, u.status, u.version) == ("东湖巡9", ["02", "05"], 1, "busy", 2)


def test_roles_hold_the_dispatch_view_permissions(coded):
    assert coded.station_a1_officer.has_perm("dispatch.view_dispatchorder")
    assert coded.duty.has_perm("dispatch.view_unit")
    assert not coded.partner_agent.has_perm("dispatch.view_unit")


def test_demo_units_and_todays_shifts_are_idempotent(db):
    call_command("load_demo")
    per_station = Counter(Unit.objects.values_list("org__level", "org"))
    assert len(per_station) == 12 and {level for level, _ in per_station} == {"station"}
    assert set(per_station.values()) == {3, 4, 5, 6}
    assert Unit.objects.filter(lat__isnull=True).count() == 0
    assert {u.kind for u in Unit.objects.all()} == {k.value for k in Unit.Kind}
    city = User.objects.get(username="commander").person.org
    commander = selectors.commander_of_day(city)
    assert commander is not None and commander.person.user.username == "commander"
    start, end = duty_day()
    assert commander.starts_at == start and start <= timezone.now() < end
    before = (Unit.objects.count(), Shift.objects.count())
    call_command("load_demo")
    assert (Unit.objects.count(), Shift.objects.count()) == before


def test_schema_documents_the_dispatch_api(coded):
    schema = api_as(coded.duty).get("/api/schema/", HTTP_ACCEPT="application/json").json()
    for path in [
        "/api/units/",
        "/api/units/{id}/",
        "/api/units/{id}/position/",
        "/api/units/positions/",
        "/api/units/{id}/status/",
        "/api/orders/",
        "/api/orders/{id}/",
        "/api/orders/{id}/deliver/",
        "/api/orders/{id}/sign/",
        "/api/orders/{id}/arrive/",
        "/api/orders/{id}/return/",
        "/api/orders/{id}/cancel/",
        "/api/orders/{id}/done/",
        "/api/shifts/",
        "/api/shifts/current/",
        "/api/incidents/{id}/recommendations/",
        "/api/incidents/{id}/dispatch/",
    ]:
        assert path in schema["paths"], path


@pytest.mark.parametrize(
    "url",
    ["/api/units/", "/api/orders/", "/api/shifts/", "/api/shifts/current/"],
)
def test_anonymous_callers_are_refused(db, client, url):
    assert client.get(url).status_code in (401, 403)


def test_the_schema_generates_without_warnings(db, tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))
