"""Thin Celery wrappers: beat's morning bulletins (settings.BULLETIN_SCHEDULE) and supervision's housekeeping
(数字督察, settings.HOUSEKEEPING)."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from command_center.models import Org

from . import bulletins, inspection, rollups


@shared_task(name="supervision.generate_bulletins", ignore_result=True)
def generate_bulletins(kind: str) -> int:
    """Draft the `kind` bulletin of every command center for the period that ended yesterday (local);
    idempotent. Returns how many bulletins exist for it."""
    yesterday = timezone.localdate() - timedelta(days=1)
    made = [
        bulletins.bulletin_generate(kind=kind, org=org, day=yesterday)
        for org in Org.objects.filter(is_command_center=True).order_by("path")
    ]
    return len(made)


@shared_task(name="supervision.inspect", ignore_result=True)
def inspect() -> dict[str, int]:
    """Scheduled by beat (settings.HOUSEKEEPING, every 10 minutes): 数字督察, every rule over its window."""
    return inspection.inspect()


@shared_task(name="supervision.flush_kpi_rollups", ignore_result=True)
def flush_kpi_rollups() -> int:
    """Scheduled by beat (settings.HOUSEKEEPING, every minute): rebuild the measures' rollup rows the triggers
    marked dirty (supervision/rollups.py). Figures are exact without it — readers work dirty keys out from
    the raw rows — it keeps that part small."""
    return rollups.flush()
