"""The README's Performance table from bench/results.json: `python bench/table.py [results.json]` prints it as
Markdown, one row per bench — what was measured, the result, the target, the same-run baseline, the ratio of
the result to the baseline, and the machine (with the date it ran). Not a bench: `make bench` skips it.

It reads what the benches wrote and tolerates entries written by earlier versions of them (a missing number
prints as "—"), so the table can be refreshed from old results as well as new.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results.json"
COLUMNS = ("bench", "what was measured", "result", "target", "same-run baseline", "ratio", "machine")
DASH = "—"


def dig(d: Any, *keys: Any) -> Any:
    """d[k1][k2]…, or None as soon as one is missing."""
    for k in keys:
        found = k in d if isinstance(d, dict) else isinstance(d, list) and isinstance(k, int) and -len(d) <= k < len(d)
        if not found:
            return None
        d = d[k]
    return d


def num(v: Any, unit: str = "", digits: int | None = None) -> str:
    """A number for a person: 3 significant digits unless told (1,234 / 12.3 / 0.123), with its unit."""
    if not isinstance(v, int | float) or v != v:
        return DASH
    if digits is None:
        a = abs(v)
        digits = 0 if a >= 100 else 1 if a >= 10 else 2 if a >= 1 else 3
    text = f"{v:,.{digits}f}"
    return f"{text}{unit}" if unit[:1] in ("", "×", "/") else f"{text} {unit}"


def met(flag: Any) -> str:
    return DASH if flag is None else "met" if flag else "**not met**"


def pgbench(e: dict[str, Any]) -> str:
    """The database baseline: pgbench single-row INSERT (tps with 4 clients, p99 of one insert alone)."""
    b = e.get("baseline") or {}
    tps = dig(b, "pgbench_single_row_insert", "tps") or b.get("pgbench_single_row_insert_tps")
    p99 = dig(b, "pgbench_single_row_insert_1_client", "latency_ms", "p99")
    parts = []
    if tps is not None:
        parts.append(f"pgbench single-row INSERT {num(tps, 'tps', 0)}")
    if p99 is not None:
        parts.append(f"one INSERT alone p99 {num(p99, 'ms')}")
    return "; ".join(parts)


def redis(e: dict[str, Any], seconds: bool = False) -> str:
    """The push baseline: PUBLISH → subscriber round trip, and redis-benchmark's PUBLISH."""
    b = e.get("baseline") or {}
    rtt = dig(b, "redis_pubsub_rtt_ms", "p99")
    if rtt is None and dig(b, "redis_pubsub_rtt_s", "p99") is not None:
        rtt = b["redis_pubsub_rtt_s"]["p99"] * 1000
    pub = dig(b, "redis_benchmark_publish_1_client", "p99_ms")
    rps = dig(b, "redis_benchmark_publish_20_clients", "rps")
    parts = []
    if rtt is not None:
        parts.append(f"Redis PUBLISH → subscriber p99 {num(rtt, 'ms')}")
    if pub is not None:
        parts.append(f"redis-benchmark PUBLISH p99 {num(pub, 'ms')}, {num(rps, '/s', 0)}")
    return "; ".join(parts)


def joined(*parts: str) -> str:
    return "; ".join(p for p in parts if p) or DASH


def machine(e: dict[str, Any]) -> str:
    m = e.get("machine") or {}
    bits = []
    if m.get("cpus"):
        bits.append(f"{m['cpus']} cores" + (f" {m['cpu_model']}" if m.get("cpu_model") else ""))
    if m.get("ram_gb"):
        bits.append(f"{m['ram_gb']:g} GB")
    if m.get("postgres"):
        where = " embedded" if "embedded" in str(m.get("postgres_where", "")) else ""
        bits.append(f"PostgreSQL {m['postgres']}{where}")
    if m.get("redis"):
        where = " embedded" if "embedded" in str(m.get("redis_where", "")) else ""
        bits.append(f"Redis {m['redis']}{where}")
    load = m.get("load_average_1m", m.get("load_average_1m_before_load"))
    if load is not None:
        bits.append(f"load {load:g}")
    run = e.get("run") or {}
    if run.get("at"):
        bits.append(str(run["at"])[:10] + (" (quick)" if run.get("quick") else ""))
    return ", ".join(bits) or DASH


