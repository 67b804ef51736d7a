"""The project package and shared kernel: settings, urls, asgi, celery, org tree, people and roles,
scoping, clocks, realtime broadcast and audit helpers. The kernel imports no app."""

from .celery import app as celery_app

__all__ = ["celery_app"]
