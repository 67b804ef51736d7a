from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from command_center import demo


class Command(BaseCommand):
    help = "Load the demo city, its stations, partners and users (password $DEMO_PASSWORD). Idempotent."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEMO_ALLOWED:
            raise CommandError("Demo data is disabled here (DEMO_ALLOWED=0): this looks like production.")
        city, created = demo.load()
        self.stdout.write(f"demo: {city.name} with {city.subtree().count() - 1} orgs below it")
        self.stdout.write(f"demo users created: {', '.join(created) if created else 'none (all present)'}")
        logins = ", ".join(u.username for u in demo.USERS)
        self.stdout.write(f"demo logins (password {settings.DEMO_PASSWORD}): {logins}")
