"""Hotspots (热点): incident counts per area and period against the same window of the previous weeks,
coloured by thresholds held as data (HotspotRule), each with its numbers and a sentence saying why.

Areas: a grid cell (GRID_DEG degrees square, about 550 m north-south; `cell_of(lat, lon)` gives its id, its
bounds and centre come from the id) or a jurisdiction (the incident's responsible org, whose polygon the
places app holds). Categories: every one, or a prefix of significant digits (02 = the top level 治安, 0201
one of its types, a full six-digit code).

Periods: a local (Asia/Shanghai) day, Monday-to-Sunday week, month, or dates [start, end). The baseline of a
window is the same window shifted back N times by whole weeks (N from the rule, default 4): the same
weekdays, and for a period still running, up to the same hour and minute — so today until 14:05 is held
against the four previous same weekdays until 14:05. Each step is one week for a day or a week, and the
window's length rounded up to whole weeks for a longer one (a month: five weeks), so that no baseline
window overlaps the window (`step_weeks`). Mean and sample σ of the N counts; z = (count − mean) / max(σ,
σ floor).

What counts: incidents not merged into another (a duplicate is its master's) and not invalid (prank,
misdial); diverted ones count (they happened). Each on the local day of its report time.

The rollup (exact): HotspotCount holds the counts per local day × cell × responsible org × category at three
grains ("*", the two top digits, the full code), and the same per local week (Monday to Sunday, `span` 7):
a window reads week rows for the whole weeks inside it and day rows for the days around them, so a month
reads about six rows a cell instead of thirty. The incidents table's triggers (migration 0004) append ±1
per grain and span to HotspotDelta on every change of what a row counts for — insert, delete, state in or out of the
counted ones, category, position, org, report time — and beat's `flush` (every minute) moves the deltas
into the counts in one statement. A read sums counts and pending deltas in one statement (one snapshot),
so it equals the GROUP BY of the incidents table at any moment; the running day of a running period is read
from the incidents table itself (by the report-time index), cut at the same minute in each week.

`hotspots_for` is the one read other code calls (the daily report): rows ranked red → yellow → blue, then by
z. The API (hotspots_api.py) adds the caller's scope and the map's heat.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import connection, connections, transaction
from django.db.models import BigIntegerField, F, Func, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from command_center import dbrouter, orgs
from command_center.errors import Refused
from command_center.models import Category, Org
from incidents.models import Incident

from .models import COLOUR_RANK, Analysis, Colour, Hotspot, HotspotRule

TZ = "Asia/Shanghai"  # the triggers' local day (migration 0004)
LOCAL = ZoneInfo(TZ)
GRID_DEG = 0.005  # the triggers' grid (intel_hotspot_cell)
_LON_CELLS = 100_000  # more than 360 / GRID_DEG
NO_CELL = -1  # an incident without a position: counted for its jurisdiction, on no cell
EXCLUDED_STATES = ("merged", "invalid")
WHOLE = "*"
AREAS = ("cell", "station")
PERIODS = ("day", "week", "month")
MAX_WEEKS = 12
MAX_DAYS = 92  # the longest window asked for (a quarter)
DRILL_LIMIT = 500  # incidents listed behind one hotspot (and attached to its analysis)


# --- Grid ---------------------------------------------------------------------------------------------------


def cell_of(lat: float | None, lon: float | None) -> int:
    """The grid cell of a position (NO_CELL without one): the same arithmetic as intel_hotspot_cell in SQL."""
    if lat is None or lon is None:
        return NO_CELL
    return math.floor((lat + 90) / GRID_DEG) * _LON_CELLS + math.floor((lon + 180) / GRID_DEG)


def cell_bounds(cell: int) -> tuple[float, float, float, float]:
    """(south, west, north, east) of a cell."""
    row, col = divmod(cell, _LON_CELLS)
    south, west = row * GRID_DEG - 90, col * GRID_DEG - 180
    return round(south, 6), round(west, 6), round(south + GRID_DEG, 6), round(west + GRID_DEG, 6)


def cell_centre(cell: int) -> tuple[float, float]:
    s, w, n, e = cell_bounds(cell)
    return round((s + n) / 2, 6), round((w + e) / 2, 6)


# --- Periods --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """Local days [start, end) of a period; `period` is day, week, month or range."""

    period: str
    start: date
    end: date


def window(period: str, at: date) -> Window:
    """The day, the week (Monday first) or the month holding `at`."""
    if period == "day":
        return Window("day", at, at + timedelta(days=1))
    if period == "week":
        monday = at - timedelta(days=at.weekday())
        return Window("week", monday, monday + timedelta(days=7))
    if period == "month":
        first = at.replace(day=1)
        nxt = (first + timedelta(days=32)).replace(day=1)
        return Window("month", first, nxt)
    raise ValueError(period)


def infer_period(start: date, end: date) -> str:
    """A range that is a whole day, week or month is said as one."""
    for period in PERIODS:
        if window(period, start) == Window(period, start, end):
            return period
    return "range"


def local_start(d: date) -> datetime:
    return datetime.combine(d, time.min, tzinfo=LOCAL)


def period_words(w: Window, today: date) -> str:
    """The period as the why sentence says it: 本周, 今日, 2026-11, …"""
    running = w.start <= today < w.end
    if w.period == "day":
        if running:
            return _("today")
        if w.start == today - timedelta(days=1):
            return _("yesterday")
        return w.start.isoformat()
    if w.period == "week":
        return _("this week") if running else _("week of %(date)s") % {"date": w.start.isoformat()}
    if w.period == "month":
        return _("this month") if running else f"{w.start:%Y-%m}"
    return f"{w.start.isoformat()}–{(w.end - timedelta(days=1)).isoformat()}"


# --- Baseline maths (pure) ------------------------------------------------------------------------------


def baseline(counts: Sequence[int]) -> tuple[float, float]:
    """Mean and sample standard deviation (n − 1) of the previous periods' counts; σ is 0 for fewer than
    two. Plain float arithmetic: `statistics` works in fractions, a hundred times slower, and a city month
    scores thousands of cells."""
    n = len(counts)
    if not n:
        return 0.0, 0.0
    mean = sum(counts) / n
    if n < 2:
        return mean, 0.0
    return mean, math.sqrt(sum((x - mean) ** 2 for x in counts) / (n - 1))


def step_weeks(w: Window) -> int:
    """How many whole weeks each baseline step goes back: one for a day or a week (the same weekday and
    hour), the window's length rounded up to weeks for a longer one (a month: five), so that no baseline
    window overlaps the window itself — a month against the month shifted by one week would be held
    mostly against itself, and a rise would hide in its own baseline."""
    return max(1, math.ceil((w.end - w.start).days / 7))


@dataclass(frozen=True)
class Rule:
    """The thresholds of a HotspotRule, as plain numbers (the model's defaults when no row applies)."""

    prefix: str = ""
    weeks: int = 4
    min_count: int = 3
    sigma_floor: float = 1.0
    z: tuple[float, float, float] = (4.0, 3.0, 2.0)  # red, yellow, blue
    ratio: tuple[float | None, float | None, float | None] = (None, None, None)

    @classmethod
    def of(cls, r: HotspotRule) -> Rule:
        return cls(
            prefix=r.category_prefix,
            weeks=r.weeks,
            min_count=r.min_count,
            sigma_floor=r.sigma_floor,
            z=(r.z_red, r.z_yellow, r.z_blue),
            ratio=(r.ratio_red, r.ratio_yellow, r.ratio_blue),
        )


COLOURS = (Colour.RED, Colour.YELLOW, Colour.BLUE)


def score(count: int, mean: float, sd: float, rule: Rule) -> tuple[str | None, float, float]:
    """(colour or None, z, ratio): z over max(σ, floor), ratio over max(mean, floor), the first colour whose
    z threshold — or ratio threshold, when the rule sets one — the count reaches, from at least min_count."""
    z = (count - mean) / max(sd, rule.sigma_floor)
    ratio = count / max(mean, rule.sigma_floor)
    if count < rule.min_count:
        return None, z, ratio
    for colour, zt, rt in zip(COLOURS, rule.z, rule.ratio, strict=True):
        if z >= zt or (rt is not None and ratio >= rt):
            return colour.value, z, ratio
    return None, z, ratio


def rule_for(prefix: str) -> Rule:
    """The active rule of the longest prefix the category asked begins with; the model's defaults if none."""
    best: HotspotRule | None = None
    for r in HotspotRule.objects.filter(active=True):
        if prefix.startswith(r.category_prefix) and (
            best is None or len(r.category_prefix) > len(best.category_prefix)
        ):
            best = r
    return Rule.of(best) if best is not None else Rule.of(HotspotRule())


DEFAULT_RULES: list[dict[str, Any]] = [
    # Every category: a cell or a station is red 4 σ over its baseline, from 3 incidents.
    {"category_prefix": ""},
    # 刑事: fewer, graver; 2 incidents over a flat baseline already count.
    {"category_prefix": "01", "min_count": 2, "z_red": 3.0, "z_yellow": 2.0, "z_blue": 1.5},
]


def load_defaults() -> dict[str, tuple[int, int]]:
    """load_codes runs this (IntelConfig.codes_loader): the shipped rules; an admin's edits are kept."""
    made = 0
    for row in DEFAULT_RULES:
        prefix = row["category_prefix"]
        _r, created = HotspotRule.objects.get_or_create(
            category_prefix=prefix, defaults={k: v for k, v in row.items() if k != "category_prefix"}
        )
        made += created
    return {"hotspot rules": (made, 0)}


def significant(category: str) -> str:
    """The prefix of a category given as a code (020100 → 0201) or as significant digits already."""
    category = (category or "").strip()
    if len(category) == 6:
        c = Category.objects.filter(pk=category).only("level").first()
        if c is not None:
            return category[: Category.SIGNIFICANT_DIGITS[c.level]]
    return category


def category_words(prefix: str) -> str:
    """What the why sentence calls the category: its name, or 警情 for every category."""
    if not prefix:
        return _("Incidents")
    code = prefix.ljust(6, "0")
    c = Category.objects.filter(pk=code).first()
    return c.local_name if c is not None else prefix


def why(*, category: str, period: str, count: int, mean: float, sd: float) -> str:
    """盗窃 本周 14 起，基线 4.2 ± 1.8"""
    return _("%(category)s %(period)s %(count)d incidents, baseline %(mean).1f ± %(sd).1f") % {
        "category": category,
        "period": period,
        "count": count,
        "mean": mean,
        "sd": sd,
    }


# --- The rollup: flush and rebuild ----------------------------------------------------------------------

_LOCK = 0x68737074  # pg_advisory_xact_lock: one writer of intel_hotspotcount at a time ("hspt")

FLUSH = """
WITH moved AS (DELETE FROM intel_hotspotdelta RETURNING day, span, cell, org_id, category, n),
summed AS (SELECT day, span, cell, org_id, category, sum(n)::int AS n FROM moved GROUP BY 1, 2, 3, 4, 5)
INSERT INTO intel_hotspotcount AS c (day, span, cell, org_id, category, n)
SELECT day, span, cell, org_id, category, n FROM summed WHERE n <> 0
ON CONFLICT (category, span, day, org_id, cell) DO UPDATE SET n = c.n + EXCLUDED.n
RETURNING c.id, c.n
"""

BUILD = f"""
INSERT INTO intel_hotspotcount (day, span, cell, org_id, category, n)
SELECT s.day, s.span, intel_hotspot_cell(i.lat, i.lon), i.org_id, g.category, count(*)
FROM incidents_incident i
CROSS JOIN LATERAL (VALUES ('{WHOLE}'), (left(i.category_id, 2)), (i.category_id)) AS g(category)
CROSS JOIN LATERAL (SELECT (i.reported_at AT TIME ZONE '{TZ}')::date AS d) AS x
CROSS JOIN LATERAL (VALUES (x.d, 1), (date_trunc('week', x.d)::date, 7)) AS s(day, span)
WHERE i.state NOT IN {EXCLUDED_STATES}
GROUP BY 1, 2, 3, 4, 5
"""  # noqa: S608  # constants of this module


def flush() -> int:
    """Beat, every minute: move the pending deltas into the counts (one statement: a reader sees them on one
    side or the other, never both), then drop the counts that fell to 0. Deltas of transactions still open
    are invisible here and stay for the next flush. Returns how many count rows changed."""
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK])
        cur.execute(FLUSH)
        rows = cur.fetchall()
        zero = [pk for pk, n in rows if n == 0]
        if zero:
            cur.execute("DELETE FROM intel_hotspotcount WHERE id = ANY(%s) AND n = 0", [zero])
        return len(rows)


