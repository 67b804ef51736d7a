"""Demo units and today's roster for the demo city (command_center/demo.py), run by `manage.py load_demo`
through `DispatchConfig.demo_loader`.

Idempotent like the city: a unit is looked up by call sign and a shift by (person, org, start) before it is
made, and nothing that exists is changed, so a second run keeps whatever the first one (or a person) did.
"""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from command_center.audit import log_transition
from command_center.models import Org, Person

from .models import Shift, Unit

K = Unit.Kind
# (call-sign letter, kind, ring, capabilities): a station's units in this order, 3 to 6 of them. Foot
# patrols and motorbikes take order, help and disputes (and traffic for motorbikes); groups take crime and
# order; cars and posts take anything.
SLOTS: list[tuple[str, str, int, list[str]]] = [
    ("巡", K.PATROL_CAR, 3, []),
    ("站", K.POST, 1, []),
    ("步", K.FOOT_PATROL, 1, ["02", "05", "06"]),
    ("摩", K.MOTORBIKE, 3, ["02", "03", "05", "06"]),
    ("组", K.OFFICER_GROUP, 5, ["01", "02"]),
    ("巡", K.PATROL_CAR, 5, []),
]

# (username, org name or None for the user's own org, unit slot on that org or None, commander of the day)
ROSTER: list[tuple[str, str | None, int | None, bool]] = [
    ("commander", None, None, True),
    ("duty", None, None, False),
    ("station1", None, 0, False),
    ("station2", None, 0, False),
]

DAY_STARTS = time(8, 0)  # 24-hour duty (24小时值班) from 08:00


def duty_day(now: datetime | None = None) -> tuple[datetime, datetime]:
    """The 24-hour duty day running now: from the last 08:00 to the next."""
    local = timezone.localtime(now or timezone.now())
    start = local.replace(hour=DAY_STARTS.hour, minute=DAY_STARTS.minute, second=0, microsecond=0)
    if local < start:
        start -= timedelta(days=1)
    return start, start + timedelta(days=1)


def _short(station: Org) -> str:
    return station.name.removesuffix("派出所")


@transaction.atomic
def load_units() -> tuple[int, int]:
    """3–6 units per police station, near it; returns (units in all, created now)."""
    now = timezone.now()
    stations = Org.objects.filter(level=Org.Level.STATION, kind=Org.Kind.POLICE, lat__isnull=False).order_by("path")
    total = created = 0
    for i, station in enumerate(stations):
        assert station.lat is not None and station.lon is not None
        rnd = random.Random(station.name)  # the same positions on every run and machine
        for n, (letter, kind, ring, caps) in enumerate(SLOTS[: 3 + i % 4], start=1):
            call_sign = f"{_short(station)}{letter}{n}"
            total += 1
            if Unit.objects.filter(call_sign=call_sign).exists():
                continue
            # Within about 1.5 km of the station; a post stands still, so its position is its place.
            lat = station.lat + rnd.uniform(-0.012, 0.012)
            lon = station.lon + rnd.uniform(-0.015, 0.015)
            status = Unit.Status.OFF_DUTY if n == 6 else Unit.Status.AVAILABLE
            unit = Unit.objects.create(
                call_sign=call_sign,
                kind=kind,
                org=station,
                ring_minutes=ring,
                capabilities=caps,
                status=status,
                status_changed_at=now,
                lat=lat,
                lon=lon,
                position_at=now,
            )
            log_transition(unit, from_state="", to_state=status, event="create", reason="demo")
            created += 1
    return total, created


@transaction.atomic
def load_shifts(now: datetime | None = None) -> int:
    """Today's shifts for the demo people (commander of the day at the city); returns how many were made."""
    start, end = duty_day(now)
    made = 0
    for username, org_name, slot, is_commander in ROSTER:
        person = Person.objects.select_related("org").filter(user__username=username).first()
        if person is None:
            continue
        org = Org.objects.get(name=org_name) if org_name else person.org
        units = list(Unit.objects.filter(org=org).order_by("id")) if slot is not None else []
        unit = units[slot] if slot is not None and slot < len(units) else None
        _, was_made = Shift.objects.get_or_create(
            person=person,
            org=org,
            starts_at=start,
            defaults={"ends_at": end, "unit": unit, "is_commander": is_commander, "note": "demo"},
        )
        made += was_made
    return made


def load_demo() -> str:
    total, created = load_units()
    shifts = load_shifts()
    return f"dispatch demo: {total} units ({created} new), {shifts} shifts added for today"
