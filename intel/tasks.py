"""Thin Celery wrappers around the loop's housekeeping."""

from __future__ import annotations

from celery import shared_task

from . import files


@shared_task(name="intel.delete_orphan_files", ignore_result=True)
def delete_orphan_files() -> int:
    """Scheduled by beat (settings.HOUSEKEEPING): files a rolled-back report left on disk."""
    return files.orphans_delete()
