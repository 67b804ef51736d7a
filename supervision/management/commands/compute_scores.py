"""Compute one level's scores (考评) for a week or a month under the active scheme: supervision/scores.py."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from supervision import scores


class Command(BaseCommand):
    help = "Compute and rank the scores of every org of a level for the week or month holding a date."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--period", choices=["week", "month"], default="month")
        parser.add_argument("--date", type=date.fromisoformat, default=None, help="YYYY-MM-DD (default: today)")
        parser.add_argument("--level", choices=["station", "county"], default="station")

    def handle(self, *args: Any, **opts: Any) -> None:
        if scores.active_scheme() is None:
            raise CommandError("No scoring scheme is active: add one in the admin.")
        rows = scores.compute_scores(
            period=opts["period"], anchor=opts["date"] or timezone.localdate(), level=opts["level"]
        )
        for s in rows:
            self.stdout.write(f"{s.rank:>3}/{s.of}  {s.total:>8}  {s.org.name}")