# --- One row per bench -------------------------------------------------------------------------------------

Row = tuple[str, str, str, str, str]  # what, result, target, baseline, ratio


def intake(e: dict[str, Any]) -> Row:
    modes = e.get("modes") or {}
    best = e.get("fastest_mode") or (max(modes, key=lambda m: modes[m].get("incidents_per_s", 0)) if modes else None)
    result = "; ".join(
        f"{m} {num(r.get('incidents_per_s'), '/s', 0)}, p99 {num(r.get('p99_ms'), 'ms', 0)}" for m, r in modes.items()
    )
    t = e.get("target") or {}
    ratio = dig(e, "ratios", "incidents_per_s_over_pgbench_tps", best) or dig(e, "ratios", best)  # or older entries
    p99_ratio = dig(e, "ratios", "p99_over_pgbench_1_client_p99", best)
    return (
        f"`POST /api/incidents/` over HTTP, {e.get('concurrency', DASH)} in flight, {num(e.get('requests'), '', 0)} "
        "calls, per serving mode",
        result or DASH,
        f"≥ {t.get('incidents_per_s', 300)}/s and p99 ≤ {t.get('p99_ms', 100)} ms: {met(bool(t.get('met_by')))}",
        pgbench(e) or DASH,
        joined(
            f"{best}: {num(ratio, '×')} pgbench's tps" if ratio is not None else "",
            f"p99 {num(p99_ratio, '×')} one INSERT's" if p99_ratio is not None else "",
        ),
    )


def hints(e: dict[str, Any]) -> Row:
    h = e.get("hints_ms") or {}
    t = e.get("target") or {}
    pk = dig(e, "baseline", "pk_select_ms", "p99")
    return (
        f"repeat hints over {num(e.get('incidents'), '', 0)} incidents (loaded by COPY)",
        f"p99 phone {num(dig(h, 'phone', 'p99'), 'ms')}, address {num(dig(h, 'address', 'p99'), 'ms')}, position "
        f"+ category {num(dig(h, 'position_and_category', 'p99'), 'ms')}; all three at once "
        f"{num(dig(h, 'all_fields', 'p99'), 'ms')}",
        f"p99 ≤ {t.get('p99_ms', 20)} ms: {met(t.get('met'))}",
        joined(pgbench(e), f"primary-key SELECT p99 {num(pk, 'ms')}" if pk is not None else ""),
        joined(
            f"all three {num(dig(e, 'ratios', 'all_fields_p99_over_pk_select_p99'), '×')} a PK SELECT",
            f"phone {num(dig(e, 'ratios', 'phone_p99_over_pgbench_1_client_p99'), '×')} one INSERT"
            if dig(e, "ratios", "phone_p99_over_pgbench_1_client_p99") is not None
            else "",
        ),
    )


def recommend(e: dict[str, Any]) -> Row:
    r = e.get("recommend_ms") or {}
    t = e.get("target") or {}
    pk = dig(e, "baseline", "pk_select_ms", "p99")
    return (
        f"unit recommendation among {num(e.get('units'), '', 0)} units ({num(e.get('available'), '', 0)} available)",
        f"p99 {num(dig(r, 'city_limit_10', 'p99'), 'ms')} (city, 10 results), "
        f"{num(dig(r, 'city_limit_50', 'p99'), 'ms')} (50), {num(dig(r, 'county_limit_10', 'p99'), 'ms')} (a county), "
        f"{num(dig(r, 'api_limit_10', 'p99'), 'ms')} through the API",
        f"p99 ≤ {t.get('p99_ms', 50)} ms: {met(t.get('met'))}",
        joined(pgbench(e), f"primary-key SELECT p99 {num(pk, 'ms')}" if pk is not None else ""),
        joined(
            f"city {num(dig(e, 'ratios', 'city_limit_10_p99_over_pk_select_p99'), '×')} a PK SELECT",
            f"API {num(dig(e, 'ratios', 'api_limit_10_p99_over_pgbench_1_client_p99'), '×')} one INSERT"
            if dig(e, "ratios", "api_limit_10_p99_over_pgbench_1_client_p99") is not None
            else "",
        ),
    )


