"""Thin Celery wrappers around the loop's housekeeping."""

from __future__ import annotations

from celery import shared_task

from . import files, hotspots


@shared_task(name="intel.delete_orphan_files", ignore_result=True)
def delete_orphan_files() -> int:
    """Scheduled by beat (settings.HOUSEKEEPING): files a rolled-back report left on disk."""
    return files.orphans_delete()


@shared_task(name="intel.flush_hotspot_counts", ignore_result=True)
def flush_hotspot_counts() -> int:
    """Scheduled by beat (settings.HOUSEKEEPING, every minute): move the incidents' pending count changes into
    the hotspots' rollup (intel/hotspots.py). Counts are exact without it — a read adds the pending ones —
    it keeps them few."""
    return hotspots.flush()


@shared_task(name="intel.snapshot_hotspots", ignore_result=True)
def snapshot_hotspots() -> int:
    """Scheduled by beat (settings.HOUSEKEEPING, hourly; idempotent): keep yesterday's red and yellow
    hotspots of every command center."""
    return hotspots.snapshot_daily()
