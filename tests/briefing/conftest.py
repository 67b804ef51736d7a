"""Briefing fixtures: the loop's world with its code tables (tests/intel/conftest.py), and helpers that put
incidents on given local days."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.utils import timezone

from incidents.models import Incident
from tests.dispatch.conftest import make_incident
from tests.intel.conftest import coded  # noqa: F401  # the shared world with code tables

DAY = date(2026, 11, 30)  # a Monday; the report of 1 December's morning


def local(d: date, hour: int = 12) -> datetime:
    return timezone.make_aware(datetime(d.year, d.month, d.day), timezone.get_default_timezone()) + timedelta(
        hours=hour
    )


def incident_on(world, d: date, *, org, category: str = "020500", hour: int = 12, **fields) -> Incident:
    i = make_incident(world, category=category, org=org, position=None)
    Incident.objects.filter(pk=i.pk).update(reported_at=local(d, hour), **fields)
    return Incident.objects.get(pk=i.pk)
