"""manage.py restore PATH --yes: a backup (manage.py backup) back into the configured database and MEDIA_ROOT."""

from typing import Any

import environ
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections

from command_center import backup, dbroles


class Command(BaseCommand):
    help = (
        "Replace the configured database's contents and MEDIA_ROOT's files with a backup's. Stop web, ws and "
        "worker first. --into DATABASE_URL restores into another (existing, e.g. empty) database instead, to "
        "check a backup without touching the live one. See docs/operations.md."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="A backup folder written by manage.py backup.")
        parser.add_argument("--yes", action="store_true", help="Yes, replace what is there now.")
        parser.add_argument("--into", default="", help="Restore into this database (a postgres:// URL) instead.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            manifest = backup.read_manifest(options["path"])
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from exc
        into = options["into"]
        target = backup.Database.of(environ.Env.db_url_config(into)) if into else backup.configured()
        if not options["yes"]:
            raise CommandError(
                f"This replaces every table of database {target.name!r} and every file of MEDIA_ROOT with the "
                f"backup of {manifest['created_at']}. Run again with --yes to do it."
            )
        connections.close_all()  # this process's own connection must not hold a lock pg_restore waits for
        try:
            backup.backup_restore(path=options["path"], db=target)
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from exc
        if not into:
            # Objects came back owned by the restoring role, without grants: give the app role its rights.
            with dbroles.as_owner() as app_role:
                if app_role:
                    dbroles.grant_app_role(app_role)
        self.stdout.write(f"Restored {target.name} and the media files from the backup of {manifest['created_at']}.")