def rebuild() -> int:
    """Build the counts again from the incidents table. The pending deltas are dropped in the statement that
    counts the incidents (one snapshot), so a change committed meanwhile is counted once: by its delta if it
    came after, by the count if before. Returns how many rows were written."""
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK])
        cur.execute("DELETE FROM intel_hotspotcount")  # only the flush and the rebuild write it: under the lock
        cur.execute(f"WITH gone AS (DELETE FROM intel_hotspotdelta RETURNING 1) {BUILD}")  # noqa: S608
        return int(cur.rowcount)


# --- Reading --------------------------------------------------------------------------------------------


@dataclass
class HotspotRow:
    """One area's count for the window, its baseline, colour and why. `area` is cell or station; a cell
    row carries its id, bounds and centre (and the jurisdiction holding most of its incidents), a station
    row its org."""

    area: str
    key: int  # the cell id, or the org id
    count: int
    mean: float
    sd: float
    z: float
    ratio: float
    colour: str | None
    why: str
    weeks: list[int] = field(default_factory=list)  # the counts of the weeks before, newest first
    org_id: int | None = None
    org_name: str = ""
    cell: int | None = None
    bounds: tuple[float, float, float, float] | None = None
    centre: tuple[float, float] | None = None
    category: str = ""
    start: date | None = None
    end: date | None = None
    period: str = ""

    @property
    def incident_count(self) -> int:
        return self.count

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["incident_count"] = self.count
        d["mean"], d["sd"], d["z"], d["ratio"] = (round(self.mean, 2), round(self.sd, 2), round(self.z, 2),
                                                  round(self.ratio, 2))  # fmt: skip
        return d


