"""Thin Celery wrappers around kernel services."""

from __future__ import annotations

from celery import shared_task

from . import clocks, heartbeat


@shared_task(name="command_center.sweep_deadlines", ignore_result=True)
def sweep_deadlines() -> int:
    """Scheduled by beat every CLOCK_SWEEP_INTERVAL_S. The heartbeat proves beat and a worker both alive."""
    heartbeat.beat(heartbeat.WORKER)
    return clocks.sweep()