def loop(e: dict[str, Any]) -> Row:
    storm = e.get("breach_storm") or {}
    bare = dig(e, "baseline", "breach_without_escalation", "ms_per_breach")
    return (
        f"the loop at {e.get('stations', 12)} stations: issue, merge, approve; {num(storm.get('deadlines'), '', 0)} "
        "task clocks breaking at once, each escalated",
        f"issue p50 {num(dig(e, 'issue_to_12_stations_ms', 'p50'), 'ms')}, merge p50 "
        f"{num(dig(e, 'issue_merged_into_12_open_tasks_ms', 'p50'), 'ms')}, approve p50 "
        f"{num(dig(e, 'approve_ms', 'p50'), 'ms')}; breach with escalation "
        f"{num(storm.get('ms_per_breach'), 'ms')} each ({num(storm.get('seconds'), 's')} for all)",
        DASH,
        joined(f"a breach without escalation {num(bare, 'ms')}" if bare is not None else "", pgbench(e)),
        f"{num(dig(e, 'ratios', 'escalated_breach_over_bare_breach'), '×')} a bare breach",
    )


def sweep(e: dict[str, Any]) -> Row:
    t = e.get("target") or {}
    return (
        f"{num(e.get('deadlines_open'), '', 0)} open deadlines, {num(e.get('due_in_same_second'), '', 0)} due in the "
        "same second; real daphne + worker + beat",
        f"due → breached p99 {num(dig(e, 'breach_lag_s', 'p99'), 's')}; due → on a board p99 "
        f"{num(dig(e, 'push_lag_s', 'p99'), 's')}",
        f"p99 ≤ {t.get('p99_s', 1.5)} s: {met(t.get('met'))}",
        joined(redis(e), pgbench(e)),
        joined(
            f"push {num(dig(e, 'ratios', 'push_p99_over_redis_rtt_p99'), '×')} the Redis round trip",
            f"breach {num(dig(e, 'ratios', 'breach_p99_over_pgbench_1_client_p99'), '×')} one INSERT"
            if dig(e, "ratios", "breach_p99_over_pgbench_1_client_p99") is not None
            else "",
        ),
    )


def board(e: dict[str, Any]) -> Row:
    load = e.get("load") or {}
    lat = dig(e, "latency_ms", "commit_to_receipt") or {}
    gaps = e.get("gaps") or {}
    t = e.get("target") or {}
    return (
        f"{dig(e, 'boards', 'total') or DASH} board WebSockets while `POST /api/incidents/` runs at "
        f"{num(load.get('target_rate_per_s'), '/s', 0)} for {num(load.get('seconds'), 's', 0)}",
        f"{num(load.get('achieved_rate_per_s'), '/s')} achieved; commit → board p50 {num(lat.get('p50'), 'ms', 0)}, "
        f"p99 {num(lat.get('p99'), 'ms', 0)}; {num(gaps.get('recovered_by_resync'), '', 0)} of "
        f"{num(gaps.get('seen'), '', 0)} gaps recovered by the REST reload",
        f"p99 ≤ {t.get('p99_ms', 150)} ms, every gap recovered: {met(t.get('met'))}",
        redis(e) or DASH,
        f"p99 {num(dig(e, 'ratios', 'p99_over_redis_rtt_p99'), '×')} the Redis round trip",
    )