@dataclass
class HotspotMap:
    rows: list[HotspotRow]
    heat: list[tuple[float, float, int]]  # (lat, lon, count) of every cell with a count (area cell)
    window: Window
    rule: Rule
    category: str


def _category_sql(prefix: str, column: str) -> tuple[str, dict[str, Any]]:
    """The rollup grain to read for a prefix: the whole, the top level, a full code, or a range of codes."""
    if not prefix:
        return f"{column} = '{WHOLE}'", {}
    if len(prefix) in (2, 6):
        return f"{column} = %(cat)s", {"cat": prefix}
    return f"{column} LIKE %(cat)s AND length({column}) = 6", {"cat": prefix + "%"}


def _scope_ids(scope: Org) -> list[int]:
    """The ids of the org's subtree, given to the reads as an array: a hashed test per row, where a join to
    the org table (one LIKE on the path) was estimated at one row and made a nested loop over the counts."""
    return list(Org.objects.filter(path__startswith=scope.path).values_list("pk", flat=True))


def day_ranges(lo: date, hi: date) -> list[tuple[int, date, date]]:
    """The rollup rows that sum to the local days [lo, hi), as (span, from, until) ranges of `day`: week rows
    (span 7, by their Monday) for the whole Monday-to-Sunday weeks inside, day rows (span 1) for the days
    before and after them. Each range is one index range scan."""
    if lo >= hi:
        return []
    first = lo + timedelta(days=(7 - lo.weekday()) % 7)  # the first Monday from lo
    last = hi - timedelta(days=hi.weekday())  # the Monday of hi's week: weeks [first, last) lie inside
    if first >= last:
        return [(1, lo, hi)]
    out = [(1, lo, first), (7, first, last), (1, last, hi)]
    return [(span, a, b) for span, a, b in out if a < b]


