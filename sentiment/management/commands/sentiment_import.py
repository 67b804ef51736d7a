"""Import 网情 posts from a file (issue 14): `manage.py sentiment_import FILE [--source CODE]`.

CSV with a header row (source, external_id, author, url, text, published_at, place, lat, lon, reposts,
comments, likes; UTF-8 with or without a BOM), or JSON lines (.jsonl / .ndjson, or any file whose first
character is `{`), one post per line with the fields of `services.ingest` (`id`, `content`, `created_at`
accepted too). Posts go to ingest in chunks of 1000: each is refused or stored on its own, so one bad line
never loses the rest, and importing a file again updates, never doubles. A progress bar on stderr; at the end
the totals and the first refused lines with their reasons (line numbers of the file). Exit status 0 even with
refusals; an error only when nothing could be read.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from sentiment import feeds
from sentiment.models import Source

CHUNK = 1000
COLUMNS = (
    "source",
    "external_id",
    "author",
    "url",
    "text",
    "published_at",
    "place",
    "lat",
    "lon",
    "reposts",
    "comments",
    "likes",
)
REQUIRED = ("external_id", "text", "published_at")
_FLOATS = ("lat", "lon")
_INTS = ("reposts", "comments", "likes")


@dataclass
class Record:
    line: int
    item: dict[str, Any] | None = None
    errors: dict[str, list[str]] = field(default_factory=dict)


def detect_format(path: Path, first_char: str) -> str:
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        return "jsonl"
    if path.suffix.lower() == ".csv":
        return "csv"
    return "jsonl" if first_char == "{" else "csv"


def csv_records(stream: TextIO, *, default_source: str) -> Iterator[Record]:
    reader = csv.reader(stream)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        return
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise CommandError(f"The CSV header lacks {', '.join(missing)} (columns: {', '.join(COLUMNS)}).")
    if "source" not in header and not default_source:
        raise CommandError("The CSV has no source column: give --source CODE.")
    previous = reader.line_num
    for row in reader:
        line = previous + 1  # a quoted field may span lines: the record starts after the last one read
        previous = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        values = {name: (row[i].strip() if i < len(row) else "") for i, name in enumerate(header) if name in COLUMNS}
        yield _record(line, values, default_source=default_source)


def _record(line: int, values: dict[str, Any], *, default_source: str) -> Record:
    """CSV cells as an ingest item: empty optional cells left out, numbers read, metrics grouped."""
    errors: dict[str, list[str]] = {}
    item: dict[str, Any] = {
        "source": values.get("source") or default_source,
        "external_id": values.get("external_id", ""),
        "text": values.get("text", ""),
        "published_at": values.get("published_at", ""),
    }
    for key in ("author", "url", "place"):
        if values.get(key):
            item[key] = values[key]
    for key in _FLOATS:
        if values.get(key):
            try:
                item[key] = float(values[key])
            except ValueError:
                errors[key] = ["Not a number."]
    metrics = {}
    for key in _INTS:
        if values.get(key):
            try:
                metrics[key] = int(values[key])
            except ValueError:
                errors[key] = ["Not a whole number."]
    if metrics:
        item["metrics"] = metrics
    return Record(line, None if errors else item, errors)


def jsonl_records(stream: TextIO, *, default_source: str) -> Iterator[Record]:
    for line, raw in enumerate(stream, start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as e:
            yield Record(line, errors={"line": [f"Not JSON: {e.msg}."]})
            continue
        if not isinstance(obj, dict):
            yield Record(line, errors={"line": ["Not a JSON object."]})
            continue
        item = feeds.json_item(obj)
        if not item["source"]:
            item["source"] = default_source
        yield Record(line, item)


class Command(BaseCommand):
    help = "Import 网情 posts from a CSV or JSON-lines file; bad lines are refused with their reasons."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--source", default="", help="Source code for rows without one.")
        parser.add_argument("--show", type=int, default=20, help="How many refused lines to print (default 20).")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args: Any, **opts: Any) -> None:
        path: Path = opts["file"]
        default_source: str = opts["source"]
        if default_source and not Source.objects.filter(code=default_source).exists():
            raise CommandError(f"No source {default_source!r}.")
        if not path.is_file():
            raise CommandError(f"No file {path}.")
        fmt, total = self._scan(path, default_source)
        if total == 0:
            raise CommandError(f"Nothing to import in {path}.")

        stored = updated = 0
        refused: list[tuple[int, Any]] = []
        batch: list[Record] = []
        err = getattr(self.stderr, "_out", sys.stderr)
        bar = tqdm(total=total, unit="post", file=err, disable=opts["no_progress"], dynamic_ncols=True)

        def flush() -> None:
            nonlocal stored, updated
            if not batch:
                return
            s, u, r, _ids = feeds.ingest_chunked([rec.item for rec in batch if rec.item is not None], channel="import")
            stored, updated = stored + s, updated + u
            refused.extend((batch[x["index"]].line, x.get("errors") or {}) for x in r)
            bar.set_postfix(stored=stored, updated=updated, refused=len(refused), refresh=False)
            bar.update(len(batch))
            batch.clear()

        with path.open(encoding="utf-8-sig", newline="") as stream:
            records = (csv_records if fmt == "csv" else jsonl_records)(stream, default_source=default_source)
            for rec in records:
                if rec.item is None:
                    refused.append((rec.line, rec.errors))
                    bar.update(1)
                    continue
                batch.append(rec)
                if len(batch) == CHUNK:
                    flush()
            flush()
        bar.close()

        self.stdout.write(f"{path.name}: {total} read, {stored} stored, {updated} updated, {len(refused)} refused.")
        refused.sort(key=lambda r: r[0])
        for line, errors in refused[: opts["show"]]:
            reasons = "; ".join(f"{f}: {m}" for f, m in feeds.error_lines(errors))
            self.stdout.write(f"  line {line}: {reasons}")
        if len(refused) > opts["show"]:
            self.stdout.write(f"  … and {len(refused) - opts['show']} more refused.")

    def _scan(self, path: Path, default_source: str) -> tuple[str, int]:
        """The format, and how many records there are (for the bar). Reading the whole file once first also
        finds an undecodable byte before anything is stored."""
        try:
            with path.open(encoding="utf-8-sig", newline="") as stream:
                head = stream.read(4096).lstrip()
                fmt = detect_format(path, head[:1])
                stream.seek(0)
                records = (csv_records if fmt == "csv" else jsonl_records)(stream, default_source=default_source)
                return fmt, sum(1 for _ in records)
        except UnicodeDecodeError as e:
            raise CommandError(f"{path} is not UTF-8 ({e.reason}).") from None
        except csv.Error as e:
            raise CommandError(f"{path}: not a readable CSV ({e}).") from None
