"""Generate bulletins by hand: `manage.py generate_bulletins daily --day 2026-12-06 [--org ID]` drafts the
bulletin of the period holding that day (default: yesterday) for one org or every command center."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from command_center.models import Org
from supervision import bulletins
from supervision.models import Bulletin


class Command(BaseCommand):
    help = "Draft bulletins (daily, weekly, monthly) of a period; idempotent."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=Bulletin.Kind.values)
        parser.add_argument("--day", type=date.fromisoformat, help="a day of the period (default: yesterday)")
        parser.add_argument("--org", type=int, help="org id (default: every command center)")

    def handle(self, *args: Any, **options: Any) -> None:
        day = options["day"] or timezone.localdate() - timedelta(days=1)
        targets = Org.objects.filter(is_command_center=True)
        if options["org"] is not None:
            targets = Org.objects.filter(pk=options["org"])
            if not targets.exists():
                raise CommandError(f"No org {options['org']}.")
        for org in targets.order_by("path"):
            b = bulletins.bulletin_generate(kind=options["kind"], org=org, day=day)
            self.stdout.write(f"{b.pk}\t{b.state}\t{b.title}")
