"""Thin Celery wrappers: beat's morning reports (settings.HOUSEKEEPING, every few minutes)."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(name="briefing.draft_reports", ignore_result=True)
def draft_reports() -> int:
    """Draft yesterday's report of every city and county whose hour has come and that has none yet
    (idempotent; a missed run catches up at the next). Returns how many were drafted."""
    return len(services.reports_draft_due())
