"""社情 fixtures on the shared world: code tables loaded, uploads under a temporary MEDIA_ROOT, the world's
volunteer on the register (community_a1 under station_a1)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from command_center import codes
from community import services
from community.models import Volunteer

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Any) -> Any:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


@pytest.fixture
def coded(world: Any) -> Any:
    codes.load_defaults()
    services.load_defaults()
    Volunteer.objects.create(
        person=world.volunteer.person,
        station=world.station_a1,
        community=world.community_a1,
        grid="第一网格",
        phone="13900000001",
    )
    return world


def api_as(user: Any) -> APIClient:
    c = APIClient()
    c.force_authenticate(user)
    return c


def png(name: str = "photo.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PNG, content_type="image/png")


def submit(world: Any, **fields: Any) -> Any:
    data = services.ReportData(
        kind=fields.pop("kind", "hazard"),
        category=fields.pop("category", "fire_hazard"),
        text=fields.pop("text", "楼道堆放杂物，有人在楼道充电"),
        **fields,
    )
    return services.report_submit(actor=world.volunteer, data=data)