def day(e: dict[str, Any]) -> Row:
    s = e.get("settings") or {}
    p = e.get("played") or {}
    bl = e.get("breach_lag") or {}
    db = e.get("database") or {}
    t = dig(e, "target", "met") or {}
    procs = e.get("processes") or {}
    cpu = ", ".join(
        f"{k} {num(v.get('cores_avg'), '', 2)}"
        for k, v in procs.items()
        if k in ("web", "ws", "worker", "beat", "postgres_server", "redis") and isinstance(v, dict)
    )
    mem = ", ".join(
        f"{k} {num(v.get('peak_pss_mb'), 'MB', 0)}"
        for k, v in procs.items()
        if k in ("web", "ws", "worker", "beat", "postgres", "redis") and isinstance(v, dict)
    )
    hours = f"{s['hours']:g} h" if isinstance(s.get("hours"), int | float) else DASH
    return (
        f"a simulated day: {num(s.get('incidents_per_day'), '', 0)} incidents a day, {hours} "
        f"from {s.get('start', DASH)} at {num(s.get('speed'), '×', 0)} through the API, {s.get('clients', DASH)} "
        f"boards watching ({num(dig(p, 'intakes', 'created'), '', 0)} incidents)",
        f"intake p99 {num(dig(e, 'intake_ms', 'p99'), 'ms', 0)}; push p99 "
        f"{num(dig(e, 'push', 'commit_to_receipt_ms', 'p99'), 'ms', 0)}; breach lag p99 "
        f"{num(dig(bl, 'recorded_s', 'p99'), 's')} recorded, {num(dig(bl, 'pushed_s', 'p99'), 's')} pushed; "
        f"database {num(db.get('mb_per_1000_incidents'), 'MB')} per 1,000 incidents; CPU cores {cpu or DASH}; "
        f"peak PSS {mem or DASH}",
        f"intake ≤ 100 ms: {met(t.get('intake'))}; push ≤ 150 ms: {met(t.get('push'))}; breach ≤ 1.5 s: "
        f"{met(t.get('breach'))}",
        joined(pgbench(e), redis(e)),
        joined(
            f"intake {num(dig(e, 'ratios', 'intake_p99_over_pgbench_1_client_p99'), '×')} one INSERT",
            f"push {num(dig(e, 'ratios', 'push_p99_over_redis_pubsub_rtt_p99'), '×')} the Redis round trip",
        ),
    )


def gazetteer(e: dict[str, Any]) -> Row:
    t = e.get("target") or {}
    pk = dig(e, "baseline", "pk_select_ms", "p99")
    index = "trigram GIN index" if e.get("trigram_index") else "no pg_trgm: LIKE scan"
    return (
        f"gazetteer search while typing over {num(e.get('addresses'), '', 0)} addresses ({index})",
        f"p50 {num(dig(e, 'search_ms', 'p50'), 'ms')}, p99 {num(dig(e, 'search_ms', 'p99'), 'ms')}",
        f"p99 ≤ {t.get('p99_ms', 20)} ms: {met(t.get('met'))}",
        joined(pgbench(e), f"primary-key SELECT p99 {num(pk, 'ms')}" if pk is not None else ""),
        f"{num(dig(e, 'ratios', 'search_p99_over_pk_select_p99'), '×')} a PK SELECT",
    )


def kpis(e: dict[str, Any]) -> Row:
    k = e.get("kpis_ms") or {}
    t = e.get("target") or {}
    b = e.get("baseline") or {}
    pk, count = dig(b, "pk_select_ms", "p99"), dig(b, "month_count_ms", "p99")
    return (
        f"every measure of a month ({num(e.get('incidents_in_month'), '', 0)} incidents) for a city and each of its "
        f"counties, and of a station's day, from the rollup; {num(e.get('incidents'), '', 0)} incidents over a year, "
        f"{e.get('stations', DASH)} stations",
        f"city month p50 {num(dig(k, 'city_month_with_counties', 'p50'), 'ms')}, p99 "
        f"{num(dig(k, 'city_month_with_counties', 'p99'), 'ms')} (100 keys dirty: p99 "
        f"{num(dig(k, 'city_month_100_keys_dirty', 'p99'), 'ms')}); station day p50 "
        f"{num(dig(k, 'station_day', 'p50'), 'ms')}, p99 {num(dig(k, 'station_day', 'p99'), 'ms')}; flush of 100 keys "
        f"p50 {num(dig(k, 'flush_100_keys', 'p50'), 'ms')}; rebuild {num(e.get('rebuild_s'), 's')}",
        f"p99 ≤ {t.get('city_month_p99_ms', 300)} ms and ≤ {t.get('station_day_p99_ms', 50)} ms: {met(t.get('met'))}",
        joined(
            f"primary-key SELECT p99 {num(pk, 'ms')}" if pk is not None else "",
            f"count(*) of the month's incidents p99 {num(count, 'ms')}" if count is not None else "",
        ),
        joined(
            f"city month {num(dig(e, 'ratios', 'city_month_p99_over_month_count_p99'), '×')} the count(*)",
            f"station day {num(dig(e, 'ratios', 'station_day_p99_over_pk_select_p99'), '×')} a PK SELECT",
        ),
    )


