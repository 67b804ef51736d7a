"""Run the automatic inspection (数字督察) by hand: `manage.py inspect [--days N]`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from supervision import inspection


class Command(BaseCommand):
    help = "Run every enabled inspection rule over the recent window and store new findings (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=float, default=None, help="Look back this many days (default: settings).")

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        since = now - timedelta(days=options["days"]) if options["days"] else None
        created = inspection.inspect(now=now, since=since)
        for key, n in created.items():
            self.stdout.write(f"{key}: {n} new")
        self.stdout.write(self.style.SUCCESS(f"{sum(created.values())} new findings"))