def _rollup_sources(
    key: str, cat: str, windows: list[list[tuple[int, date, date]]], params: dict[str, Any]
) -> list[str]:
    """One SELECT per (window, range, table): rollup counts and pending deltas, each tagged with its window's
    index `k` (the windows never overlap: step_weeks), read by the index (category, span, day, …)."""
    out = []
    for k, ranges in enumerate(windows):
        for j, (span, lo, hi) in enumerate(ranges):
            params[f"r{k}_{j}lo"], params[f"r{k}_{j}hi"] = lo, hi
            for table in ("intel_hotspotcount", "intel_hotspotdelta"):
                out.append(
                    f"SELECT {k} AS k, {key} AS a, org_id, n FROM {table} WHERE {cat} AND span = {span} "  # noqa: S608
                    f"AND day >= %(r{k}_{j}lo)s AND day < %(r{k}_{j}hi)s"
                )
    return out


def _counts(scope: Org, w: Window, area: str, prefix: str, weeks: int, now: datetime) -> dict[int, list[int]]:
    """{area key: [count of the window, of the period before, …, of N periods before]} for every area with at
    least one incident in the window. One statement (one snapshot): rollup counts + pending deltas for the
    whole days (weeks where a whole week lies inside), the incidents table for the running day (cut at the
    same minute in each week)."""
    today = timezone.localdate(now)
    partial = w.start <= today < w.end  # the running day is read raw, up to now's minute
    cut_day = today if partial else w.end
    step = step_weeks(w)
    params: dict[str, Any] = {"orgs": _scope_ids(scope)}
    cat, cat_params = _category_sql(prefix, "category")
    params.update(cat_params)
    key = "cell" if area == "cell" else "org_id"
    shifts = [timedelta(weeks=k * step) for k in range(weeks + 1)]
    sources = _rollup_sources(key, cat, [day_ranges(w.start - s, cut_day - s) for s in shifts], params)
    if partial:
        if not prefix:
            raw_cat = "true"
        elif len(prefix) == 2:
            raw_cat = "left(i.category_id, 2) = %(cat)s"
        else:
            raw_cat, _p = _category_sql(prefix, "i.category_id")
        raw_key = "intel_hotspot_cell(i.lat, i.lon)" if area == "cell" else "i.org_id"
        for k, shift in enumerate(shifts):
            params[f"p{k}lo"], params[f"p{k}hi"] = local_start(today) - shift, now - shift
            sources.append(
                f"SELECT {k}, {raw_key}, i.org_id, 1 FROM incidents_incident i "  # noqa: S608
                f"WHERE i.reported_at >= %(p{k}lo)s AND i.reported_at < %(p{k}hi)s "
                f"AND i.state NOT IN {EXCLUDED_STATES} AND {raw_cat}"
            )
    if not sources:
        return {}
    filters = [f"COALESCE(sum(n) FILTER (WHERE k = {k}), 0)::int" for k in range(weeks + 1)]
    no_cell = f"AND a <> {NO_CELL}" if area == "cell" else ""
    sql = f"""
        SELECT a, {", ".join(filters)}
        FROM ({" UNION ALL ".join(sources)}) AS r(k, a, org_id, n)
        WHERE org_id = ANY(%(orgs)s) {no_cell}
        GROUP BY a HAVING {filters[0]} > 0
    """  # noqa: S608  # fixed SQL of this module; values are parameters
    alias = dbrouter.read_alias()
    with transaction.atomic(using=alias), connections[alias].cursor() as cur:
        cur.execute("SET LOCAL jit = off")
        cur.execute(sql, params)
        return {int(a): list(cs) for a, *cs in cur.fetchall()}


