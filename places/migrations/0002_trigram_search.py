"""Address search while typing: pg_trgm and a GIN trigram index on `places_place.search`.

pg_trgm is a trusted extension (PostgreSQL 13+): the owner role that runs migrations (dbroles.py) may
create it in its own database; the app role never needs to. Where the server does not ship it (the
embedded PostgreSQL of `make run`), nothing is created and search falls back to LIKE without an index
(selectors.has_trigrams): a few milliseconds over a city's addresses, still fine while typing."""

from typing import Any

from django.db import migrations


def forwards(apps: Any, schema_editor: Any) -> None:
    with schema_editor.connection.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
        if cur.fetchone() is None:
            return
        cur.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        # Serves selectors.search: `search LIKE '%…%'` and `search % …` (similarity).
        cur.execute(
            "CREATE INDEX IF NOT EXISTS place_search_trgm ON places_place USING gin (search gin_trgm_ops)"
        )


def backwards(apps: Any, schema_editor: Any) -> None:
    schema_editor.execute("DROP INDEX IF EXISTS place_search_trgm")


class Migration(migrations.Migration):
    dependencies = [("places", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
