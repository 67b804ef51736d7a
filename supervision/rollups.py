"""The measures' rollup: every figure of supervision/kpis.py as a sum of rows of KpiDay (org × local day ×
category), exact and fresh.

- Building: one SQL builder (`_builder`) turns the raw rows of some days into KpiDay rows — each fact on the
  local day of the time its measure anchors it on (kpis.py's docstring), counted as the measure counts it —
  a row per category and one for the (org, day)'s whole (category WHOLE), which reads without a category
  prefix sum instead.
- Freshness: triggers on every source table (migration 0004) mark the (org, day) keys a change touches in
  KpiDirty. A read sums the clean rollup rows of its scope and runs the same builder on the raw rows of the
  marked keys in scope, in one statement (one snapshot), so a figure equals the raw computation at any
  moment. Beat's flush (every minute, settings.HOUSEKEEPING) rebuilds the marked keys and deletes the marks.
- Time: a measure counts only what is decided (an order inside its 30 s, a unit inside its ring, a clock not
  due yet count neither way), so a rollup row can go stale with no write at all. Each row keeps when the
  first of its undecided facts will be decided (`settles_at`); from then on its key reads from the raw rows
  like a marked one, and the next flush rebuilds it.
- Call-to-dispatch p90: a histogram of the wait in whole seconds per row, merged in the read and cut at
  percentile_disc(0.9)'s rank, ceil(0.9 × n).
- `manage.py rebuild_kpi_rollups [--from --to]` builds everything (or a range) again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from math import ceil
from typing import Any

from django.conf import settings
from django.db import connection, connections, transaction

from command_center import dbrouter

TZ = "Asia/Shanghai"  # the triggers' (migration 0004); a test holds settings.TIME_ZONE to it

# The summed columns of KpiDay, in table order (the histogram, disp_secs/disp_counts, is merged apart).
COLUMNS = [
    "inc_n", "repeat_n", "disp_n", "disp_wait_s", "fb_n", "fb_ok", "fb_late",
    "sign_n", "sign_ok", "signed_n", "signed_wait_s",
    "ring1_n", "ring1_ok", "ring3_n", "ring3_ok", "ring5_n", "ring5_ok",
    "closed_n", "called_n", "satisfied_n", "div_n", "div_accepted", "div_returned",
    "task_n", "task_signed_ok", "task_reported_ok", "task_rework", "reminders_n", "so_n",
    "task_sign_n", "task_report_n", "div_fin_n", "div_fin_ok",
]  # fmt: skip

P90 = 0.9
# The category of an (org, day)'s whole row: the sum of its category rows (and of those without one), which is
# what every read without a category prefix sums — a month of a city is then 30 rows a station, however many
# incidents and categories it had. No category code looks like it.
WHOLE = "*"


def _local(col: str) -> str:
    return f"({col} AT TIME ZONE '{TZ}')::date"


def _secs(later: str, earlier: str) -> str:
    return f"EXTRACT(EPOCH FROM {later} - {earlier})"


@dataclass(frozen=True)
class _Part:
    """One source of facts: its table (scanned by the anchor's index, a day at a time), LATERAL joins to the
    rows it needs beside (each with OFFSET 0, which keeps the planner from flattening it into a hash join
    over the whole other table: an index probe per row instead), the fact's
    org, anchor and category, a condition, and what it adds to which columns (the rest 0); `wait` feeds the
    histogram."""

    source: str
    joins: str
    org: str
    anchor: str
    category: str
    where: str
    adds: dict[str, str]
    wait: str = "NULL::int"
    # When the row, still undecided now (an order inside its 30 s, a clock not due yet), will be decided: the
    # rollup row it feeds is good until then (`settles_at`), and read from the raw rows after.
    pending: str = "NULL::timestamptz"
    # The table has an index on (org, anchor) (migration 0006): the marked keys' rows are found by key, each
    # key a range scan of its own org's day, instead of scanning the whole day and keeping the keys' rows.
    by_key: bool = False


_SATISFIED = "('satisfied', 'basically')"
SIGN_LIMIT_S = 30  # the field's measure, signed within 30 seconds (30秒签收率); kpis.py reads it from here
_SIGN = f"interval '{SIGN_LIMIT_S} seconds'"

PARTS = [
    _Part(  # incidents reported: the desk's measures
        "incidents_incident i", "", "i.org_id", "i.reported_at", "i.category_id",
        "i.state NOT IN ('merged', 'invalid')",
        {
            "inc_n": "1",
            "repeat_n": "COALESCE((SELECT 1 FROM incidents_repeatlink l WHERE l.incident_id = i.id LIMIT 1), "
            "(SELECT 1 FROM incidents_repeatcluster_incidents m WHERE m.incident_id = i.id LIMIT 1), 0)",
            "disp_n": "(i.dispatched_at IS NOT NULL)::int",
            "disp_wait_s": f"COALESCE({_secs('i.dispatched_at', 'i.reported_at')}, 0)",
        },
        wait=f"floor({_secs('i.dispatched_at', 'i.reported_at')})::int",
        by_key=True,
    ),
    _Part(  # their feedback clocks (not cancelled)
        "incidents_incident i",
        "CROSS JOIN LATERAL (SELECT d.met_at, d.due_at, d.breached_at FROM command_center_deadline d WHERE "
        "d.subject_type_id = (SELECT id FROM django_content_type WHERE app_label = 'incidents' AND model = 'incident') "
        "AND d.subject_id = i.id AND d.kind = 'incidents.feedback' "
        "AND d.cancelled_at IS NULL OFFSET 0) AS d",
        "i.org_id", "i.reported_at", "i.category_id", "i.state NOT IN ('merged', 'invalid')",
        {
            "fb_n": "(d.met_at IS NOT NULL OR d.due_at <= statement_timestamp())::int",
            "fb_ok": "(d.met_at IS NOT NULL AND d.met_at <= d.due_at)::int",
            "fb_late": "(d.breached_at IS NOT NULL "
            "AND (d.met_at IS NOT NULL OR d.due_at <= statement_timestamp()))::int",
        },
        pending="CASE WHEN d.met_at IS NULL AND d.due_at > statement_timestamp() THEN d.due_at END",
        by_key=True,
    ),
    _Part(  # orders sent, by the org addressed, of the incident's category
        "dispatch_dispatchorder o",
        "CROSS JOIN LATERAL (SELECT i.category_id FROM incidents_incident i WHERE i.id = o.incident_id OFFSET 0) AS i",
        "o.org_id", "o.sent_at", "i.category_id", "true",
        pending=f"LEAST(CASE WHEN o.signed_at IS NULL AND o.state NOT IN ('cancelled', 'returned') "
        f"AND o.sent_at > statement_timestamp() - {_SIGN} THEN o.sent_at + {_SIGN} END, "
        "CASE WHEN o.ring_minutes IN (1, 3, 5) AND o.signed_at IS NOT NULL AND o.arrived_at IS NULL "
        "AND o.signed_at > statement_timestamp() - o.ring_minutes * interval '1 minute' "
        "THEN o.signed_at + o.ring_minutes * interval '1 minute' END)",
        adds={
            "sign_n": "(o.signed_at IS NOT NULL OR (o.state NOT IN ('cancelled', 'returned') "
            f"AND o.sent_at <= statement_timestamp() - {_SIGN}))::int",
            "sign_ok": f"COALESCE({_secs('o.signed_at', 'o.sent_at')} <= {SIGN_LIMIT_S}, false)::int",
            "signed_n": "(o.signed_at IS NOT NULL)::int",
            "signed_wait_s": f"COALESCE({_secs('o.signed_at', 'o.sent_at')}, 0)",
            **{
                col: expr
                for r in (1, 3, 5)
                for col, expr in (
                    (
                        f"ring{r}_n",
                        f"(o.ring_minutes = {r} AND o.signed_at IS NOT NULL AND (o.arrived_at IS NOT NULL "
                        f"OR o.signed_at <= statement_timestamp() - interval '{r} minutes'))::int",
                    ),
                    (
                        f"ring{r}_ok",
                        f"COALESCE(o.ring_minutes = {r} AND {_secs('o.arrived_at', 'o.signed_at')} <= {r * 60}, "
                        "false)::int",
                    ),
                )
            },
        },
        by_key=True,
    ),
    _Part(  # incidents closed, and their callbacks
        "incidents_incident i",
        "LEFT JOIN LATERAL (SELECT c.id, c.satisfaction FROM incidents_callback c WHERE c.incident_id = i.id "
        "OFFSET 0) AS c ON true",
        "i.org_id", "i.closed_at", "i.category_id", "true",
        {
            "closed_n": "1",
            "called_n": "(c.id IS NOT NULL)::int",
            "satisfied_n": f"COALESCE(c.satisfaction IN {_SATISFIED}, false)::int",
        },
        by_key=True,
    ),
    _Part(  # diversions pushed, by the incident's org and category, with their finish clock (not called off)
        "incidents_diversion v",
        "CROSS JOIN LATERAL (SELECT i.org_id, i.category_id FROM incidents_incident i WHERE i.id = v.incident_id "
        "OFFSET 0) AS i "
        "LEFT JOIN LATERAL (SELECT f.met_at, f.due_at FROM command_center_deadline f WHERE "
        "f.subject_type_id = (SELECT id FROM django_content_type WHERE app_label = 'incidents' AND model = "
        "'diversion') AND f.subject_id = v.id AND f.kind = 'incidents.diversion.finish' AND f.cancelled_at IS NULL "
        "LIMIT 1) AS f ON true",
        "i.org_id", "v.pushed_at", "i.category_id", "true",
        {
            "div_n": "1",
            "div_accepted": "(v.accepted_at IS NOT NULL)::int",
            "div_returned": "(v.state = 'returned')::int",
            "div_fin_n": "(f.due_at IS NOT NULL AND (f.met_at IS NOT NULL OR f.due_at <= statement_timestamp()))::int",
            "div_fin_ok": "COALESCE(f.met_at <= f.due_at, false)::int",
        },
        pending="CASE WHEN f.met_at IS NULL AND f.due_at > statement_timestamp() THEN f.due_at END",
    ),
    _Part(  # tasks issued (not withdrawn): no category
        "intel_task t", "", "t.org_id", "t.issued_at", "NULL::varchar", "t.state <> 'withdrawn'",
        {
            "task_n": "1",
            "task_signed_ok": "COALESCE(t.signed_at <= t.sign_due_at, false)::int",
            "task_reported_ok": "COALESCE(t.reported_at <= t.report_due_at, false)::int",
            "task_rework": "(t.rework_count > 0)::int",
            "task_sign_n": "COALESCE(NOT (t.signed_at IS NULL "
            "AND t.sign_due_at > statement_timestamp()), true)::int",
            "task_report_n": "COALESCE(NOT (t.reported_at IS NULL "
            "AND t.report_due_at > statement_timestamp()), true)::int",
        },
        pending="LEAST(CASE WHEN t.signed_at IS NULL AND t.sign_due_at > statement_timestamp() THEN t.sign_due_at END, "
        "CASE WHEN t.reported_at IS NULL AND t.report_due_at > statement_timestamp() THEN t.report_due_at END)",
    ),
    _Part("supervision_reminder r", "", "r.recipient_id", "r.created_at", "NULL::varchar", "r.level = 1",
          {"reminders_n": "1"}),
    _Part("supervision_supervisionorder s", "", "s.org_id", "s.created_at", "NULL::varchar", "true", {"so_n": "1"}),
]  # fmt: skip


def _facts(part: _Part, keyed: bool = False) -> str:
    """One part's facts over the days of `kd` (day, lo, hi): a range scan per day on the anchor's index, fenced
    (OFFSET 0) so the planner joins the rest to those rows only, whatever it guesses of kd's size.

    `keyed`: only the (org_id, day) keys of the CTE `keys` are wanted. A part with an (org, anchor) index
    (`by_key`) reads each key's own rows: a range scan of that org's day. Another part whose org is a column
    of its own table scans the days and keeps the keys' rows before the fence. Either way the joins and the
    per-row subqueries run for the keys' rows alone — not for every row of a dirty day over the whole province
    (a city's month with ten dirty days at 3,000,000 incidents a year: 1.4 s when they did; and the day scan
    itself, the province's day read for each dirty day, was 70 % of a city month's read at 12,000,000). The
    caller filters the facts by `keys` again (a part whose org comes from a join, the diversions, is only
    filtered there)."""
    values = ", ".join(f"{part.adds.get(c, '0')}::{_cast(c)} AS {c}" for c in COLUMNS)
    alias = part.source.split()[1]
    within = f"{part.anchor} >= kd.lo AND {part.anchor} < kd.hi"
    if keyed and part.by_key:
        # LATERAL, fenced: a probe of the (org, anchor) index per key. As a plain join, the planner, told of
        # 100 keys by a flush, hashed them against a sequential scan of the whole table (13 s at 12 M rows).
        rows = (
            f"keys JOIN kd ON kd.day = keys.day CROSS JOIN LATERAL (SELECT {alias}.* FROM {part.source} "  # noqa: S608
            f"WHERE {part.org} = keys.org_id AND {within} OFFSET 0) AS {alias}"
        )
    elif keyed and part.org.startswith(f"{alias}."):
        rows = (
            f"kd JOIN {part.source} ON {within}"  # noqa: S608
            f" WHERE (({part.org}::bigint, kd.day) IN (SELECT org_id, day FROM keys)) IS TRUE"
        )
    else:
        rows = f"kd JOIN {part.source} ON {within}"
    return (
        f"SELECT {part.org}::bigint AS org_id, {_local(part.anchor)} AS day, {part.category} AS category, "  # noqa: S608
        f"{values}, {part.wait} AS wait, {part.pending} AS pending "
        f"FROM (SELECT {alias}.* FROM {rows} OFFSET 0) AS {alias} {part.joins} WHERE {part.where}"
    )


def _cast(col: str) -> str:
    return "numeric" if col.endswith("_s") else "int"


def _facts_sql(keyed: bool = False) -> str:
    """Every fact of the days in `kd`: (org_id, day, category, COLUMNS…, wait), one row per counted thing; of
    the keys in the CTE `keys` only (and maybe others: filter again) when `keyed`."""
    return " UNION ALL ".join(_facts(p, keyed) for p in PARTS)


def _builder(keyed: bool) -> str:
    """The rollup rows, as (org_id, day, category, COLUMNS…, disp_secs, disp_counts), from the raw rows of the
    days in the CTE `kd` (day, lo, hi) — of the (org_id, day) keys in the CTE `keys` only, when `keyed`: a row
    per category present (NULL for the facts without one) and the key's whole, category WHOLE."""
    facts = _facts_sql(keyed)
    key_filter = "WHERE ((f.org_id, f.day) IN (SELECT org_id, day FROM keys)) IS TRUE" if keyed else ""
    sums = ", ".join(f"sum({c}) AS {c}" for c in COLUMNS)
    return f"""
        SELECT org_id, day, category, {", ".join(f"sum({c})::{_cast(c)} AS {c}" for c in COLUMNS)},
            COALESCE(array_agg(wait ORDER BY wait) FILTER (WHERE wait IS NOT NULL), '{{}}') AS disp_secs,
            COALESCE(array_agg(wait_n ORDER BY wait) FILTER (WHERE wait IS NOT NULL), '{{}}') AS disp_counts,
            min(pending) AS settles_at
        FROM (
            SELECT f.org_id, f.day, CASE WHEN GROUPING(f.category) = 1 THEN '{WHOLE}' ELSE f.category END AS category,
                f.wait, {sums}, count(*) FILTER (WHERE f.wait IS NOT NULL)::int AS wait_n, min(f.pending) AS pending
            FROM ({facts}) AS f {key_filter}
            GROUP BY GROUPING SETS ((f.org_id, f.day, f.category, f.wait), (f.org_id, f.day, f.wait))
        ) AS w
        GROUP BY org_id, day, category
    """  # noqa: S608


def _kd(days_sql: str) -> str:
    """The CTE of days to build: each with its bounds in local time."""
    return (
        f"kd AS (SELECT d::date AS day, d::date::timestamp AT TIME ZONE '{TZ}' AS lo, "  # noqa: S608
        f"(d::date + 1)::timestamp AT TIME ZONE '{TZ}' AS hi FROM ({days_sql}) AS _d(d))"
    )


# --- Writing: flush and rebuild -------------------------------------------------------------------------

# The builder's statement is long and its cost estimates high, so PostgreSQL would JIT-compile it: seconds of
# compiling for milliseconds of work (measured: a flush of 100 keys took 2.4 s with JIT, 30 ms without).
NO_JIT = "SET LOCAL jit = off"
_LOCK = 0x6B7069  # pg_advisory_xact_lock: one writer of KpiDay at a time ("kpi")
_INSERT = (
    f"INSERT INTO supervision_kpiday (org_id, day, category, {', '.join(COLUMNS)}, disp_secs, disp_counts, settles_at)"
)


def flush() -> int:
    """Beat, every minute: rebuild the rows of the keys marked dirty and delete the marks, in one transaction.
    Marks written by transactions still open are invisible here and stay for the next flush. Returns how
    many (org, day) keys were rebuilt."""
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK])
        cur.execute(NO_JIT)
        # The marked keys, and the keys whose rows held something undecided that is decided by now.
        stale = (
            "SELECT org_id, day FROM supervision_kpiday "  # noqa: S608
            f"WHERE category = '{WHOLE}' AND settles_at <= statement_timestamp()"
        )
        marked = "WITH d AS (DELETE FROM supervision_kpidirty RETURNING org_id, day) SELECT * FROM d"
        cur.execute(f"{marked} UNION {stale}")
        keys = cur.fetchall()
        n = len(keys)
        if n:
            orgs, days = [k[0] for k in keys], [k[1] for k in keys]
            keyed = "keys AS (SELECT * FROM unnest(%s::bigint[], %s::date[]) AS k(org_id, day))"
            gone = "DELETE FROM supervision_kpiday r USING keys k WHERE r.org_id = k.org_id AND r.day = k.day"
            cur.execute(f"WITH {keyed} {gone}", [orgs, days])
            build = f"{_kd('SELECT DISTINCT day FROM keys')} {_INSERT} {_builder(keyed=True)}"  # noqa: S608
            cur.execute(f"WITH {keyed}, {build}", [orgs, days])
        return n


