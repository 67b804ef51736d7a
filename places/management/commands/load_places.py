from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from places import services


class Command(BaseCommand):
    help = (
        "Load a gazetteer (streets, addresses, POIs, jurisdictions) from a GeoJSON FeatureCollection. "
        "Idempotent: a feature updates the row with its natural key. Format: places/services.py."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="a GeoJSON FeatureCollection")

    def handle(self, *args: Any, file: Path, **options: Any) -> None:
        try:
            counts = services.places_load(features=services.read_geojson(file))
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write("places: " + (", ".join(f"{n} {layer}" for layer, n in sorted(counts.items())) or "none"))
