"""考评: scores per org per period from the measures (supervision/kpis.py) and supervision's own record, by a
scheme that is data (models.ScoreScheme, versioned); rankings within each level and the 红榜 / 黑榜.

A score is made of parts, each kept with the score so a station sees why:
- one part per weighted measure: `points = weight × rate` (× (1 − rate) when lower is better); the points of
  measures with nothing to count in the period are shared out among those measured, in proportion to their
  weights, so a quiet station is not marked down for what did not happen;
- one part per bonus whose mark the rate reached;
- one part per deduction, each naming its cause: every 督办 order (by its level), every reminder (催办) and
  every confirmed 数字督察 finding and every feedback returned for 整改 (反馈审核) of the period in the org's
  area, with the subject's words and page.
The total is the sum; orgs of one level (stations among stations) are ranked by it, highest first, ties
by name. `compute_scores` replaces the period's scores under the scheme (running it twice gives the same
rows).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from command_center import words
from command_center.models import Org

from . import kpis
from .models import Reminder, Score, ScoreScheme, SupervisionOrder

# Other modules' findings (数字督察) join the deductions through this hook: fn(org, first, last) → rows of
# {"key", "label", "id", "title", "url"} confirmed in the period (supervision/inspection.py registers it).
FindingSource = Callable[[Org, date, date], list[dict[str, Any]]]
_finding_sources: list[FindingSource] = []


def provide_findings(fn: FindingSource) -> None:
    if fn not in _finding_sources:
        _finding_sources.append(fn)


# More causes of deductions join the same way, each under its key in the scheme's `deductions` (points per
# row): fn(org, first, last) → rows of {"label", "id", "title", "url", …}, each a deduction with its cause
# (supervision/feedback_review.py registers "feedback_returned": every return of a feedback for 整改).
_deduction_sources: dict[str, list[FindingSource]] = {}


def provide_deductions(key: str, fn: FindingSource) -> None:
    found = _deduction_sources.setdefault(key, [])
    if fn not in found:
        found.append(fn)


def active_scheme() -> ScoreScheme | None:
    return ScoreScheme.objects.filter(active=True).order_by("-version").first()


def _q(x: float) -> Decimal:
    return Decimal(str(x)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def score_parts(scheme: ScoreScheme, scope: kpis.Scope) -> list[dict[str, Any]]:
    """Every part of one org's score for the scope's period, in the order a station reads them."""
    parts: list[dict[str, Any]] = []
    weights = {k: float(w) for k, w in (scheme.weights or {}).items() if k in kpis.BY_KEY}
    values = kpis.compute(scope, list(weights))
    measured = {k: w for k, w in weights.items() if values[k].value is not None}
    share = sum(weights.values()) / sum(measured.values()) if measured else 0.0
    for key, weight in weights.items():
        k, v = kpis.BY_KEY[key], values[key]
        if v.value is None:
            parts.append({"kind": "kpi", "key": key, "label": str(k.label), "value": None, "points": 0.0})
            continue
        rate = v.value if k.better == "higher" else 1 - v.value
        parts.append(
            {"kind": "kpi", "key": key, "label": str(k.label), "value": v.value, "points": weight * share * rate}
        )
    for key, bonus in (scheme.bonuses or {}).items():
        bk = kpis.BY_KEY.get(key)
        if bk is None:
            continue
        v = values.get(key) or bk.compute(scope)
        if v.value is not None and v.value >= float(bonus.get("at_least", 1)):
            parts.append({"kind": "bonus", "key": key, "label": str(bk.label), "value": v.value,
                          "points": float(bonus.get("points", 0))})  # fmt: skip
    parts += _deductions(scheme, scope)
    for p in parts:
        p["points"] = float(_q(p["points"]))
    return parts


def _deductions(scheme: ScoreScheme, scope: kpis.Scope) -> list[dict[str, Any]]:
    rules = scheme.deductions or {}
    out: list[dict[str, Any]] = []
    by_level = rules.get("supervision") or {}
    orders = kpis.supervision_orders(scope).select_related("level", "task", "incident")
    for o in orders.order_by("created_at", "pk"):
        points = float(by_level.get(o.level_id, 0))
        if points:
            out.append({"kind": "deduction", "key": "supervision", "label": o.level.local_name, "points": -points,
                        "cause": _cause(o)})  # fmt: skip
    per_reminder = float(rules.get("reminder", 0))
    if per_reminder:
        for r in kpis.reminders(scope).select_related("task", "incident").order_by("created_at", "pk"):
            out.append({"kind": "deduction", "key": "reminder", "label": "催办", "points": -per_reminder,
                        "cause": _cause(r)})  # fmt: skip
    per_finding = float(rules.get("finding", 0))
    if per_finding:
        for source in _finding_sources:
            for f in source(scope.org, scope.first, scope.last):
                out.append({"kind": "deduction", "key": "finding", "label": f.get("label", ""),
                            "points": -per_finding, "cause": f})  # fmt: skip
    for key, sources in _deduction_sources.items():
        per_row = float(rules.get(key, 0))
        if not per_row:
            continue
        for source in sources:
            for row in source(scope.org, scope.first, scope.last):
                out.append({"kind": "deduction", "key": key, "label": row.get("label", ""), "points": -per_row,
                            "cause": row})  # fmt: skip
    return out


def _cause(row: Reminder | SupervisionOrder) -> dict[str, Any]:
    """What a deduction is about, as a person reads it: the task or the incident, with its page."""
    model, pk = ("intel.task", row.task_id) if row.task_id is not None else ("incidents.incident", row.incident_id)
    assert pk is not None
    described = words.describe(model, [pk]).get(pk, {})
    kind = "supervision_order" if isinstance(row, SupervisionOrder) else "reminder"
    return {"type": kind, "id": row.pk, "subject": model, "subject_id": pk, **described}


def level_orgs(level: str) -> list[Org]:
    return list(Org.objects.filter(level=level, kind=Org.Kind.POLICE).order_by("path"))


@transaction.atomic
def compute_scores(
    *, period: str, anchor: date, level: str = Org.Level.STATION, scheme: ScoreScheme | None = None
) -> list[Score]:
    """Score every org of `level` for the period holding `anchor` under `scheme` (the active one), rank them,
    and store the rows (replacing this period's rows under this scheme)."""
    scheme = scheme or active_scheme()
    if scheme is None:
        return []
    first, last = kpis.period_days(period, anchor)
    now = timezone.now()
    rows = []
    for org in level_orgs(level):
        parts = score_parts(scheme, kpis.Scope(org, first, last))
        total = _q(sum(p["points"] for p in parts))
        rows.append(Score(org=org, period=period, first=first, last=last, scheme=scheme, total=total, parts=parts,
                          computed_at=now))  # fmt: skip
    rows.sort(key=lambda s: (-s.total, s.org.name))
    for n, s in enumerate(rows, start=1):
        s.rank, s.of = n, len(rows)
    Score.objects.filter(period=period, first=first, scheme=scheme, org__level=level).delete()
    Score.objects.bulk_create(rows)
    return rows


def lists(scores: list[Score], scheme: ScoreScheme) -> dict[str, Any]:
    """The 红榜 (十佳: the first `red_top`) and the 黑榜 (the last `black_bottom`) of one level's ranking, with
    the rule that made them."""
    ranked = sorted(scores, key=lambda s: s.rank or 0)
    black = ranked[-scheme.black_bottom :] if scheme.black_bottom else []
    red = [s for s in ranked[: scheme.red_top] if s not in black]
    return {
        "red": red,
        "black": black,
        "rule": f"{scheme.name} v{scheme.version}: 红榜 前 {scheme.red_top} 名 / 黑榜 后 {scheme.black_bottom} 名",
    }
