"""`make bench`: run bench/*.py with the services up and keep what each one measured (cmd_bench)."""

from __future__ import annotations

import argparse
import os
import subprocess
import time
from pathlib import Path

from .stack import PY, ROOT, say, services


def bench_scripts(names: list[str]) -> list[Path]:
    """bench/*.py to run: all (but the _helpers and table.py) or the ones named (`day`, `day.py`)."""
    every = {p.stem: p for p in sorted((ROOT / "bench").glob("*.py")) if not p.name.startswith("_")}
    every.pop("table", None)  # prints the README's table from the results; not a bench
    if not names:
        return list(every.values())
    wanted = [n.removesuffix(".py").removeprefix("bench/") for n in names]
    unknown = [n for n in wanted if n not in every]
    if unknown:
        raise SystemExit(f"no such bench: {', '.join(unknown)} (there are: {', '.join(every)})")
    return [every[n] for n in wanted]


def bench_result(stdout: str) -> dict[str, object]:
    """The one JSON object a bench prints on stdout (progress goes to stderr); ValueError otherwise."""
    import json

    objects = []
    for line in stdout.splitlines():
        if line.lstrip().startswith("{"):
            value = json.loads(line)
            if isinstance(value, dict):
                objects.append(value)
    if len(objects) != 1:
        raise ValueError(f"a bench must print exactly one JSON object on stdout, this one printed {len(objects)}")
    return objects[0]


def merge_results(path: Path, name: str, entry: dict[str, object]) -> dict[str, object]:
    """Put `entry` under `name` in the results file, keeping the other benches' earlier entries."""
    import json

    try:
        results = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        results = {}
    results[name] = entry
    path.write_text(json.dumps(dict(sorted(results.items())), ensure_ascii=False, indent=2) + "\n")
    return results


def cmd_bench(args: argparse.Namespace) -> int:
    """Run bench/*.py (all, or the ones named); each prints one JSON object, merged into bench/results.json
    under its name with the time it ran (earlier entries of benches not run stay). `--quick` (or
    BENCH_QUICK=1) runs them with small sizes and keeps the numbers apart, in bench/results-quick.json."""
    from datetime import datetime

    scripts = bench_scripts(args.names)
    quick = args.quick or os.environ.get("BENCH_QUICK", "").strip().lower() not in ("", "0", "false", "no", "off")
    path = ROOT / "bench" / ("results-quick.json" if quick else "results.json")
    code = 0
    with services() as env:
        env["BENCH_QUICK"] = "1" if quick else "0"
        env.setdefault("PYTHONUNBUFFERED", "1")
        for script in scripts:
            say(f"bench {script.name}{' (quick)' if quick else ''}")
            started = datetime.now().astimezone()
            t0 = time.monotonic()
            out = subprocess.run([PY, str(script)], env=env, cwd=ROOT / "bench", stdout=subprocess.PIPE, text=True)
            print(out.stdout, end="", flush=True)
            try:
                if out.returncode != 0:
                    raise ValueError(f"exit {out.returncode}")
                entry = bench_result(out.stdout)
            except ValueError as exc:
                code |= 1
                say(f"bench {script.name} failed ({exc}); {path.name} keeps its earlier entry")
                continue
            entry["run"] = {
                "at": started.isoformat(timespec="seconds"),
                "wall_s": round(time.monotonic() - t0, 1),
                "quick": quick,
            }
            merge_results(path, script.stem, entry)
            say(f"bench {script.name}: wrote bench/{path.name}")
    return code
