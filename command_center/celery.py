"""The Celery app. Beat asks a worker to sweep the clocks every `CLOCK_SWEEP_INTERVAL_S` seconds, and to
run each of settings.HOUSEKEEPING (task name → seconds between runs; the apps' own tasks, by name), and
generates the bulletins at the times of settings.BULLETIN_SCHEDULE (crontab fields, in CELERY_TIMEZONE,
Asia/Shanghai)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "command_center.settings")

app = Celery("command_center")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def _schedule(sender: Celery, **kwargs: object) -> None:
    from django.conf import settings

    interval = settings.CLOCK_SWEEP_INTERVAL_S
    # A sweep that waited longer than two intervals in the queue is useless: the next one is already due.
    sender.add_periodic_task(
        interval, sender.signature("command_center.sweep_deadlines"), name="sweep deadlines", expires=2 * interval
    )
    for name, every in settings.HOUSEKEEPING.items():
        sender.add_periodic_task(every, sender.signature(name), name=name, expires=every)
    from celery.schedules import crontab

    for kind, at in settings.BULLETIN_SCHEDULE.items():
        # A run a whole day late is still wanted (the draft is idempotent), so no expiry.
        sender.add_periodic_task(
            crontab(**at), sender.signature("supervision.generate_bulletins", args=(kind,)), name=f"bulletins {kind}"
        )
