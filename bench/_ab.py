"""Before and after in the same run: one bench on two checkouts, taken in turns, with the medians of each.

    python bench/_ab.py BASE_CHECKOUT intake [--runs 3] [--keys modes. --keys ratios.]

BASE_CHECKOUT is another work tree of the repository (`git worktree add ../base main`); this checkout is
the other side. Each round runs the bench once on each side, and the side that goes first alternates from
round to round, so a machine that gets busier or quieter during the run weighs on both alike. Each side
runs with its own .venv's Python when it has one. The bench's sizes come from the environment as usual
(BENCH_QUICK=1, BENCH_INTAKE_N, ...). Prints one JSON object: every number of the bench's output (or those
under the given key prefixes), per run and as medians, for `base` and `head`, and head / base.

Not a bench itself (the leading underscore keeps `make bench` from running it).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

HEAD = Path(__file__).resolve().parent.parent


def numbers(value: Any, prefix: str = "") -> dict[str, float]:
    """The numeric leaves of a bench's JSON object, by dotted key."""
    if isinstance(value, dict):
        out: dict[str, float] = {}
        for k, v in value.items():
            out.update(numbers(v, f"{prefix}{k}."))
        return out
    if isinstance(value, bool) or not isinstance(value, int | float):
        return {}
    return {prefix.rstrip("."): float(value)}


def run(root: Path, bench: str) -> dict[str, Any]:
    python = root / ".venv" / "bin" / "python"
    cmd = [str(python) if python.exists() else sys.executable, str(root / "bench" / f"{bench}.py")]
    print(f"[ab] {bench} on {root}", file=sys.stderr, flush=True)
    out = subprocess.run(cmd, cwd=root / "bench", stdout=subprocess.PIPE, text=True, check=True)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def commit(root: Path) -> str:
    return subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--short", "HEAD"], stdout=subprocess.PIPE, text=True, check=True
    ).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", type=Path, help="the other checkout (before)")
    parser.add_argument("bench", help="a bench of bench/ (intake, day, ...)")
    parser.add_argument("--runs", type=int, default=3, help="rounds; each runs both sides once (3)")
    parser.add_argument("--keys", action="append", default=[], help="report only numbers under these prefixes")
    args = parser.parse_args()
    sides = {"base": args.base.resolve(), "head": HEAD}
    seen: dict[str, list[dict[str, float]]] = {"base": [], "head": []}
    for k in range(args.runs):
        for side in ("base", "head") if k % 2 == 0 else ("head", "base"):
            found = numbers(run(sides[side], args.bench))
            if args.keys:
                found = {key: v for key, v in found.items() if any(key.startswith(p) for p in args.keys)}
            seen[side].append(found)
    keys = sorted(set.intersection(*(set(r) for runs in seen.values() for r in runs)))
    median = {side: {key: statistics.median(r[key] for r in runs) for key in keys} for side, runs in seen.items()}
    out = {
        "bench": args.bench,
        "runs": args.runs,
        "order": "base first in even rounds, head first in odd ones",
        **{side: {"checkout": str(sides[side]), "commit": commit(sides[side])} for side in sides},
        "median": median,
        "head_over_base": {
            key: round(median["head"][key] / median["base"][key], 3) if median["base"][key] else None for key in keys
        },
        "per_run": {side: [{key: r[key] for key in keys} for r in runs] for side, runs in seen.items()},
    }
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
