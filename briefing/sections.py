"""The morning report's sections and suggestions: a small registry.

A section builder is a function `(org, day) -> Section`: its figures as JSON-able data (stored in the
report's snapshot, `DailyReport.figures["sections"][key]`) and its Markdown (what the analyst's text starts
from). A suggestion source is a function `(org, day) -> list[Suggestion]`: a directive worth issuing, with
the one-click action that opens a 研判 from its source (POST /api/analyses/ with the source's field; from
the analysis the analyst issues the directive as usual).

Every figure is defined once: where a measure exists in supervision/kpis.py (its rows or its value), it is
read from there, never re-counted another way.

To add a section (as 社情 is added, from `community.selectors.summary(org=, start=, end=)`):

    def community(org: Org, day: date) -> Section:
        start, end = bounds(day)
        data = community_selectors.summary(org=org, start=start, end=end)
        return Section("community", _("社情"), data, markdown_of(data))

    SECTIONS.insert(1, community)          # the order of SECTIONS is the report's

To add a suggestion source (as red hotspots are, from `intel.hotspots.hotspots_for(...)`):

    def red_hotspots(org: Org, day: date) -> list[Suggestion]:
        return [Suggestion("hotspot", h.id, "red", h.title, h.reason, {"hotspot": h.id}) for h in ...]

    SUGGESTION_SOURCES.append(red_hotspots)

`Suggestion.action` is the body POSTed to /api/analyses/ (the source's field there); the page shows one
button per suggestion. The suggestions section lists them all (`suggestions()` runs every source).
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from command_center import clocks, dbrouter
from command_center.models import Category, Deadline, Org
from community import selectors as community_selectors
from intel import hotspots
from intel.models import Colour, Directive
from sentiment.models import Event as SentimentEvent
from sentiment.models import Warning as SentimentWarning
from supervision import kpis

BASELINE_WEEKS = 4  # the same weekday over the previous four weeks
HIGH_SIGMAS = 2.0  # a count above mean + 2σ is marked high


@dataclass
class Section:
    key: str
    title: str
    figures: dict[str, Any]
    markdown: str


@dataclass
class Suggestion:
    """A directive worth issuing, from a source row (kind, id), with the body that opens a 研判 from it."""

    kind: str
    id: int
    colour: str
    title: str
    reason: str
    action: dict[str, Any] = field(default_factory=dict)
    endpoint: str = "analyses"  # where the page POSTs `action`: the report page's cfg.urls key


SectionBuilder = Callable[[Org, date], Section]
SuggestionSource = Callable[[Org, date], list[Suggestion]]


def bounds(day: date) -> tuple[datetime, datetime]:
    """The local day [00:00, next 00:00) in Asia/Shanghai, as aware datetimes."""
    tz = timezone.get_default_timezone()
    start = timezone.make_aware(datetime(day.year, day.month, day.day), tz)
    return start, timezone.make_aware(datetime.combine(day + timedelta(days=1), datetime.min.time()), tz)


# --- 警情 ------------------------------------------------------------------------------------------------


def top_code(code: str) -> str:
    """The level-1 category (类别 AA0000) of a code."""
    return code[:2] + "0000"


def count_by_top(org: Org, day: date) -> Counter[str]:
    """Valid incidents of the day by level-1 category (kpis.incidents: merged and invalid left out)."""
    codes = kpis.incidents(kpis.Scope(org, day, day)).values_list("category__code", flat=True)
    return Counter(top_code(c) for c in codes)


@dataclass(frozen=True)
class Baseline:
    mean: float
    sd: float
    days: list[int]

    def high(self, n: int) -> bool:
        """Above mean + 2σ (a flat baseline: above the mean)."""
        return n > self.mean + HIGH_SIGMAS * self.sd if self.sd else n > self.mean


def baseline(counts: list[int]) -> Baseline:
    """Mean and population σ of the counts of the same weekday in the previous weeks."""
    if not counts:
        return Baseline(0.0, 0.0, [])
    return Baseline(statistics.fmean(counts), statistics.pstdev(counts), counts)


def incidents_section(org: Org, day: date) -> Section:
    today = count_by_top(org, day)
    before = count_by_top(org, day - timedelta(days=1))
    weeks = [count_by_top(org, day - timedelta(weeks=w)) for w in range(1, BASELINE_WEEKS + 1)]
    codes = sorted(set(today) | set(before) | {c for w in weeks for c in w})
    names = {c.code: c.name for c in Category.objects.filter(code__in=codes)}
    rows = []
    for code in codes:
        b = baseline([w[code] for w in weeks])
        rows.append(
            {
                "code": code,
                "name": names.get(code, code),
                "count": today[code],
                "previous_day": before[code],
                "mean": round(b.mean, 2),
                "sd": round(b.sd, 2),
                "high": b.high(today[code]),
            }
        )
    total = baseline([sum(w.values()) for w in weeks])
    scope = kpis.Scope(org, day, day)
    start, end = scope.start, scope.end
    struck_off = Directive.objects.filter(
        source=Directive.Source.REPEAT_GOVERNANCE,
        cluster__org__path__startswith=org.path,
        closed_at__gte=start,
        closed_at__lt=end,
    ).count()
    breaches = (
        Deadline.objects.filter(org__path__startswith=org.path, breached_at__gte=start, breached_at__lt=end)
        .values("kind")
        .annotate(n=Count("pk"))
        .order_by("-n", "kind")
    )
    registered = clocks.registered()
    flagged = [h for h in day_hotspots(org, day) if h.colour in (Colour.RED, Colour.YELLOW)]
    figures = {
        "total": {
            "count": sum(today.values()),
            "previous_day": sum(before.values()),
            "mean": round(total.mean, 2),
            "sd": round(total.sd, 2),
            "baseline_days": total.days,
            "high": total.high(sum(today.values())),
        },
        "categories": rows,
        "clusters": {"opened": kpis.clusters(scope).count(), "struck_off": struck_off},
        "breaches": [
            {
                "kind": b["kind"],
                "label": _clock_label(registered, b["kind"]),
                "count": b["n"],
            }
            for b in breaches
        ],
        "supervision_orders": kpis.BY_KEY["supervision_orders"].compute(scope).value or 0,
        "hotspots": [
            {
                "key": h.key,
                "colour": h.colour,
                "where": where(h),
                "why": h.why,
                "count": h.count,
                "mean": round(h.mean, 2),
                "sd": round(h.sd, 2),
            }
            for h in flagged[:TOP_HOTSPOTS]
        ],
    }
    return Section("incidents", _("Incidents (警情)"), figures, incidents_markdown(figures))


TOP_HOTSPOTS = 10


def day_hotspots(org: Org, day: date) -> list[hotspots.HotspotRow]:
    """The day's flagged grid cells under `org` (intel.hotspots: the same window of the previous weeks),
    red first."""
    return hotspots.hotspots_for(org=org, start=day, end=day + timedelta(days=1), area="cell")


def where(h: hotspots.HotspotRow) -> str:
    """The cell as a reader finds it: the jurisdiction holding most of its incidents, then the grid."""
    return " ".join(x for x in (h.org_name, hotspots.where_words(h)) if x)


def _clock_label(registered: dict[str, Any], kind: str) -> str:
    return str(registered[kind].label) if kind in registered else kind


def _pm(mean: float, sd: float) -> str:
    return f"{mean:g} ± {sd:g}"


def incidents_markdown(f: dict[str, Any]) -> str:
    t = f["total"]
    lines = [
        _("Valid incidents: **%(n)s** (the day before %(before)s; baseline %(baseline)s).")
        % {"n": t["count"], "before": t["previous_day"], "baseline": _pm(t["mean"], t["sd"])},
    ]
    if t["high"]:
        lines.append(_("**Above the baseline.**"))
    if f["categories"]:
        lines += [
            "",
            "| " + " | ".join([_("Category"), _("Count"), _("Day before"), _("Baseline")]) + " |",
            "|---|---:|---:|---:|",
        ]
        for r in f["categories"]:
            mark = " ▲" if r["high"] else ""
            lines.append(f"| {r['name']} | {r['count']}{mark} | {r['previous_day']} | {_pm(r['mean'], r['sd'])} |")
    if f.get("hotspots"):
        lines += ["", _("Hotspots (热点):"), ""]
        lines += [f"- [{COLOUR_WORDS.get(h['colour'], h['colour'])}] {h['where']}：{h['why']}" for h in f["hotspots"]]
    else:
        lines += ["", _("No red or yellow hotspot.")]
    c = f["clusters"]
    lines += [
        "",
        _("Repeat clusters opened: %(opened)s; struck off: %(off)s.") % {"opened": c["opened"], "off": c["struck_off"]},
        _("Formal supervision (督办) orders opened: %(n)s.") % {"n": f["supervision_orders"]},
    ]
    if f["breaches"]:
        lines.append(
            _("Deadlines breached: %(list)s.")
            % {"list": "; ".join(f"{b['label']} {b['count']}" for b in f["breaches"])}
        )
    else:
        lines.append(_("No deadline was breached."))
    return "\n".join(lines)


# --- 网情 ------------------------------------------------------------------------------------------------

TOP_EVENTS = 10


def _warnings_of(org: Org, day: date) -> Any:
    start, end = bounds(day)
    return SentimentWarning.objects.filter(org__path__startswith=org.path, created_at__gte=start, created_at__lt=end)


def sentiment_section(org: Org, day: date) -> Section:
    start, end = bounds(day)
    events = SentimentEvent.objects.filter(org__path__startswith=org.path, first_seen__lt=end, last_seen__gte=start)
    warnings = _warnings_of(org, day)
    figures = {
        "events_n": events.count(),
        "events": [
            {"id": e.pk, "title": e.title, "posts": e.posts_n, "negative": e.negative_n, "risk": e.risk}
            for e in events.order_by("-negative_n", "-posts_n", "-pk")[:TOP_EVENTS]
        ],
        "warnings_n": warnings.count(),
        "warnings_by_colour": dict(Counter(warnings.values_list("colour", flat=True))),
        "warnings": [
            {"id": w.pk, "colour": w.colour, "reason": w.reason, "state": w.state}
            for w in warnings.order_by("-created_at", "-pk")[:TOP_EVENTS]
        ],
    }
    return Section("sentiment", _("Online sentiment (网情)"), figures, sentiment_markdown(figures))


COLOUR_WORDS = {"red": "红", "yellow": "黄", "blue": "蓝"}


def sentiment_markdown(f: dict[str, Any]) -> str:
    if not f["events_n"] and not f["warnings_n"]:
        return _("No sentiment data (无网情数据).")
    lines = [_("Events: %(e)s; warnings: %(w)s.") % {"e": f["events_n"], "w": f["warnings_n"]}]
    for e in f["events"]:
        lines.append(
            "- "
            + _("%(title)s (%(posts)s posts, %(neg)s negative)")
            % {"title": e["title"], "posts": e["posts"], "neg": e["negative"]}
        )
    for w in f["warnings"]:
        lines.append(f"- [{COLOUR_WORDS.get(w['colour'], w['colour'])}] {w['reason']}")
    return "\n".join(lines)


# --- 社情 ------------------------------------------------------------------------------------------------

DISPUTES = "060000"  # the default category table's 纠纷 (disputes), counted among the 警情 of the day


def community_section(org: Org, day: date) -> Section:
    """Volunteers' hazards and clues of the day (community.selectors.summary), their triage outcomes, the
    reports still waiting, and the day's dispute incidents (the 警情 section's count of 纠纷)."""
    start, end = bounds(day)
    data = community_selectors.summary(org=org, start=start, end=end)
    tz = timezone.get_default_timezone()
    data["incidents"] = [
        {**r, "submitted_at": timezone.localtime(r["submitted_at"], tz).strftime("%H:%M")} for r in data["incidents"]
    ]
    data["disputes"] = count_by_top(org, day)[DISPUTES]
    return Section("community", _("Community (社情)"), data, community_markdown(data))


OUTCOME_WORDS = {"incident": "转警情", "tasked": "派任务", "forwarded": "转交", "closed": "关闭", "submitted": "待分拣"}


def community_markdown(f: dict[str, Any]) -> str:
    """Paragraphs, and the list of incidents as a block of its own (a line after a list item would be read
    as the item's continuation)."""
    blocks = []
    if not f["total"]:
        blocks.append(_("No volunteer report (无社情上报)."))
    else:
        kinds = f["by_kind"]
        blocks.append(
            _("Volunteer reports: **%(n)s** (hazards %(h)s, clues %(c)s).")
            % {"n": f["total"], "h": kinds.get("hazard", 0), "c": kinds.get("clue", 0)}
            + " "
            + _("Triage: %(list)s.")
            % {"list": "；".join(f"{OUTCOME_WORDS.get(k, k)} {n}" for k, n in sorted(f["outcomes"].items()))}
        )
        if f["incidents"]:
            blocks.append("\n".join(f"- {r['submitted_at']} {r['category']} → {r['number']}" for r in f["incidents"]))
    blocks.append(
        _("Awaiting triage now: %(open)s, of them late: %(late)s.") % {"open": f["open"], "late": f["late"]}
        + " "
        + _("Dispute incidents (纠纷): %(n)s.") % {"n": f["disputes"]}
    )
    return "\n\n".join(blocks)


# --- Suggested directives --------------------------------------------------------------------------------


def sentiment_suggestions(org: Org, day: date) -> list[Suggestion]:
    """Red and yellow 网情 warnings of the day not yet analysed: each opens a 研判 from the warning."""
    rows = _warnings_of(org, day).filter(Q(colour="red") | Q(colour="yellow"), state=SentimentWarning.State.OPEN)
    ordered = sorted(rows, key=lambda w: (0 if w.colour == "red" else 1, -w.pk))  # red first, newest first
    return [
        Suggestion(
            "sentiment_warning",
            w.pk,
            w.colour,
            w.reason,
            _("Sentiment warning (网情预警)"),
            {"sentiment_warning": w.pk},
        )
        for w in ordered
    ]


def hotspot_suggestions(org: Org, day: date) -> list[Suggestion]:
    """The day's red hotspots: each opens a 研判 from the hotspot (POST /api/hotspots/analyse/: it keeps the
    hotspot and attaches its incidents), from which the analyst issues the directive."""
    return [
        Suggestion(
            "hotspot",
            h.key,
            "red",
            f"{where(h)}：{h.why}",
            _("Red hotspot (红色热点)"),
            {
                "org": org.pk,
                "period": "day",
                "at": day.isoformat(),
                "area": h.area,
                "category": h.category,
                "key": h.key,
            },
            endpoint="hotspot_analyse",
        )
        for h in day_hotspots(org, day)
        if h.colour == Colour.RED
    ]


SUGGESTION_SOURCES: list[SuggestionSource] = [hotspot_suggestions, sentiment_suggestions]


def suggestions(org: Org, day: date) -> list[Suggestion]:
    return [s for source in SUGGESTION_SOURCES for s in source(org, day)]


def suggestions_section(org: Org, day: date) -> Section:
    found = suggestions(org, day)
    figures = {"suggestions": [asdict(s) for s in found]}
    if not found:
        text = _("No directive is suggested.")
    else:
        text = "\n".join(f"- [{COLOUR_WORDS.get(s.colour, s.colour)}] {s.title}" for s in found)
    return Section("suggestions", _("Suggested directives"), figures, text)


# --- The registry ---------------------------------------------------------------------------------------

SECTIONS: list[SectionBuilder] = [incidents_section, community_section, sentiment_section, suggestions_section]


@dbrouter.reads_replica
def build(org: Org, day: date) -> list[Section]:
    return [builder(org, day) for builder in SECTIONS]


def snapshot(org: Org, day: date) -> tuple[dict[str, Any], str]:
    """The report's figures (every section's, in order, with when they were taken) and the Markdown its
    text starts from."""
    built = build(org, day)
    figures = {
        "day": day.isoformat(),
        "taken_at": timezone.now().isoformat(),
        "order": [s.key for s in built],
        "sections": {s.key: {"title": s.title, "figures": s.figures, "markdown": s.markdown} for s in built},
    }
    body = "\n\n".join(f"## {s.title}\n\n{s.markdown}" for s in built)
    return figures, body
