"""Dispatch fixtures on the shared world: code tables, station positions, units near station A1 and an
incident there, taken by the city's call-taker."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from rest_framework.test import APIClient

from command_center import codes
from command_center.models import Category, Org
from dispatch import services
from dispatch.models import DispatchOrder, Unit
from incidents import services as incident_services
from incidents.models import Incident

_seq = itertools.count(1)

# Station A1 (东湖派出所) and a point 110 m north-east of it, where the incident happens.
A1 = (30.2900, 120.1600)
SCENE = (30.2908, 120.1608)


@pytest.fixture
def coded(world):
    codes.load_defaults()
    Org.objects.filter(pk=world.station_a1.pk).update(lat=A1[0], lon=A1[1])
    Org.objects.filter(pk=world.station_a2.pk).update(lat=30.3000, lon=120.2000)
    Org.objects.filter(pk=world.station_b1.pk).update(lat=30.2500, lon=120.1000)
    for name in ("station_a1", "station_a2", "station_b1"):
        setattr(world, name, Org.objects.get(pk=getattr(world, name).pk))
    return world


def api_as(user) -> APIClient:
    c = APIClient()
    c.force_authenticate(user)
    return c


def make_unit(org: Org, *, at: tuple[float, float] | None = A1, **fields: Any) -> Unit:
    from django.utils import timezone

    n = next(_seq)
    values: dict[str, Any] = {
        "call_sign": f"U{n:04d}",
        "kind": Unit.Kind.PATROL_CAR,
        "org": org,
        "ring_minutes": 3,
        "lat": at[0] if at else None,
        "lon": at[1] if at else None,
        "position_at": timezone.now() if at else None,
    }
    values.update(fields)
    return Unit.objects.create(**values)


def make_incident(world, *, position: tuple[float, float] | None = SCENE, category: str = "020500", **over) -> Incident:
    data = incident_services.IntakeData(
        call_id=f"D{next(_seq):08d}",
        source="110",
        address="东湖路12号",
        category=Category.objects.get(code=category),
        caller_phone="13800138000",
        caller_name="张三",
        lat=position[0] if position else None,
        lon=position[1] if position else None,
        **over,
    )
    incident, _ = incident_services.incident_intake(actor=world.duty, data=data)
    return Incident.objects.get(pk=incident.pk)


def dispatch(world, incident: Incident, *, unit: Unit | None = None, org: Org | None = None, actor=None):
    return services.order_dispatch(
        incident_id=incident.pk,
        actor=actor or world.duty,
        unit_id=unit.pk if unit else None,
        org_id=org.pk if org else None,
    )


@pytest.fixture
def incident(coded) -> Incident:
    return make_incident(coded)


@pytest.fixture
def car(coded) -> Unit:
    return make_unit(coded.station_a1, ring_minutes=3)


@pytest.fixture
def order(coded, incident, car) -> DispatchOrder:
    return dispatch(coded, incident, unit=car)


@pytest.fixture
def station(coded) -> APIClient:
    return api_as(coded.station_a1_officer)


@pytest.fixture
def duty(coded) -> APIClient:
    return api_as(coded.duty)