def _rank(row: HotspotRow) -> tuple[int, float, int]:
    return (COLOUR_RANK.get(Colour(row.colour), 9) if row.colour else 9, -row.z, -row.count)


@dbrouter.reads_replica
def hotspot_map(
    *,
    org: Org,
    start: date,
    end: date,
    area: str = "cell",
    category_prefix: str | None = None,
    limit: int | None = None,
    period: str = "range",
    flagged_only: bool = True,
    now: datetime | None = None,
) -> HotspotMap:
    """The rows (ranked, flagged ones only unless `flagged_only` is False) and the heat of every cell."""
    now = now or timezone.now()
    prefix = significant(category_prefix or "")
    rule = rule_for(prefix)
    w = Window(infer_period(start, end) if period == "range" else period, start, end)
    counts = _counts(org, w, area, prefix, rule.weeks, now)
    today = timezone.localdate(now)
    cat_words, per_words = category_words(prefix), period_words(w, today)
    rows: list[HotspotRow] = []
    for key, cs in counts.items():
        count, prev = cs[0], cs[1:]
        mean, sd = baseline(prev)
        colour, z, ratio = score(count, mean, sd, rule)
        if flagged_only and colour is None:
            continue
        row = HotspotRow(
            area=area, key=key, count=count, mean=mean, sd=sd, z=z, ratio=ratio, colour=colour,
            why=why(category=cat_words, period=per_words, count=count, mean=mean, sd=sd), weeks=prev,
            category=prefix, start=start, end=end, period=period,
        )  # fmt: skip
        if area == "cell":
            row.cell, row.bounds, row.centre = key, cell_bounds(key), cell_centre(key)
        else:
            row.org_id = key
        rows.append(row)
    rows.sort(key=_rank)
    if limit is not None:
        rows = rows[:limit]
    _name(rows, area, org, w, prefix)
    heat = [(*cell_centre(k), cs[0]) for k, cs in counts.items()] if area == "cell" else []
    return HotspotMap(rows=rows, heat=heat, window=w, rule=rule, category=prefix)


