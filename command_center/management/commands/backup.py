"""manage.py backup [--out DIR]: the database and MEDIA_ROOT into a new timestamped folder (backup.py)."""

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from command_center import backup


class Command(BaseCommand):
    help = (
        "Back up the configured database (pg_dump, custom format) and MEDIA_ROOT into a new folder "
        "backup-<UTC time> under --out (BACKUP_DIR by default), with a manifest.json. See docs/operations.md."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", type=Path, default=None, help="Folder to write the backup under.")

    def handle(self, *args: Any, **options: Any) -> None:
        out = options["out"] or Path(settings.BACKUP_DIR)
        try:
            folder = backup.backup_create(out=out)
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from exc
        manifest = backup.read_manifest(folder)
        rows = sum(manifest["counts"].values())
        self.stdout.write(f"{folder}  ({rows} rows, {manifest['media_files']} media files)")
