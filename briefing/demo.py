"""Demo briefing for the demo city (command_center/demo.py), run by `manage.py load_demo` through
`BriefingConfig.demo_loader`: yesterday's 三情 report of the demo city, drafted as beat would draft it
(idempotent: one report per org and day)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from command_center import demo
from command_center.models import Org

from . import services


def load_demo() -> str:
    city = Org.objects.filter(name=demo.CITY[0], level=Org.Level.CITY).first()
    if city is None:
        return "briefing demo: no demo city"
    r = services.report_draft(org=city, day=timezone.localdate() - timedelta(days=1))
    return f"briefing demo: {r.title} ({r.get_state_display()})"
