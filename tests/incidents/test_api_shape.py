"""The incident's hand-written rendering (IncidentSerializer.to_representation) matches DRF's own."""

from __future__ import annotations

import pytest
from django.utils import timezone
from rest_framework import serializers
from rest_framework.test import APIRequestFactory

from incidents.api import IncidentSerializer
from incidents.models import Incident

from .conftest import call

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("tz", ["Asia/Shanghai", "UTC"])
def test_rendering_matches_drf_field_by_field(coded, duty_api, tz):
    r = duty_api.post("/api/incidents/", call(caller_lat=30.29, caller_lon=None), format="json")
    assert r.status_code == 201, r.content
    incident = Incident.objects.select_related("category", "org").get(pk=r.json()["id"])
    incident.closed_at = timezone.now()  # a set and an empty time, a float and a None
    request = APIRequestFactory().get("/")
    request.user = coded.duty
    s = IncidentSerializer(incident, context={"request": request})
    with timezone.override(tz):
        fast = s.to_representation(incident)
        generic = serializers.ModelSerializer.to_representation(s, incident)
    assert list(fast) == list(IncidentSerializer.Meta.fields)
    assert fast == dict(generic)
