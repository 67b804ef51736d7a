"""An order has one shape: the API's rendering (OrderSerializer.to_representation: the payload plus the API's
extras) matches DRF's own rendering of the fields the schema describes, and the board's schema describes the
rows the board sends (the payload plus its extras)."""

from __future__ import annotations

import pytest
from django.utils import timezone
from rest_framework import serializers

from dispatch import payloads, services
from dispatch.api import OrderSerializer
from dispatch.board_api import BoardOrderSerializer, OrderIncidentSerializer
from dispatch.models import DispatchOrder

from .conftest import dispatch

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("tz", ["Asia/Shanghai", "UTC"])
def test_api_rendering_matches_drf_field_by_field(coded, incident, car, tz):
    signed = dispatch(coded, incident, unit=car)  # a unit, a signature: every link set
    services.order_sign(order_id=signed.pk, actor=coded.station_a1_officer)
    to_station = dispatch(coded, incident, org=coded.station_a2)  # no unit, never signed: the links empty
    services.order_cancel(order_id=to_station.pk, actor=coded.duty, reason="改派")
    qs = DispatchOrder.objects.select_related(
        "incident__category", "org", "unit", "dispatcher__person", "signed_by__person"
    ).filter(pk__in=[signed.pk, to_station.pk])
    for o in qs:
        s = OrderSerializer(o)
        with timezone.override(tz):
            fast = s.to_representation(o)
            generic = serializers.ModelSerializer.to_representation(s, o)
        assert list(fast) == list(OrderSerializer.Meta.fields)
        assert fast == dict(generic)
        assert list(fast["incident"]) == list(generic["incident"])
        if o.unit_id:
            assert list(fast["unit"]) == list(generic["unit"])


def test_the_board_schema_describes_the_board_rows(coded, order):
    row = payloads.order_row(payloads.order_payload(order), org_name=order.org.name, overdue=())
    assert set(BoardOrderSerializer().fields) == set(row)
    assert set(OrderIncidentSerializer().fields) == set(row["incident"])