def rebuild(first: date | None = None, last: date | None = None) -> int:
    """Build the rows of [first, last] again from the raw rows (all days with any fact when not given), a
    month per transaction; the marks of those days go too. Returns how many rows were written."""
    if first is None or last is None:
        lo, hi = _fact_days()
        if lo is None or hi is None:
            return 0
        first, last = first or lo, last or hi
    written = 0
    start = first
    while start <= last:
        end = min(last, start + timedelta(days=30))
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK])
            cur.execute(NO_JIT)
            cur.execute("DELETE FROM supervision_kpidirty WHERE day BETWEEN %s AND %s", [start, end])
            cur.execute("DELETE FROM supervision_kpiday WHERE day BETWEEN %s AND %s", [start, end])
            days = "SELECT generate_series(%s::date, %s::date, '1 day')"
            cur.execute(f"WITH {_kd(days)} {_INSERT} {_builder(keyed=False)}", [start, end])
            written += cur.rowcount
        start = end + timedelta(days=1)
    return written


def _fact_days() -> tuple[date | None, date | None]:
    # Each source's own anchor (an incident's report and its closing, an order's sending, …).
    pairs = sorted({(p.source.split()[0], p.anchor.split(".")[1]) for p in PARTS})
    bounds = " UNION ALL ".join(f"SELECT min({a}), max({a}) FROM {t}" for t, a in pairs)  # noqa: S608
    with connection.cursor() as cur:
        cur.execute(f"SELECT {_local('min(lo)')}, {_local('max(hi)')} FROM ({bounds}) AS b(lo, hi)")  # noqa: S608
        lo, hi = cur.fetchone()
    return lo, hi


