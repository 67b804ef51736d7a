"""Django's `migrate`, run as the owner role when DATABASE_OWNER_URL is set, then granting the app role."""

from typing import Any

from django.core.management.commands import migrate

from command_center import dbroles


class Command(migrate.Command):
    help = (
        f"{migrate.Command.help} Connects as DATABASE_OWNER_URL's role when it is set, and afterwards grants "
        "DATABASE_URL's role (the app's) what the app needs and no more (command_center/dbroles.py)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        database = options["database"]
        with dbroles.as_owner(database) as app_role:
            super().handle(*args, **options)
            if app_role:
                dbroles.grant_app_role(app_role, using=database)
                if options["verbosity"] >= 1:
                    self.stdout.write(f"Granted the app's rights to database role {app_role}.")
