"""Demo data of the incidents app (`IncidentsConfig.demo_loader`): auto-diversion rules for make run's city
— street lights and utilities to the 12345 hotline, neighbours' noise at night in 东湖's area to its first
community — and that community's grid worker (网格员, the partner role), who works its diversions in the
diversion inbox. Idempotent; the handling guides come with load_codes."""

from __future__ import annotations

from datetime import time

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import transaction

from command_center.models import Org, Person, Role

from .models import DiversionRule

HOTLINE = "12345政务服务便民热线"
STATION = "东湖派出所"
COMMUNITY = "东湖派出所 第一社区"
GRID_USER = ("grid", "东湖第一社区 网格员 吴芳")


@transaction.atomic
def load_demo() -> str:
    hotline = Org.objects.filter(name=HOTLINE, kind=Org.Kind.PARTNER).first()
    station = Org.objects.filter(name=STATION).first()
    community = Org.objects.filter(name=COMMUNITY, level=Org.Level.COMMUNITY).first()
    if hotline is None or station is None or community is None:
        return "incidents demo: the demo city is missing, no rules"
    rules = [
        {"name": "市政设施故障转12345", "category_prefix": "0902", "target": hotline},
        {"name": "水电气暖故障转12345", "category_prefix": "0901", "target": hotline},
        {
            "name": "东湖所辖区夜间邻里噪音转社区",
            "category_prefix": "020530",
            "start": time(22, 0),
            "end": time(6, 0),
            "place": station,
            "target": community,
            "priority": 10,
        },
    ]
    made = 0
    for r in rules:
        _, created = DiversionRule.objects.get_or_create(name=r["name"], defaults=r)
        made += created
    username, display = GRID_USER
    if not User.objects.filter(username=username).exists():
        user = User.objects.create_user(username, password=settings.DEMO_PASSWORD, first_name=display)
        Person.objects.create(user=user, org=community, display_name=display)
        user.groups.add(Group.objects.get_or_create(name=Role.PARTNER)[0])
    return f"incidents demo: {made} auto-diversion rules added; community login '{username}' ({COMMUNITY})"
