from pathlib import Path
from typing import Any

from django.apps import apps
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.module_loading import import_string

from command_center import codes


class Command(BaseCommand):
    help = (
        "Load the code tables (incident categories, handling results, supervision levels). Idempotent: "
        "rows already present are kept as an administrator left them unless --update is given. "
        "--categories FILE imports a province's official category table (CSV: code,level,parent,name[,name_en])."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--update", action="store_true", help="overwrite existing rows with the file's values")
        parser.add_argument("--categories", type=Path, help="a CSV category table to import instead of the default")

    def handle(self, *args: Any, update: bool, categories: Path | None, **options: Any) -> None:
        try:
            if categories:
                created, updated = codes.load_categories(codes.read_csv(categories), update=update)
                self.stdout.write(f"categories: {created} created, {updated} updated")
                return
            for table, (created, updated) in codes.load_defaults(update=update).items():
                self.stdout.write(f"{table}: {created} created, {updated} updated")
            # Apps add their own tables: an AppConfig names its loader in `codes_loader` ("app.module.fn",
            # returning {table: (created, updated)}). The kernel imports no app by name.
            for app in apps.get_app_configs():
                loader = getattr(app, "codes_loader", None)
                if loader:
                    for table, (created, updated) in import_string(loader)().items():
                        self.stdout.write(f"{table}: {created} created, {updated} updated")
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
