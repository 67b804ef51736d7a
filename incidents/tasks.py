"""The incidents app's Celery tasks: partner webhooks (webhooks.py)."""

from __future__ import annotations

from celery import shared_task

from . import webhooks


@shared_task(name=webhooks.TASK, ignore_result=True)
def deliver_webhook(delivery_id: int) -> bool | None:
    """Queued after the commit that wrote the delivery: send it if it is still due and nobody holds it.
    True: delivered; False: failed (the sweep retries it when due); None: not this worker's to send."""
    attempt = webhooks.delivery_send(delivery_id=delivery_id)
    return None if attempt is None else attempt.ok


@shared_task(name="incidents.sweep_webhooks", ignore_result=True)
def sweep_webhooks() -> dict[str, int]:
    """Beat (settings.HOUSEKEEPING): send every delivery whose attempt is due — retries, and those whose task
    was lost. Two runs at once claim different rows (SKIP LOCKED)."""
    attempts = webhooks.deliveries_send_due()
    return {"sent": len(attempts), "failed": sum(1 for a in attempts if not a.ok)}
