"""Send partner webhook deliveries again: `manage.py redeliver_webhooks` sends every dead letter again,
`--id 12 --id 13` those rows whatever their state, `--partner ID` narrows to one partner's endpoints."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from incidents import webhooks
from incidents.models import WebhookDelivery


class Command(BaseCommand):
    help = "Redeliver partner webhook deliveries (default: every dead letter) from the first attempt."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--id", type=int, action="append", default=[], help="a delivery's id (repeatable)")
        parser.add_argument("--partner", type=int, default=None, help="only this partner org's endpoints")

    def handle(self, *args: Any, **opts: Any) -> None:
        qs = WebhookDelivery.objects.all()
        qs = qs.filter(pk__in=opts["id"]) if opts["id"] else qs.filter(state=WebhookDelivery.State.DEAD)
        if opts["partner"] is not None:
            qs = qs.filter(webhook__partner_id=opts["partner"])
        n = webhooks.deliveries_redeliver(qs)
        self.stdout.write(f"{n} deliveries queued again")