def hotspots(e: dict[str, Any]) -> Row:
    k = e.get("hotspots_ms") or {}
    t = e.get("target") or {}
    b = e.get("baseline") or {}
    pending: dict[str, Any] = next(
        (v for key, v in k.items() if key.startswith("city_month_") and key.endswith("_pending")), {}
    )
    return (
        f"热点 of a city month ({num(e.get('incidents_in_month'), '', 0)} incidents, {num(e.get('cells'), '', 0)} "
        f"cells, {e.get('stations', DASH)} stations) against its {e.get('baseline_weeks', DASH)} earlier months, "
        f"from the rollup; {num(e.get('incidents'), '', 0)} incidents in all",
        f"city month by cell p50 {num(dig(k, 'city_month_cells', 'p50'), 'ms')}, p99 "
        f"{num(dig(k, 'city_month_cells', 'p99'), 'ms')} (deltas pending: p99 {num(pending.get('p99'), 'ms')}); "
        f"by station p99 {num(dig(k, 'city_month_stations', 'p99'), 'ms')}; one category p99 "
        f"{num(dig(k, 'city_month_one_category', 'p99'), 'ms')}; station day p99 "
        f"{num(dig(k, 'station_day', 'p99'), 'ms')}; rebuild {num(e.get('rebuild_s'), 's')}",
        f"p99 ≤ {t.get('city_month_p99_ms', 500)} ms: {met(t.get('met'))}",
        joined(
            f"the same counts by GROUP BY over the incidents p99 {num(dig(b, 'direct_group_by_ms', 'p99'), 'ms')}",
            f"primary-key SELECT p99 {num(dig(b, 'pk_select_ms', 'p99'), 'ms')}",
        ),
        f"{num(dig(e, 'ratios', 'city_month_p99_over_direct_group_by_p99'), '×')} the GROUP BY",
    )


def sentiment(e: dict[str, Any]) -> Row:
    t = e.get("target") or {}
    return (
        f"网情 polarity of {num(e.get('posts'), '', 0)} posts ({num(e.get('mean_chars'), '', 0)} characters on "
        f"average) by the shipped model on one core; macro-F1 on their labels",
        f"{num(e.get('posts_per_s'), 'posts/s', 0)}, peak RSS {num(e.get('peak_rss_mb'), 'MB')}; macro-F1 "
        f"{num(e.get('macro_f1'), '', 3)} (held-out sentences {num(e.get('heldout_sentences_macro_f1'), '', 3)})",
        f"≥ {num(t.get('posts_per_s', 2000), 'posts/s', 0)}, ≤ {t.get('rss_mb', 300)} MB: {met(t.get('met'))}",
        f"jieba.lcut alone over the same posts {num(dig(e, 'baseline', 'jieba_lcut_posts_per_s'), 'posts/s', 0)}",
        f"{num(dig(e, 'ratios', 'classifier_over_jieba_posts_per_s'), '×')} jieba's rate",
    )


def sentiment_ingest(e: dict[str, Any]) -> Row:
    return (
        f"网情 ingest: {num(e.get('posts'), '', 0)} posts in batches of {num(e.get('batch'), '', 0)} (checked, scored, "
        f"placed, grouped, watched, stored, pushed) over {num(e.get('earlier_posts'), '', 0)} earlier ones; then "
        "the spike detection",
        f"{num(e.get('posts_per_s'), 'posts/s')}; a batch p50 {num(dig(e, 'batch_ms', 'p50'), 'ms')}, p99 "
        f"{num(dig(e, 'batch_ms', 'p99'), 'ms')}; spikes {num(e.get('spike_detection_ms'), 'ms')}",
        DASH,
        pgbench(e),
        f"{num(dig(e, 'ratios', 'posts_per_s_over_pgbench_1_client_tps'), '×')} one client's single-row commits",
    )


