"""Thin Celery wrappers around supervision's housekeeping."""

from __future__ import annotations

from celery import shared_task

from . import inspection


@shared_task(name="supervision.inspect", ignore_result=True)
def inspect() -> dict[str, int]:
    """Scheduled by beat (settings.HOUSEKEEPING, every 10 minutes): 数字督察, every rule over its window."""
    return inspection.inspect()
