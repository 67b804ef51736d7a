"""Thin Celery wrappers around kernel services."""

from __future__ import annotations

from celery import Task, shared_task

from . import clocks, heartbeat, tokens
from . import redis as kredis


@shared_task(name="command_center.sweep_deadlines", ignore_result=True)
def sweep_deadlines() -> int:
    """Scheduled by beat every CLOCK_SWEEP_INTERVAL_S. The heartbeat proves beat and a worker both alive."""
    heartbeat.beat(heartbeat.WORKER)
    return clocks.sweep()


@shared_task(name="command_center.delete_expired_tokens", ignore_result=True)
def delete_expired_tokens() -> int:
    """Scheduled by beat (settings.HOUSEKEEPING): API tokens past their lifetime."""
    return tokens.token_delete_expired()


# The probe's records: the newest 10,000 (a test reads them all; a forgotten BEAT_PROBE_S stays bounded).
PROBE_KEEP = 10000


def probe_key() -> str:
    return kredis.key("beat", "probe")


@shared_task(name="command_center.beat_probe", bind=True, ignore_result=True)
def beat_probe(self: Task) -> None:
    """Sent by beat every BEAT_PROBE_S (settings; off unless set): records "<sending beat> <run time>" in a
    Redis list, so a test counts what beat sent and from which beat (beat.py stamps the headers: the run
    time is the schedule's, epoch seconds)."""
    request = self.request
    headers = getattr(request, "headers", None) or {}
    sender = getattr(request, "beat", None) or headers.get("beat") or "?"
    sent_at = getattr(request, "beat_at", None) or headers.get("beat_at") or 0.0
    client = kredis.client()
    client.rpush(probe_key(), f"{sender} {float(sent_at)!r}")
    client.ltrim(probe_key(), -PROBE_KEEP, -1)
