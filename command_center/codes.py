"""Loading code tables from CSV: the shipped defaults (`fixtures/codes/`) or a province's official table."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction

from . import memo
from .models import Category, HandlingResult, SupervisionLevel

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "codes"


def active_categories() -> dict[str, Category]:
    """Every active category by code, from the per-process memory (memo.py): asked on every intake."""
    return memo.remember("codes.categories", lambda: {c.code: c for c in Category.objects.filter(active=True)})


def local_name(row: Category | HandlingResult | SupervisionLevel) -> str:
    """A code's name in the active language: the English name when English is chosen and the table has
    one, else the (Chinese) name."""
    return row.local_name


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return [{k.strip(): (v or "").strip() for k, v in row.items()} for row in csv.DictReader(fh)]


def validate_categories(rows: Iterable[dict[str, str]]) -> list[dict[str, str]]:
    """Check the four-level AABBCD shape: six digits, a parent for levels 2–4, and the parent's prefix."""
    rows = list(rows)
    by_code = {r["code"]: r for r in rows}
    errors = []
    for n, r in enumerate(rows, start=2):
        code, level, parent = r.get("code", ""), r.get("level", ""), r.get("parent", "")
        if not (len(code) == 6 and code.isdigit()):
            errors.append(f"line {n}: code {code!r} is not six digits")
            continue
        if level not in {"1", "2", "3", "4"}:
            errors.append(f"line {n}: level {level!r} is not 1–4")
            continue
        if not r.get("name"):
            errors.append(f"line {n}: no name")
        if level == "1":
            if parent:
                errors.append(f"line {n}: a level-1 category has no parent")
            continue
        if parent not in by_code:
            errors.append(f"line {n}: parent {parent!r} not in the table")
            continue
        plevel = int(by_code[parent]["level"])
        if plevel != int(level) - 1:
            errors.append(f"line {n}: parent {parent} is level {plevel}, expected {int(level) - 1}")
        prefix = parent[: Category.SIGNIFICANT_DIGITS[plevel]]
        if not code.startswith(prefix):
            errors.append(f"line {n}: code {code} does not start with its parent's prefix {prefix}")
    if errors:
        raise ValidationError(errors)
    return sorted(rows, key=lambda r: (int(r["level"]), r["code"]))


@transaction.atomic
def load_categories(rows: Iterable[dict[str, str]], *, update: bool) -> tuple[int, int]:
    """Create missing categories; with `update`, also overwrite names/levels/parents of existing ones.
    Returns (created, updated)."""
    created = updated = 0
    for r in validate_categories(rows):
        values = {
            "name": r["name"],
            "name_en": r.get("name_en", ""),
            "level": int(r["level"]),
            "parent_id": r["parent"] or None,
        }
        obj, was_created = Category.objects.get_or_create(code=r["code"], defaults=values)
        if was_created:
            created += 1
        elif update:
            for k, v in values.items():
                setattr(obj, k, v)
            obj.save()
            updated += 1
    return created, updated


@transaction.atomic
def load_defaults(*, update: bool = False) -> dict[str, tuple[int, int]]:
    """The shipped default tables. Without `update` an administrator's edits are kept (make run reruns it)."""
    out = {"categories": load_categories(read_csv(FIXTURES / "categories.csv"), update=update)}
    for model, fname, fields in [
        (HandlingResult, "results.csv", ["name", "name_en"]),
        (SupervisionLevel, "supervision_levels.csv", ["rank", "name", "name_en"]),
    ]:
        created = updated = 0
        for r in read_csv(FIXTURES / fname):
            values = {f: r.get(f, "") for f in fields}
            obj, was_created = model.objects.get_or_create(code=r["code"], defaults=values)  # type: ignore[attr-defined]
            if was_created:
                created += 1
            elif update:
                for k, v in values.items():
                    setattr(obj, k, v)
                obj.save()
                updated += 1
        out[model._meta.model_name or fname] = (created, updated)
    return out