def hotspots_for(
    *,
    org: Org,
    start: date,
    end: date,
    area: str = "cell",
    category_prefix: str | None = None,
    limit: int | None = None,
    now: datetime | None = None,
) -> list[HotspotRow]:
    """The flagged areas under `org` (its subtree) for local days [start, end), ranked red → yellow → blue
    then by z: each with its count, baseline (mean, σ, the weeks' counts), z, colour, the why sentence (in
    the active language) and, for a cell, its bounds, centre and main jurisdiction. System view: the caller
    decides whether the reader may see `org`'s subtree."""
    return hotspot_map(
        org=org, start=start, end=end, area=area, category_prefix=category_prefix, limit=limit, now=now
    ).rows


def _name(rows: list[HotspotRow], area: str, scope: Org, w: Window, prefix: str) -> None:
    """Station rows get their org's name; cell rows the jurisdiction holding most of their incidents."""
    if not rows:
        return
    if area == "station":
        names = dict(Org.objects.filter(pk__in=[r.key for r in rows]).values_list("pk", "name"))
        for r in rows:
            r.org_name = names.get(r.key, "")
        return
    cat, params = _category_sql(prefix, "category")
    params.update({"cells": [r.key for r in rows], "orgs": _scope_ids(scope)})
    sources = " UNION ALL ".join(_rollup_sources("cell", cat, [day_ranges(w.start, w.end)], params))
    sql = f"""
        SELECT DISTINCT ON (a) a, org_id FROM (
            SELECT a, org_id, sum(n) AS n FROM ({sources}) AS x(k, a, org_id, n)
            WHERE a = ANY(%(cells)s) AND org_id = ANY(%(orgs)s)
            GROUP BY a, org_id
        ) AS y ORDER BY a, n DESC, org_id
    """  # noqa: S608
    with connections[dbrouter.read_alias()].cursor() as cur:
        cur.execute(sql, params)
        main = dict(cur.fetchall())
    names = dict(Org.objects.filter(pk__in=set(main.values())).values_list("pk", "name"))
    for r in rows:
        r.org_id = main.get(r.key)
        r.org_name = names.get(r.org_id, "") if r.org_id else ""


