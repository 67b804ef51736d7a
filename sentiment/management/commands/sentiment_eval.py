import json
import resource
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sentiment import classifier
from sentiment.models import ScoringModel

from ._csv import read_labelled, table


class Command(BaseCommand):
    help = (
        "Measure a polarity model on labelled posts (a UTF-8 CSV with a text and a label column): macro-F1, "
        "per-class precision/recall/F1, the confusion matrix and posts/s. " + classifier.LABEL_HELP
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="CSV of labelled posts")
        parser.add_argument(
            "--model", help="a scoring model's name, or 'shipped' (default: the active model, else the shipped)"
        )
        parser.add_argument("--text-column", default="text")
        parser.add_argument("--label-column", default="label")
        parser.add_argument("--json", action="store_true", help="print the metrics as JSON")

    def handle(self, *args: Any, **o: Any) -> None:
        name = o["model"]
        if name == classifier.SHIPPED_NAME:
            clf = classifier.shipped()
        elif name:
            row = ScoringModel.objects.filter(name=name).only("name", "data").first()
            if row is None:
                raise CommandError(f"no scoring model named {name!r}")
            clf = classifier.Classifier.from_bytes(bytes(row.data), row.name)
        else:
            classifier.forget()
            clf = classifier.active()
        texts, labels = read_labelled(o["file"], o["text_column"], o["label_column"])
        if not texts:
            raise CommandError(f"{o['file']}: no rows")
        metrics = classifier.evaluate(clf, texts, labels)
        metrics["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        self.stdout.write(json.dumps(metrics, ensure_ascii=False) if o["json"] else table(metrics))