# --- Reading --------------------------------------------------------------------------------------------


@dataclass
class Sums:
    """The summed columns of a scope (or of one group of it), and its histogram of waits: {second: count}."""

    cols: dict[str, Any]
    p90: int | None

    def __getitem__(self, col: str) -> Any:
        return self.cols[col]


EMPTY = Sums({c: Decimal(0) if c.endswith("_s") else 0 for c in COLUMNS}, None)


@dbrouter.reads_replica
def sums(
    path: str,
    first: date,
    last: date,
    category: str = "",
    *,
    group: str = "",
) -> dict[Any, Sums]:
    """The sums over the scope: org subtree `path`, local days [first, last], category prefix — as one group
    (key None), or grouped by `group`: "day" (trend), or "child" (the path of the org right under `path`
    holding the row; rows of `path` itself have key None). With a grouping, key None is still the whole
    scope. One statement (one snapshot): the clean rollup rows plus the marked keys' facts, taken from the raw
    rows by the builder's own fact queries and summed straight into the groups (building their rollup rows
    first, histograms and all, doubled the time of a read with a day of a city dirty)."""
    step = _steplen()
    if group == "child":
        grp = f"CASE WHEN length(o.path) > {len(path)} THEN substr(o.path, 1, {len(path) + step}) END"
    elif group == "day":
        grp = "r.day"
    else:
        grp = "NULL::text"
    # A prefix sums the category rows (and the rows without a category: tasks, reminders, 督办); no prefix sums
    # the wholes. The dirty keys' facts are summed as they come, each with its own category.
    # The keys are tested as hashed subplans: NOT IN, and IN wrapped in IS TRUE, are not turned into joins,
    # which the planner, sure there are two keys, made nested loops over every row (60 ms of a read with 100
    # keys dirty).
    cat = "(r.category IS NULL OR r.category LIKE %(cat)s)" if category else f"r.category = '{WHOLE}'"
    fact_cat = "(r.category IS NULL OR r.category LIKE %(cat)s)" if category else "true"
    sums_sql = ", ".join(f"sum(r.{c}) AS {c}" for c in COLUMNS)
    cols = ", ".join(f"r.{c}" for c in COLUMNS)
    sql = f"""
        WITH orgs AS (SELECT id, path FROM command_center_org WHERE path LIKE %(path)s),
        keys AS (
            SELECT d.org_id, d.day FROM supervision_kpidirty d JOIN orgs ON orgs.id = d.org_id
            WHERE d.day BETWEEN %(first)s AND %(last)s
            UNION
            SELECT w.org_id, w.day FROM supervision_kpiday w JOIN orgs ON orgs.id = w.org_id
            WHERE w.day BETWEEN %(first)s AND %(last)s AND w.category = '{WHOLE}'
                AND w.settles_at <= statement_timestamp()
        ),
        {_kd("SELECT DISTINCT day FROM keys")},
        clean AS (
            SELECT {grp} AS g, {cols}, r.disp_secs, r.disp_counts
            FROM supervision_kpiday r JOIN orgs o ON o.id = r.org_id
            WHERE r.day BETWEEN %(first)s AND %(last)s AND {cat}
                AND (r.org_id, r.day) NOT IN (SELECT org_id, day FROM keys)
        ),
        facts AS MATERIALIZED (
            SELECT r.* FROM ({_facts_sql(keyed=True)}) AS r
            WHERE ((r.org_id, r.day) IN (SELECT org_id, day FROM keys)) IS TRUE
        ),
        dirty AS (SELECT {grp} AS g, r.* FROM facts r JOIN orgs o ON o.id = r.org_id WHERE {fact_cat}),
        totals AS (
            SELECT g, GROUPING(g) AS whole, {sums_sql}
            FROM (SELECT g, {cols} FROM clean r UNION ALL SELECT g, {cols} FROM dirty r) AS r
            GROUP BY GROUPING SETS ((g), ())
        ),
        hist AS (
            SELECT g, GROUPING(g) AS whole, sec, sum(n) AS n FROM (
                SELECT g, h.sec, h.n FROM clean, unnest(clean.disp_secs, clean.disp_counts) AS h(sec, n)
                UNION ALL
                SELECT g, wait, 1 FROM dirty WHERE wait IS NOT NULL
            ) AS h
            GROUP BY GROUPING SETS ((g, sec), (sec))
        ),
        p90 AS (
            SELECT DISTINCT ON (g, whole) g, whole, sec FROM (
                SELECT g, whole, sec, sum(n) OVER (PARTITION BY g, whole ORDER BY sec) AS upto,
                    sum(n) OVER (PARTITION BY g, whole) AS total
                FROM hist
            ) AS c
            WHERE upto >= ceil({P90}::float8 * total::float8)
            ORDER BY g, whole, sec
        )
        SELECT t.g, t.whole, p90.sec, {", ".join(f"t.{c}" for c in COLUMNS)}
        FROM totals t LEFT JOIN p90 ON p90.g IS NOT DISTINCT FROM t.g AND p90.whole = t.whole
    """  # noqa: S608  # fixed SQL of this module; values are parameters
    params: dict[str, Any] = {"path": path + "%", "first": first, "last": last, "cat": _like(category) + "%"}
    out: dict[Any, Sums] = {}
    alias = dbrouter.read_alias()
    with transaction.atomic(using=alias), connections[alias].cursor() as cur:
        cur.execute(NO_JIT)
        cur.execute(sql, params)
        for g, whole, sec, *vals in cur.fetchall():
            if group and not whole and g is None:
                continue  # the rows of the scope's own org, grouped apart: in the whole only
            key = None if whole or not group else g
            out[key] = Sums({c: v or 0 for c, v in zip(COLUMNS, vals, strict=True)}, sec)
    out.setdefault(None, EMPTY)
    return out


def _like(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _steplen() -> int:
    from command_center.models import Org

    return int(Org.steplen)


def p90_rank(n: int) -> int:
    """percentile_disc(0.9)'s rank among n sorted values (1-based), as PostgreSQL works it out."""
    return max(1, ceil(P90 * n))


def check_time_zone() -> None:
    """The triggers cut days in TZ: the project's time zone must be the same."""
    if settings.TIME_ZONE != TZ:
        raise RuntimeError(f"supervision/rollups.py cuts days in {TZ}, settings.TIME_ZONE is {settings.TIME_ZONE}")
