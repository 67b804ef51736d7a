"""Reading a labelled CSV for sentiment_train and sentiment_eval: UTF-8 with or without a BOM, a header row
naming the text and label columns."""

from __future__ import annotations

import csv
from pathlib import Path

from django.core.management.base import CommandError

from sentiment import classifier


def read_labelled(path: Path, text_column: str, label_column: str) -> tuple[list[str], list[str]]:
    """(texts, labels as negative/neutral/positive). CommandError on a missing file or column, or an unknown
    label (named, with its line). Rows whose text is empty once normalized are skipped."""
    try:
        f = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise CommandError(f"{path}: {exc.strerror}") from exc
    with f:
        reader = csv.DictReader(f)
        header = reader.fieldnames or []
        missing = [c for c in (text_column, label_column) if c not in header]
        if missing:
            names = ", ".join(repr(c) for c in missing)
            raise CommandError(f"{path}: no column {names} in the header ({', '.join(header) or 'empty'})")
        texts, raw, lines = [], [], []
        try:
            for row in reader:
                text = row[text_column] or ""
                if not classifier.normalize(text):
                    continue
                texts.append(text)
                raw.append(row[label_column] or "")
                lines.append(reader.line_num)
        except (csv.Error, UnicodeDecodeError) as exc:
            raise CommandError(f"{path}, line {reader.line_num}: {exc}") from exc
    try:
        labels = classifier.map_labels(raw)
    except classifier.LabelError as exc:
        raise CommandError(
            f"{path}, line {lines[exc.index]}: unknown label {exc.label!r}. {classifier.LABEL_HELP}"
        ) from exc
    return texts, labels


def table(metrics: dict) -> str:
    """The metrics as a readable table: macro-F1, per class precision/recall/F1/support, the confusion
    matrix (rows true, columns predicted), posts/s."""
    classes = metrics["classes"]
    out = [
        f"model {metrics['model']}: {metrics['n']} posts, macro-F1 {metrics['macro_f1']:.3f}, "
        f"accuracy {metrics['accuracy']:.3f}, {metrics['posts_per_s']:,.0f} posts/s"
        + (f", peak RSS {metrics['peak_rss_mb']} MB" if "peak_rss_mb" in metrics else ""),
    ]
    if "macro_f1_no_band" in metrics:
        out.append(
            f"macro-F1 without the neutral band (binary model, binary labels): {metrics['macro_f1_no_band']:.3f}"
        )
    out += ["", f"{'class':<10} {'precision':>9} {'recall':>7} {'F1':>6} {'support':>8}"]
    for c in classes:
        p = metrics["per_class"][c]
        out.append(f"{c:<10} {p['precision']:>9.3f} {p['recall']:>7.3f} {p['f1']:>6.3f} {p['support']:>8}")
    out += ["", "confusion matrix (rows: true, columns: predicted)"]
    out.append(f"{'':<10}" + "".join(f"{c:>10}" for c in classes))
    for c, row in zip(classes, metrics["confusion"], strict=True):
        out.append(f"{c:<10}" + "".join(f"{v:>10}" for v in row))
    return "\n".join(out)
