from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.module_loading import import_string

from command_center import demo


class Command(BaseCommand):
    help = "Load the demo city, its stations, partners and users (password $DEMO_PASSWORD). Idempotent."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEMO_ALLOWED:
            raise CommandError("Demo data is disabled here (DEMO_ALLOWED=0): this looks like production.")
        city, created = demo.load()
        self.stdout.write(f"demo: {city.name} with {city.subtree().count() - 1} orgs below it")
        self.stdout.write(f"demo users created: {', '.join(created) if created else 'none (all present)'}")
        # Apps add their own demo data (units, shifts, …): an AppConfig names its loader in `demo_loader`
        # ("app.demo.load_demo", returning a line to print). The kernel imports no app by name.
        for app in apps.get_app_configs():
            loader = getattr(app, "demo_loader", None)
            if loader:
                self.stdout.write(str(import_string(loader)()))
        logins = ", ".join(u.username for u in demo.USERS)
        self.stdout.write(f"demo logins (password {settings.DEMO_PASSWORD}): {logins}")
