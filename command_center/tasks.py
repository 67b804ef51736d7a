"""Thin Celery wrappers around kernel services."""

from __future__ import annotations

from celery import shared_task

from . import clocks, heartbeat, tokens


@shared_task(name="command_center.sweep_deadlines", ignore_result=True)
def sweep_deadlines() -> int:
    """Scheduled by beat every CLOCK_SWEEP_INTERVAL_S. The heartbeat proves beat and a worker both alive."""
    heartbeat.beat(heartbeat.WORKER)
    return clocks.sweep()


@shared_task(name="command_center.delete_expired_tokens", ignore_result=True)
def delete_expired_tokens() -> int:
    """Scheduled by beat (settings.HOUSEKEEPING): API tokens past their lifetime."""
    return tokens.token_delete_expired()