def province(e: dict[str, Any]) -> Row:
    i, h, k = e.get("intake_ms") or {}, e.get("hints_ms") or {}, e.get("kpis_ms") or {}
    t = dig(e, "target", "met") or {}
    load = e.get("load") or {}
    size = e.get("size") or {}
    retire = dig(e, "partitioning", "retire_oldest_month") or {}
    pk = dig(e, "baseline", "pk_select_ms", "p99")
    part = ""
    if retire:
        drop = (retire.get("detach_partitions_ms") or 0) + (retire.get("drop_partitions_ms") or 0)
        part = (
            f"; retiring a month: DELETE ≈ {num(retire.get('delete_month_s_estimated'), 's')}, DETACH + DROP "
            f"PARTITION {num(drop, 'ms')}"
        )
    return (
        f"a province's year: {num(e.get('incidents'), '', 0)} incidents ({e.get('months', DASH)} months, "
        f"{e.get('stations', DASH)} stations) loaded by COPY; intake, hints and the month's measures at that size; "
        "a month-partitioned copy against the plain tables",
        f"intake p99 {num(dig(i, 'near_empty_table', 'p99'), 'ms')} on a near-empty table, "
        f"{num(dig(i, 'full_table', 'p99'), 'ms')} on the full one; hints p99 phone "
        f"{num(dig(h, 'phone', 'p99'), 'ms')}, address {num(dig(h, 'address', 'p99'), 'ms')}, position + category "
        f"{num(dig(h, 'position_and_category', 'p99'), 'ms')}; month p99 province "
        f"{num(dig(k, 'province_month', 'p99'), 'ms')}, city {num(dig(k, 'city_month', 'p99'), 'ms')}, county "
        f"{num(dig(k, 'county_month', 'p99'), 'ms')}; station day p99 {num(dig(k, 'station_day', 'p99'), 'ms')}; "
        f"load {num(load.get('load_s'), 's')}, rebuild {num(load.get('rebuild_s'), 's')}; "
        f"{num(size.get('bytes_per_incident_with_log'), 'B', 0)} per incident with its log{part}",
        f"intake ≤ 100 ms: {met(t.get('intake'))}; hints ≤ 20 ms: {met(t.get('hints'))}; city month ≤ 300 ms: "
        f"{met(t.get('city_month'))}; station day ≤ 50 ms: {met(t.get('station_day'))}",
        joined(pgbench(e), f"primary-key SELECT p99 {num(pk, 'ms')}" if pk is not None else ""),
        joined(
            f"intake full / near-empty {num(dig(e, 'ratios', 'intake_p99_full_over_empty'), '×')}",
            f"intake {num(dig(e, 'ratios', 'intake_p99_over_pgbench_1_client_p99'), '×')} one INSERT",
        ),
    )


ROWS: dict[str, Callable[[dict[str, Any]], Row]] = {
    "intake": intake,
    "hints": hints,
    "gazetteer": gazetteer,
    "kpis": kpis,
    "hotspots": hotspots,
    "province": province,
    "recommend": recommend,
    "board": board,
    "sweep": sweep,
    "loop": loop,
    "day": day,
    "sentiment_score": sentiment,
    "sentiment_ingest": sentiment_ingest,
}


def row(name: str, entry: dict[str, Any]) -> list[str]:
    if "error" in entry:
        return [f"`{name}.py`", DASH, f"failed: {entry['error']}", DASH, DASH, DASH, machine(entry)]
    build = ROWS.get(name)
    if build is None:  # a bench this script does not know yet: its headline numbers as they are
        cells: Row = (DASH, json.dumps(entry.get("target") or {}, ensure_ascii=False), DASH, DASH, DASH)
    else:
        cells = build(entry)
    return [f"`{name}.py`", *cells, machine(entry)]


def table(results: dict[str, Any]) -> str:
    order = [n for n in ROWS if n in results] + sorted(n for n in results if n not in ROWS)
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for name in order:
        cells = [c.replace("|", "\\|").replace("\n", " ") for c in row(name, results[name])]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    path = Path(argv[1]) if len(argv) > 1 else RESULTS
    print(table(json.loads(path.read_text())))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
