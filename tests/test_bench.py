"""The bench harness, without timing anything (timing belongs in bench/, never in an assertion): `make bench`
picks the benches, takes each one's single JSON object and merges it by name; the baselines' output is read
right; the day's calls follow the curve to the day's total; the summaries and the README table are built
from what the benches write."""

from __future__ import annotations

import importlib
import json
import random
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from devstack import bench as stack

BENCH = Path(__file__).resolve().parent.parent / "bench"


@pytest.fixture
def bench(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Import a bench module the way the scripts import each other (bench/ on the path)."""
    monkeypatch.syspath_prepend(str(BENCH))

    def load(name: str) -> ModuleType:
        return importlib.import_module(name)

    return load


# --- make bench ---------------------------------------------------------------------------------------------


def test_bench_scripts_are_every_bench_or_the_ones_named():
    every = [p.stem for p in stack.bench_scripts([])]
    assert {"intake", "hints", "recommend", "board", "sweep", "loop", "day"} <= set(every)
    assert "table" not in every and not any(n.startswith("_") for n in every)
    assert [p.stem for p in stack.bench_scripts(["day", "sweep.py"])] == ["day", "sweep"]
    with pytest.raises(SystemExit, match="no such bench: nope"):
        stack.bench_scripts(["nope"])


def test_no_bench_script_is_named_like_a_package_of_the_project():
    """Benches run with bench/ as the working directory, and Celery's Django fixup puts it first on sys.path:
    a bench/sentiment.py would be imported as the sentiment app by every bench that loads the apps."""
    root = BENCH.parent
    packages = {p.parent.name for p in root.glob("*/__init__.py")}
    assert packages and not {p.stem for p in BENCH.glob("*.py")} & packages


def test_a_bench_must_print_exactly_one_json_object():
    assert stack.bench_result('progress\n{"bench": "x", "n": 1}\n') == {"bench": "x", "n": 1}
    with pytest.raises(ValueError, match="printed 0"):
        stack.bench_result("nothing\n")
    with pytest.raises(ValueError, match="printed 2"):
        stack.bench_result('{"a": 1}\n{"b": 2}\n')


def test_results_are_merged_by_name_keeping_the_benches_not_rerun(tmp_path):
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"intake": {"old": True}, "day": {"old": True}}))
    stack.merge_results(path, "day", {"new": True})
    assert json.loads(path.read_text()) == {"day": {"new": True}, "intake": {"old": True}}
    stack.merge_results(tmp_path / "fresh.json", "sweep", {"n": 1})
    assert json.loads((tmp_path / "fresh.json").read_text()) == {"sweep": {"n": 1}}


def test_make_bench_passes_quick_and_the_names_on():
    out = subprocess.run(
        ["make", "-n", "bench", "QUICK=1", "ARGS=day sweep"], cwd=BENCH.parent, capture_output=True, text=True
    ).stdout
    assert "devstack bench --quick day sweep" in out
    out = subprocess.run(["make", "-n", "bench", "QUICK=0"], cwd=BENCH.parent, capture_output=True, text=True).stdout
    assert "--quick" not in out


# --- Sizes and baselines ------------------------------------------------------------------------------------


def test_sizes_come_from_the_environment_else_full_or_quick(bench, monkeypatch):
    common = bench("_common")
    monkeypatch.delenv("BENCH_X", raising=False)
    monkeypatch.delenv("BENCH_QUICK", raising=False)
    assert common.size("BENCH_X", 1000, 10) == 1000
    monkeypatch.setenv("BENCH_QUICK", "1")
    assert common.size("BENCH_X", 1000, 10) == 10
    monkeypatch.setenv("BENCH_X", "77")
    assert common.size("BENCH_X", 1000, 10) == 77
    assert common.size("BENCH_X", 1.5, 0.5) == 77.0
    assert common.ratio(10, 4) == 2.5 and common.ratio(1, 0) is None and common.ratio(None, 3) is None


def test_pgbench_logs_are_read_as_per_transaction_latencies(bench, tmp_path):
    common = bench("_common")
    (tmp_path / "pgbench_log.123").write_text("0 0 512 0 1700000000 1\n0 1 1488 0 1700000000 2\n")
    (tmp_path / "pgbench_log.123.1").write_text("1 0 2000 0 1700000000 3\n")
    assert sorted(common.pgbench_log_latencies(tmp_path)) == [0.512, 1.488, 2.0]


def test_redis_benchmark_is_pointed_at_the_same_redis_and_read(bench):
    common = bench("_common")
    assert common.redis_benchmark_args("redis://127.0.0.1:6390/0") == ["-h", "127.0.0.1", "-p", "6390", "--dbnum", "0"]
    assert common.redis_benchmark_args("redis://:s%40cret@db.example:6379/2") == [
        "-h", "db.example", "-p", "6379", "-a", "s@cret", "--dbnum", "2",
    ]  # fmt: skip
    assert common.redis_benchmark_args("unix:///run/redis.sock") == ["-s", "/run/redis.sock"]
    csv = (
        '"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms",'
        '"max_latency_ms"\n"PUBLISH bench-x x","21929.82","0.042","0.016","0.031","0.031","0.343","7.503"\n'
    )
    got = common.parse_redis_benchmark_csv(csv)
    assert got["rps"] == 21929.82 and got["p99_ms"] == 0.343 and got["max_ms"] == 7.503
    with pytest.raises(ValueError):
        common.parse_redis_benchmark_csv("ERR unknown command\n")


# --- The day ------------------------------------------------------------------------------------------------


def test_a_whole_day_on_the_curve_brings_the_days_incidents(bench):
    day = bench("day")
    from simulation.calls import CallMaker, Station

    stations = [Station(k, f"S{k}", 30.2 + k / 100, 120.1 + k / 100) for k in range(12)]
    codes = {"030100", "050100", "060100", "090100", "100200", "020500", "010100", "040100"}
    maker = CallMaker(random.Random(1), stations, codes, peak_per_minute=day.peak_per_minute(15000))
    calls = day.plan_calls(maker, 0, 24)
    assert 14_000 < len(calls) < 16_000
    assert all(0 < t <= 24 * 3600 for t, _c in calls)
    evening = sum(1 for t, _c in calls if 19 * 3600 <= t < 22 * 3600)
    night = sum(1 for t, _c in calls if 3 * 3600 <= t < 6 * 3600)
    assert evening > 3 * night  # the peak between 19:00 and 22:00, the trough at 4 a.m.


def test_database_growth_is_given_per_thousand_incidents(bench):
    measure = bench("_measure")
    mb = 2**20
    before = {"total": 10 * mb, "tables": {"incidents_incident": mb, "codes": 2 * mb}}
    after = {"total": 30 * mb, "tables": {"incidents_incident": 9 * mb, "codes": 2 * mb, "log": 5 * mb}}
    got = measure.growth(before, after, 2000, top=2)
    assert got["mb_per_1000_incidents"] == 10.0
    assert [t["table"] for t in got["tables"]] == ["incidents_incident", "log"]
    assert got["tables"][0]["mb_per_1000_incidents"] == 4.0


def test_what_the_boards_received_is_summarised(bench):
    boards = bench("_boards")
    rec = boards.Received()
    for k in range(100):
        rec.add(float(k), "incident.created" if k % 2 else "order.sent", "city" if k < 50 else "station", 19, 1000.0)
    rec.add(500.0, "incident.created", "city", 20, 1001.0)
    rec.breach_s.extend([0.2, 0.4])
    got = rec.summary()
    assert got["messages"] == 101 and got["messages_per_s_peak"] == 100
    assert got["commit_to_receipt_ms"]["max"] == 500.0
    assert set(got["by_event"]) == {"incident.created", "order.sent"}
    assert got["by_level"]["station"]["n"] == 50
    assert got["by_hour_p99"] == {19: 98.0, 20: 500.0}
    assert got["breach_due_to_board_s"]["n"] == 2


def test_the_process_watch_counts_cpu_and_memory_by_role(bench):
    import psutil

    measure = bench("_measure")
    watch = measure.ProcessWatch({"me": measure.Role(lambda: [psutil.Process()])}, interval=0.05).start()
    t = time.process_time()
    while time.process_time() - t < 0.2:  # some CPU for the watch to see
        sum(range(1000))
    got = watch.stop()["me"]
    assert got["cpu_s"] > 0 and got["peak_rss_mb"] > 0 and got["peak_pss_mb"] > 0 and got["processes"] == 1


# --- The README's table -------------------------------------------------------------------------------------

MACHINE = {"cpus": 2, "cpu_model": "AMD EPYC", "ram_gb": 23.5, "postgres": "16.2",
           "postgres_where": "embedded (pgserver, unix socket)", "redis": "6.2.12", "load_average_1m": 0.4}  # fmt: skip
DB_BASE = {
    "pgbench_single_row_insert": {"clients": 4, "tps": 4200.0, "latency_ms": {"p99": 2.0}},
    "pgbench_single_row_insert_1_client": {"clients": 1, "tps": 1900.0, "latency_ms": {"p99": 0.8}},
}
PUSH_BASE = {
    "redis_pubsub_rtt_ms": {"p50": 0.1, "p99": 0.5},
    "redis_benchmark_publish_1_client": {"p99_ms": 0.04},
    "redis_benchmark_publish_20_clients": {"rps": 45000.0},
}
SAMPLE = {
    "day": {
        "bench": "day",
        "machine": MACHINE,
        "run": {"at": "2025-11-20T10:00:00+08:00", "quick": False},
        "settings": {"speed": 20.0, "incidents_per_day": 15000, "clients": 100, "hours": 24.0, "start": "00:00"},
        "played": {"intakes": {"created": 15012}},
        "intake_ms": {"p99": 83.0},
        "push": {"commit_to_receipt_ms": {"p99": 240.0}},
        "breach_lag": {"recorded_s": {"p99": 0.6}, "pushed_s": {"p99": 0.7}},
        "database": {"mb_per_1000_incidents": 9.5},
        "processes": {"web": {"cores_avg": 0.5, "peak_pss_mb": 400.0}, "redis": {"cores_avg": 0.02, "peak_pss_mb": 7}},
        "baseline": DB_BASE | PUSH_BASE,
        "ratios": {"intake_p99_over_pgbench_1_client_p99": 103.8, "push_p99_over_redis_pubsub_rtt_p99": 480.0},
        "target": {"met": {"intake": True, "push": False, "breach": True}},
    },
    "intake": {
        "machine": MACHINE,
        "requests": 3000,
        "concurrency": 16,
        "modes": {"gunicorn-sync-4": {"incidents_per_s": 151.0, "p99_ms": 160.0}},
        "fastest_mode": "gunicorn-sync-4",
        "baseline": DB_BASE,
        "ratios": {"incidents_per_s_over_pgbench_tps": {"gunicorn-sync-4": 0.036}},
        "target": {"incidents_per_s": 300, "p99_ms": 100, "met_by": []},
    },
    "sweep": {"error": "exit 1", "machine": MACHINE},
    "someday": {"target": {"met": True}},
}


def test_the_table_is_printed_from_the_results(bench, tmp_path, capsys):
    table = bench("table")
    path = tmp_path / "results.json"
    path.write_text(json.dumps(SAMPLE))
    assert table.main(["table.py", str(path)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "| bench | what was measured | result | target | same-run baseline | ratio | machine |"
    rows = {line.split(" | ")[0].strip("| `"): line for line in lines[2:]}
    assert list(rows) == ["intake.py", "sweep.py", "day.py", "someday.py"]  # known benches first, in their order
    day = rows["day.py"]
    assert "15,000 incidents a day, 24 h from 00:00 at 20× through the API, 100 boards watching (15,012" in day
    assert "intake p99 83 ms; push p99 240 ms; breach lag p99 0.600 s recorded, 0.700 s pushed" in day
    assert "9.50 MB per 1,000 incidents" in day and "web 0.50" in day and "web 400 MB" in day
    assert "intake ≤ 100 ms: met; push ≤ 150 ms: **not met**; breach ≤ 1.5 s: met" in day
    assert "pgbench single-row INSERT 4,200 tps; one INSERT alone p99 0.800 ms" in day
    assert "Redis PUBLISH → subscriber p99 0.500 ms; redis-benchmark PUBLISH p99 0.040 ms, 45,000/s" in day
    assert "intake 104× one INSERT; push 480× the Redis round trip" in day
    assert "2 cores AMD EPYC, 23.5 GB, PostgreSQL 16.2 embedded, Redis 6.2.12, load 0.4, 2025-11-20" in day
    assert "gunicorn-sync-4 151/s, p99 160 ms" in rows["intake.py"]
    assert "gunicorn-sync-4: 0.036× pgbench's tps" in rows["intake.py"]
    assert "failed: exit 1" in rows["sweep.py"]


def test_the_table_reads_the_committed_results(bench):
    table = bench("table")
    results = json.loads((BENCH / "results.json").read_text())
    lines = table.table(results).splitlines()
    assert len(lines) == 2 + len(results)
    assert all(line.count(" | ") == 6 for line in lines[2:])


def test_the_bench_scripts_import_without_django_set_up(bench):
    """Each script reads its sizes at import and must not need the database before main() runs."""
    for name in ("intake", "hints", "recommend", "loop", "sweep", "board", "day", "hotspots", "province", "table"):
        sys.modules.pop(name, None)
        assert callable(bench(name).main)


def test_the_province_row_reads_intake_hints_measures_and_the_partitioning(bench):
    table = bench("table")
    entry = {
        "machine": MACHINE,
        "incidents": 12_000_000,
        "months": 12,
        "stations": 112,
        "intake_ms": {"near_empty_table": {"p99": 30.0}, "full_table": {"p99": 33.0}},
        "hints_ms": {"phone": {"p99": 5.0}, "address": {"p99": 6.0}, "position_and_category": {"p99": 7.0}},
        "kpis_ms": {"province_month": {"p99": 400.0}, "city_month": {"p99": 150.0}, "station_day": {"p99": 20.0}},
        "load": {"load_s": 1800.0, "rebuild_s": 600.0},
        "size": {"bytes_per_incident_with_log": 1100},
        "partitioning": {"retire_oldest_month": {"delete_month_s_estimated": 900.0, "detach_partitions_ms": 5.0,
                                                 "drop_partitions_ms": 45.0}},
        "baseline": DB_BASE | {"pk_select_ms": {"p99": 0.5}},
        "ratios": {"intake_p99_full_over_empty": 1.1, "intake_p99_over_pgbench_1_client_p99": 41.2},
        "target": {"met": {"intake": True, "hints": True, "city_month": True, "station_day": False}},
    }  # fmt: skip
    line = table.table({"province": entry}).splitlines()[2]
    assert "12,000,000 incidents (12 months, 112 stations) loaded by COPY" in line
    assert "intake p99 30.0 ms on a near-empty table, 33.0 ms on the full one" in line
    assert "month p99 province 400 ms, city 150 ms, county —" in line
    assert "DELETE ≈ 900 s, DETACH + DROP PARTITION 50.0 ms" in line
    assert "station day ≤ 50 ms: **not met**" in line and "intake full / near-empty 1.10×" in line


def test_the_province_bench_partitions_by_calendar_month_and_rewrites_to_the_copies(bench):
    province = bench("province")
    months = province.months_between(date(2025, 12, 7), date(2026, 12, 7))
    assert len(months) == 13 and months[0] == date(2025, 12, 1) and months[-1] == date(2026, 12, 1)
    assert province.months_between(date(2026, 1, 31), date(2026, 2, 1)) == [date(2026, 1, 1), date(2026, 2, 1)]
    q = 'SELECT "incidents_incident"."id" FROM "incidents_incident" JOIN "incidents_incidenttransition" ON true'
    assert province.part_sql(q) == 'SELECT "pinc"."id" FROM "pinc" JOIN "plog" ON true'
