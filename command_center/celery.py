"""The Celery app. Beat asks a worker to sweep the clocks every `CLOCK_SWEEP_INTERVAL_S` seconds, and to
run each of settings.HOUSEKEEPING (task name → seconds between runs; the apps' own tasks, by name), and
generates the bulletins at the times of settings.BULLETIN_SCHEDULE (crontab fields, in CELERY_TIMEZONE,
Asia/Shanghai)."""

import os

from celery import Celery, signals

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
    if settings.BEAT_PROBE_S:
        sender.add_periodic_task(
            settings.BEAT_PROBE_S, sender.signature("command_center.beat_probe"), name="beat probe"
        )
    from celery.schedules import crontab

    for kind, at in settings.BULLETIN_SCHEDULE.items():
        # A run a whole day late is still wanted (the draft is idempotent), so no expiry.
        sender.add_periodic_task(
            crontab(**at), sender.signature("supervision.generate_bulletins", args=(kind,)), name=f"bulletins {kind}"
        )


# The worker and beat log as the web processes do (settings.LOGGING: LOG_FORMAT, request ids), not in Celery's
# own format: a receiver of setup_logging keeps Celery from replacing the root logger's handlers.
@signals.setup_logging.connect
def _setup_logging(**kwargs: object) -> None:
    import logging.config

    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)


# A task sent while a request runs carries the request's id, and its log lines show it (command_center/logs.py).
@signals.before_task_publish.connect
def _send_request_id(headers: dict[str, object] | None = None, **kwargs: object) -> None:
    from command_center import logs

    rid = logs.request_id.get()
    if headers is not None and rid != logs.NONE:
        headers.setdefault("request_id", rid)


@signals.task_prerun.connect
def _take_request_id(task: object = None, **kwargs: object) -> None:
    from command_center import logs

    request = getattr(task, "request", None)
    # Celery puts a message's own headers on the request, or (some versions) under request.headers.
    rid = getattr(request, "request_id", None) or (getattr(request, "headers", None) or {}).get("request_id")
    logs.request_id.set(logs.accept(rid) if isinstance(rid, str) else logs.NONE)
