"""Beat's jobs of the sentiment app (settings.HOUSEKEEPING)."""

from __future__ import annotations

from celery import shared_task

from . import feeds, services


@shared_task(name="sentiment.detect_spikes")
def detect_spikes() -> int:
    """The last full hour against its baseline (services.detect_spikes); idempotent, run every 5 minutes."""
    return len(services.detect_spikes())


@shared_task(name="sentiment.pull_feeds", ignore_result=True)
def pull_feeds() -> dict[str, int]:
    """Scheduled by beat (settings.HOUSEKEEPING, every minute): pull every due feed (sentiment/feeds.py). Two
    runs at once claim different feeds (SKIP LOCKED); a failing feed backs off and never blocks the others.
    Returns how many feeds were pulled, failed, and how many posts were stored."""
    results = feeds.feeds_pull_due()
    return {
        "pulled": len(results),
        "failed": sum(1 for r in results if not r.ok),
        "stored": sum(r.stored for r in results),
    }
