"""Beat's jobs of the sentiment app."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(name="sentiment.detect_spikes")
def detect_spikes() -> int:
    """The last full hour against its baseline (services.detect_spikes); idempotent, run every 5 minutes."""
    return len(services.detect_spikes())
