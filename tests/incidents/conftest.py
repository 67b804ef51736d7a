import itertools

import pytest
from rest_framework.test import APIClient

from command_center import codes
from command_center.models import Org

_calls = itertools.count(1)


@pytest.fixture
def coded(world):
    codes.load_defaults()
    # Stations need positions for "nearest station" routing.
    Org.objects.filter(pk=world.station_a1.pk).update(lat=30.2900, lon=120.1600)
    Org.objects.filter(pk=world.station_a2.pk).update(lat=30.3000, lon=120.2000)
    Org.objects.filter(pk=world.station_b1.pk).update(lat=30.2500, lon=120.1000)
    return world


def api_as(user) -> APIClient:
    c = APIClient()
    c.force_authenticate(user)
    return c


@pytest.fixture
def duty_api(coded):
    return api_as(coded.duty)


def call(**over):
    """A valid intake body; override any field."""
    body = {
        "call_id": f"C{next(_calls):08d}",
        "source": "110",
        "caller_phone": "13800138000",
        "caller_name": "张三",
        "address": "东湖路12号",
        "lat": 30.2901,
        "lon": 120.1601,
        "category": "020500",  # 治安 · 噪音扰民
        "level": 3,
        "narrative": "楼上装修噪音很大",
    }
    body.update(over)
    return {k: v for k, v in body.items() if v is not ...}