def hotspot_incidents(
    *, scope: Org, start: date, end: date, area: str, key: int, category_prefix: str = ""
) -> QuerySet[Incident]:
    """The incidents behind one area's count: valid, reported in [start, end) local, in `scope`'s subtree,
    of the category prefix, in the cell (the triggers' own cell function) or of the station. Newest first."""
    qs = Incident.objects.filter(
        org__path__startswith=scope.path,
        reported_at__gte=local_start(start),
        reported_at__lt=local_start(end),
    ).exclude(state__in=EXCLUDED_STATES)
    prefix = significant(category_prefix)
    if prefix:
        qs = qs.filter(category_id__startswith=prefix)
    if area == "cell":
        fn = Func(F("lat"), F("lon"), function="intel_hotspot_cell", output_field=BigIntegerField())
        qs = qs.annotate(hotspot_cell=fn).filter(hotspot_cell=key)
    else:
        qs = qs.filter(org_id=key)
    return qs.order_by("-reported_at", "-id")


# --- Asking: the caller's scope and the query's terms ---------------------------------------------------


@dataclass(frozen=True)
class Ask:
    """A hotspot question as a person asks it: the org (their own or one under it), the window, the area
    kind and the category prefix."""

    scope: Org
    window: Window
    area: str
    category: str


def ask(user: Any, params: Any) -> Ask:
    """Read and check `org`, `period` (day|week|month, with `at`: a date in it, today by default) or
    `start`/`end` (dates, end exclusive), `area` (cell|station), `category` (a code or its significant
    digits): 400 per field; an org outside the caller's area is refused like a missing one."""
    from django.utils.dateparse import parse_date

    org_raw = params.get("org")
    if org_raw:
        if not str(org_raw).isdigit():
            raise Refused("org", _("Give an organisation id."))
        scope = orgs.visible_orgs(user).filter(pk=int(org_raw)).first()
        if scope is None:
            raise Refused("org", _("No such organisation in your area."))
    else:
        person = orgs.person_of(user)
        scope = person.org if person else Org.objects.filter(depth=1).order_by("path").first()
        if scope is None:
            raise Refused("org", _("Give an organisation id."))
    area = params.get("area") or "cell"
    if area not in AREAS:
        raise Refused("area", _("Choose cell or station."))
    category = (params.get("category") or "").strip()
    if category and (not category.isdigit() or len(category) > 6 or len(category) < 2):
        raise Refused("category", _("Give a category code or its first digits (2 to 6)."))
    today = timezone.localdate()
    if params.get("start") or params.get("end"):
        start, end = parse_date(params.get("start") or ""), parse_date(params.get("end") or "")
        if start is None:
            raise Refused("start", _("Give a date (YYYY-MM-DD)."))
        if end is None:
            raise Refused("end", _("Give a date (YYYY-MM-DD)."))
        if not start < end or (end - start).days > MAX_DAYS:
            raise Refused("end", _("End after start, at most %(n)d days.") % {"n": MAX_DAYS})
        w = Window("range", start, end)
    else:
        period = params.get("period") or "day"
        if period not in PERIODS:
            raise Refused("period", _("Choose day, week or month."))
        at = parse_date(params.get("at") or "") if params.get("at") else today
        if at is None:
            raise Refused("at", _("Give a date (YYYY-MM-DD)."))
        w = window(period, at)
    return Ask(scope=scope, window=w, area=area, category=significant(category))


def ask_map(a: Ask, *, limit: int | None = None, now: datetime | None = None) -> HotspotMap:
    return hotspot_map(
        org=a.scope, start=a.window.start, end=a.window.end, area=a.area, category_prefix=a.category,
        limit=limit, period=a.window.period, now=now,
    )  # fmt: skip


# --- Keeping a hotspot, and making it an analysis --------------------------------------------------------


def _row_of(a: Ask, key: int, now: datetime | None = None) -> HotspotRow | None:
    m = hotspot_map(
        org=a.scope, start=a.window.start, end=a.window.end, area=a.area, category_prefix=a.category,
        period=a.window.period, flagged_only=False, now=now,
    )  # fmt: skip
    return next((r for r in m.rows if r.key == key), None)


