"""Thin Celery wrappers around kernel services."""

from __future__ import annotations

import time

from celery import shared_task

from . import clocks, tokens
from . import redis as kredis

HEARTBEAT_KEY = ("heartbeat", "worker")


def beat() -> None:
    """Record that a worker ran a scheduled task just now (read by /healthz)."""
    kredis.client().set(kredis.key(*HEARTBEAT_KEY), repr(time.time()), ex=3600)


def heartbeat_age() -> float | None:
    raw = kredis.client().get(kredis.key(*HEARTBEAT_KEY))
    return None if raw is None else time.time() - float(raw)


@shared_task(name="command_center.sweep_deadlines", ignore_result=True)
def sweep_deadlines() -> int:
    """Scheduled by beat every second. The heartbeat proves beat and a worker are both alive."""
    beat()
    return clocks.sweep()


@shared_task(name="command_center.delete_expired_tokens", ignore_result=True)
def delete_expired_tokens() -> int:
    """Scheduled by beat (settings.HOUSEKEEPING): API tokens past their lifetime."""
    return tokens.token_delete_expired()
