"""Build the measures' rollup again from the rows (supervision/rollups.py): everything, or a range of days."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from supervision import rollups


class Command(BaseCommand):
    help = "Rebuild the measures' rollup (org × local day × category) from the raw rows, a month per transaction."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="first", type=date.fromisoformat, default=None, help="YYYY-MM-DD")
        parser.add_argument("--to", dest="last", type=date.fromisoformat, default=None, help="YYYY-MM-DD")

    def handle(self, *args: Any, **opts: Any) -> None:
        first, last = opts["first"], opts["last"]
        if (first is None) != (last is None):
            raise CommandError("Give both --from and --to, or neither (everything).")
        if first and last and first > last:
            raise CommandError("--from is after --to.")
        rows = rollups.rebuild(first, last)
        self.stdout.write(f"{rows} rollup rows written.")