def hotspot_keep(*, row: HotspotRow, scope: Org, actor: Any = None) -> Hotspot:
    """The stored snapshot of a flagged area for a period (one per scope, area, category and window: asking
    again returns the one kept)."""
    lookup: dict[str, Any] = {
        "scope": scope,
        "area": row.area,
        "cell": row.key if row.area == "cell" else None,
        "org_id": row.key if row.area == "station" else None,
        "category": row.category,
        "start": row.start,
        "end": row.end,
    }
    h, _created = Hotspot.objects.get_or_create(
        **lookup,
        defaults={
            "period": row.period or "range",
            "count": row.count,
            "mean": row.mean,
            "sd": row.sd,
            "z": row.z,
            "colour": row.colour or Colour.BLUE,
            "created_by": actor,
        },
    )
    return h


def where_words(h: Hotspot | HotspotRow) -> str:
    """The area as a title says it: the station's name, or the grid cell with its centre."""
    if isinstance(h, Hotspot):
        if h.area == "station":
            return h.org.name if h.org else ""
        cell = h.cell or 0
    else:
        if h.area == "station":
            return h.org_name
        cell = h.key
    lat, lon = cell_centre(cell)
    return _("grid %(lat).4f, %(lon).4f") % {"lat": lat, "lon": lon}


@transaction.atomic
def hotspot_analyse(*, actor: Any, ask_: Ask, key: int, now: datetime | None = None) -> Analysis:
    """研判 from a hotspot in one click: keep the hotspot (its numbers as of now), open a draft analysis of
    the actor's org with its incidents attached and the hotspot as its source, the why as its first line.
    400 when the area is not a hotspot (no colour) in the caller's area."""
    from . import services

    row = _row_of(ask_, key, now)
    if row is None or row.colour is None:
        raise Refused("key", _("No hotspot there for this period."))
    h = hotspot_keep(row=row, scope=ask_.scope, actor=actor)
    ids = list(
        hotspot_incidents(
            scope=ask_.scope, start=row.start or ask_.window.start, end=row.end or ask_.window.end,
            area=row.area, key=key, category_prefix=row.category,
        ).values_list("pk", flat=True)[:DRILL_LIMIT]
    )  # fmt: skip
    title = _("Hotspot: %(where)s — %(why)s") % {"where": where_words(row), "why": row.why}
    body = "\n".join(
        [
            row.why,
            _("Previous weeks: %(weeks)s") % {"weeks": ", ".join(map(str, row.weeks))},
            _("z = %(z).1f, colour: %(colour)s") % {"z": row.z, "colour": Colour(row.colour).label},
        ]
    )
    return services.analysis_create(actor=actor, title=title[:200], body=body, incident_ids=ids, source=h)


def analyses_of(hotspot_ids: Sequence[int], user: Any) -> dict[int, list[dict[str, Any]]]:
    """The analyses (of the reader's area) opened from these kept hotspots, by hotspot id."""
    ct = ContentType.objects.get_for_model(Hotspot)
    out: dict[int, list[dict[str, Any]]] = {}
    rows = orgs.restrict(Analysis.objects.filter(source_type=ct, source_id__in=list(hotspot_ids)), user)
    for a in rows.order_by("created_at").values("pk", "title", "state", "source_id"):
        out.setdefault(int(a["source_id"] or 0), []).append(
            {"id": a["pk"], "title": a["title"], "state": a["state"],
             "url": reverse("intel:workspace") + f"?analysis={a['pk']}"}
        )  # fmt: skip
    return out


def snapshot_daily(*, day: date | None = None) -> int:
    """Beat: keep yesterday's red and yellow hotspots of every command center (cells and jurisdictions), so
    the record of what was flagged stays whatever later corrections do. Idempotent. Returns how many kept."""
    day = day or timezone.localdate() - timedelta(days=1)
    kept = 0
    for org in Org.objects.filter(is_command_center=True).order_by("path"):
        for area in AREAS:
            for row in hotspots_for(org=org, start=day, end=day + timedelta(days=1), area=area):
                if row.colour in (Colour.RED, Colour.YELLOW):
                    row.period = "day"
                    hotspot_keep(row=row, scope=org)
                    kept += 1
    return kept


def check_time_zone() -> None:
    if settings.TIME_ZONE != TZ:
        raise RuntimeError(f"intel/hotspots.py cuts days in {TZ}, settings.TIME_ZONE is {settings.TIME_ZONE}")
