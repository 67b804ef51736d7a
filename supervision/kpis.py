"""The measures (考评指标), each defined once: what it counts, over which rows, and its formula.

A KPI is computed for a scope — an org and everything under it, a period in Asia/Shanghai (a day, a week
from Monday, a month, or custom dates), optionally a category prefix — exactly, from the rows themselves,
and every KPI names the rows behind it (`rows`), so a figure can be drilled down to what it counts. The
formulas are in README.md ("Measures"); this module is their one definition.

Each KPI has two ways to its figure, held equal by tests/supervision/test_kpis.py: `compute`, straight from
the rows (the definition, and the check), and `fold`, from the sums of the rollup (supervision/rollups.py:
org × local day × category rows kept exact by triggers), which is what `compute()`, `trend()` and
`ranking()` read — a few milliseconds for a city's month instead of a scan of its rows.

Which rows a KPI counts is decided by the time of the step it measures, never by when it is asked:
- the desk's (dispatch time, repeat rate, feedback on time): incidents *reported* in the period, of the
  org's subtree (the incident's responsible org), of the category prefix;
- the stations' (signature, arrival): dispatch orders *sent* in the period, addressed into the subtree,
  for incidents of the category prefix;
- callbacks: incidents *closed* in the period;
- diversions: diversions *pushed* in the period, of incidents of the subtree;
- directives: tasks *issued* in the period to orgs of the subtree; reminders (催办) and 督办 orders *raised*
  in the period to orgs of the subtree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import Aggregate, Avg, Count, DurationField, ExpressionWrapper, F, FloatField, Func, Q, QuerySet
from django.db.models.functions import Floor, Substr
from django.utils import timezone
from django.utils.functional import Promise, lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from command_center import dbrouter
from command_center.models import Org
from dispatch.models import DispatchOrder
from incidents.models import Callback, Diversion, Incident, RepeatCluster, RepeatLink, Satisfaction
from incidents.services import CLOCK_DIVERSION_FINISH, CLOCK_FEEDBACK
from intel.models import Task

from . import rollups
from .models import Reminder, SupervisionOrder
from .rollups import SIGN_LIMIT_S, Sums

# --- Scope ----------------------------------------------------------------------------------------------

PERIODS = ("day", "week", "month", "custom")


@dataclass(frozen=True)
class Scope:
    """An org's subtree, a half-open period [start, end) of local days, and a category prefix ("" = all)."""

    org: Org
    first: date  # the first day, local (Asia/Shanghai)
    last: date  # the last day, inclusive
    category: str = ""
    partner: Org | None = None  # the diversions' measures of one partner only (the breakdown by partner)

    @property
    def start(self) -> datetime:
        return _midnight(self.first)

    @property
    def end(self) -> datetime:
        return _midnight(self.last + timedelta(days=1))

    def shifted(self, first: date, last: date) -> Scope:
        return Scope(self.org, first, last, self.category, self.partner)


def _midnight(d: date) -> datetime:
    return timezone.make_aware(datetime(d.year, d.month, d.day), timezone.get_default_timezone())


def period_days(period: str, anchor: date, *, start: date | None = None, end: date | None = None) -> tuple[date, date]:
    """The first and last day of the period holding `anchor` (a week runs Monday to Sunday); `custom` is
    `start`..`end`, both inclusive."""
    if period == "day":
        return anchor, anchor
    if period == "week":
        monday = anchor - timedelta(days=anchor.weekday())
        return monday, monday + timedelta(days=6)
    if period == "month":
        first = anchor.replace(day=1)
        return first, _next_month(first) - timedelta(days=1)
    if period == "custom" and start is not None and end is not None:
        return start, end
    raise ValueError(period)


def _next_month(first: date) -> date:
    return first.replace(year=first.year + 1, month=1) if first.month == 12 else first.replace(month=first.month + 1)


def previous(scope: Scope, period: str) -> Scope:
    """The period just before: yesterday, last week, last month, or as many days before a custom range."""
    if period == "month":
        first = (scope.first - timedelta(days=1)).replace(day=1)
        return scope.shifted(first, scope.first - timedelta(days=1))
    days = (scope.last - scope.first).days + 1
    return scope.shifted(scope.first - timedelta(days=days), scope.first - timedelta(days=1))


def last_year(scope: Scope, period: str) -> Scope:
    """The same period a year before: the same dates (29 February → 28), and for a week the week 52 weeks
    earlier (Monday to Sunday still)."""
    if period == "week":
        return scope.shifted(scope.first - timedelta(weeks=52), scope.last - timedelta(weeks=52))
    if period == "month":
        first = scope.first.replace(year=scope.first.year - 1)
        return scope.shifted(first, _next_month(first) - timedelta(days=1))
    return scope.shifted(_year_before(scope.first), _year_before(scope.last))


def _year_before(d: date) -> date:
    try:
        return d.replace(year=d.year - 1)
    except ValueError:  # 29 February
        return d.replace(year=d.year - 1, day=28)


# --- Rows of a scope ------------------------------------------------------------------------------------


def incidents(s: Scope) -> QuerySet[Incident]:
    qs = Incident.objects.filter(
        org__path__startswith=s.org.path, reported_at__gte=s.start, reported_at__lt=s.end
    ).exclude(state__in=["merged", "invalid"])
    return qs.filter(category__code__startswith=s.category) if s.category else qs


def orders(s: Scope) -> QuerySet[DispatchOrder]:
    qs = DispatchOrder.objects.filter(org__path__startswith=s.org.path, sent_at__gte=s.start, sent_at__lt=s.end)
    return qs.filter(incident__category__code__startswith=s.category) if s.category else qs


def closed_incidents(s: Scope) -> QuerySet[Incident]:
    qs = Incident.objects.filter(org__path__startswith=s.org.path, closed_at__gte=s.start, closed_at__lt=s.end)
    return qs.filter(category__code__startswith=s.category) if s.category else qs


def diversions(s: Scope) -> QuerySet[Diversion]:
    qs = Diversion.objects.filter(
        incident__org__path__startswith=s.org.path, pushed_at__gte=s.start, pushed_at__lt=s.end
    )
    if s.partner is not None:
        qs = qs.filter(partner=s.partner)
    return qs.filter(incident__category__code__startswith=s.category) if s.category else qs


def clusters(s: Scope) -> QuerySet[RepeatCluster]:
    """Repeat clusters (the ledger, 挂账) first seen in the period, of the subtree's orgs and the category."""
    qs = RepeatCluster.objects.filter(org__path__startswith=s.org.path, first_at__gte=s.start, first_at__lt=s.end)
    return qs.filter(category__code__startswith=s.category) if s.category else qs


def tasks(s: Scope) -> QuerySet[Task]:
    return Task.objects.filter(org__path__startswith=s.org.path, issued_at__gte=s.start, issued_at__lt=s.end)


def reminders(s: Scope) -> QuerySet[Reminder]:
    return Reminder.objects.filter(
        recipient__path__startswith=s.org.path, created_at__gte=s.start, created_at__lt=s.end, level=1
    )


def supervision_orders(s: Scope) -> QuerySet[SupervisionOrder]:
    return SupervisionOrder.objects.filter(
        org__path__startswith=s.org.path, created_at__gte=s.start, created_at__lt=s.end
    )


# --- Values ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Value:
    """A figure with what it was computed from: a rate is `numerator / denominator`; a time is seconds
    (`numerator` the total, `denominator` how many); a count is `numerator`. `value` is None when there is
    nothing to measure (no rows)."""

    value: float | None
    numerator: float
    denominator: int


def rate(num: int, den: int) -> Value:
    return Value(None if den == 0 else num / den, num, den)


class Seconds(Func):
    """EXTRACT(EPOCH FROM a - b): an interval in seconds."""

    template = "EXTRACT(EPOCH FROM %(expressions)s)"
    output_field = FloatField()


class PercentileDisc(Aggregate):
    """percentile_disc(p) WITHIN GROUP (ORDER BY x): the first value at or above the p-th fraction — a value
    one of the rows has, never an interpolation."""

    function = "percentile_disc"
    template = "%(function)s(%(percentile)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression: Any, percentile: float, **extra: Any) -> None:
        super().__init__(expression, percentile=percentile, **extra)


def _span(later: str, earlier: str) -> Seconds:
    return Seconds(ExpressionWrapper(F(later) - F(earlier), output_field=DurationField()))


def _dispatched(s: Scope) -> QuerySet[Incident]:
    return incidents(s).filter(dispatched_at__isnull=False).annotate(wait=_span("dispatched_at", "reported_at"))


def dispatch_mean(s: Scope) -> Value:
    row = _dispatched(s).aggregate(n=Count("pk"), avg=Avg("wait"))
    return Value(row["avg"], (row["avg"] or 0) * row["n"], row["n"])


def dispatch_p90(s: Scope) -> Value:
    """In whole seconds (rounded down), so the rollup's histogram of whole seconds gives the same figure."""
    row = _dispatched(s).aggregate(n=Count("pk"), p90=PercentileDisc(Floor("wait"), rollups.P90))
    return Value(row["p90"], row["p90"] or 0, row["n"])


def _now() -> datetime:
    return timezone.now()


def _sign_counted(s: Scope) -> QuerySet[DispatchOrder]:
    """Orders that were to be signed: all sent, except those called off or sent back before anyone signed,
    and those still inside their 30 s (not decided yet: neither on time nor late)."""
    return (
        orders(s)
        .exclude(signed_at__isnull=True, state__in=["cancelled", "returned"])
        .exclude(signed_at__isnull=True, sent_at__gt=_now() - timedelta(seconds=SIGN_LIMIT_S))
    )


def sign_30s(s: Scope) -> Value:
    qs = _sign_counted(s).annotate(took=_span("signed_at", "sent_at"))
    row = qs.aggregate(n=Count("pk"), ok=Count("pk", filter=Q(took__lte=SIGN_LIMIT_S)))
    return rate(row["ok"], row["n"])


def sign_mean(s: Scope) -> Value:
    row = (
        orders(s)
        .filter(signed_at__isnull=False)
        .annotate(took=_span("signed_at", "sent_at"))
        .aggregate(n=Count("pk"), avg=Avg("took"))
    )
    return Value(row["avg"], (row["avg"] or 0) * row["n"], row["n"])


def _ring_orders(s: Scope, ring: int) -> QuerySet[DispatchOrder]:
    """Signed orders of `ring`-minute units, less those still on the way inside their ring (not decided)."""
    return (
        orders(s)
        .filter(ring_minutes=ring, signed_at__isnull=False)
        .exclude(arrived_at__isnull=True, signed_at__gt=_now() - timedelta(minutes=ring))
    )


def arrive_in_ring(ring: int) -> Callable[[Scope], Value]:
    def compute(s: Scope) -> Value:
        qs = _ring_orders(s, ring).annotate(took=_span("arrived_at", "signed_at"))
        row = qs.aggregate(n=Count("pk"), ok=Count("pk", filter=Q(took__lte=ring * 60)))
        return rate(row["ok"], row["n"])

    return compute


def ring_rows(ring: int) -> Callable[[Scope], QuerySet[DispatchOrder]]:
    return lambda s: _ring_orders(s, ring)


def _decided_clocks(kind: str, subjects: QuerySet[Any]) -> Any:
    """The clocks of `kind` on these subjects that are decided: met, or due by now (a clock still running is
    neither on time nor late); a clock called off (cancelled) is not measured."""
    from command_center.models import Deadline

    return Deadline.objects.filter(
        Q(met_at__isnull=False) | Q(due_at__lte=_now()),
        kind=kind,
        subject_type=ContentType.objects.get_for_model(subjects.model),
        subject_id__in=subjects.values("pk"),
        cancelled_at__isnull=True,
    )


def _met_in_time(clocks: Any) -> Value:
    row = clocks.aggregate(n=Count("pk"), ok=Count("pk", filter=Q(met_at__isnull=False, met_at__lte=F("due_at"))))
    return rate(row["ok"], row["n"])


def _feedback_clocks(s: Scope) -> Any:
    return _decided_clocks(CLOCK_FEEDBACK, incidents(s))


def feedback_on_time(s: Scope) -> Value:
    return _met_in_time(_feedback_clocks(s))


def feedback_timeout(s: Scope) -> Value:
    row = _feedback_clocks(s).aggregate(n=Count("pk"), late=Count("pk", filter=Q(breached_at__isnull=False)))
    return rate(row["late"], row["n"])


def callback_coverage(s: Scope) -> Value:
    row = closed_incidents(s).aggregate(n=Count("pk"), called=Count("callback"))
    return rate(row["called"], row["n"])


SATISFIED = [Satisfaction.SATISFIED, Satisfaction.BASICALLY]


def satisfaction(s: Scope) -> Value:
    qs = Callback.objects.filter(incident__in=closed_incidents(s).values("pk"))
    row = qs.aggregate(n=Count("pk"), ok=Count("pk", filter=Q(satisfaction__in=SATISFIED)))
    return rate(row["ok"], row["n"])


def _repeats(s: Scope) -> QuerySet[Incident]:
    return (
        incidents(s).filter(Q(pk__in=RepeatLink.objects.values("incident_id")) | Q(clusters__isnull=False)).distinct()
    )


def repeat_rate(s: Scope) -> Value:
    return rate(_repeats(s).count(), incidents(s).count())


def diversion_rate(state_field: str) -> Callable[[Scope], Value]:
    def compute(s: Scope) -> Value:
        qs = diversions(s)
        if state_field == "accepted":
            ok = qs.filter(accepted_at__isnull=False).count()
        else:
            ok = qs.filter(state=state_field).count()
        return rate(ok, qs.count())

    return compute


def _tasks_due(s: Scope, done: str, due: str) -> QuerySet[Task]:
    """Tasks issued in the period (not withdrawn) whose step is decided: done, or due by now."""
    return tasks(s).exclude(state="withdrawn").exclude(**{f"{done}__isnull": True, f"{due}__gt": _now()})


def _finish_clocks(s: Scope) -> Any:
    """The finish clocks (办结时限) of the scope's diversions that are decided; a return or a void calls the
    clock off, and then the diversion is not measured here."""
    return _decided_clocks(CLOCK_DIVERSION_FINISH, diversions(s))


def diversion_finished_on_time(s: Scope) -> Value:
    return _met_in_time(_finish_clocks(s))


CLUSTER_HANDLED = [RepeatCluster.Status.GOVERNED, RepeatCluster.Status.STRUCK_OFF]
CLUSTER_STRUCK_OFF = RepeatCluster.Status.STRUCK_OFF


def clusters_governed(s: Scope) -> Value:
    row = clusters(s).aggregate(n=Count("pk"), ok=Count("pk", filter=Q(status__in=CLUSTER_HANDLED)))
    return rate(row["ok"], row["n"])


def clusters_struck_off(s: Scope) -> Value:
    row = clusters(s).aggregate(n=Count("pk"), ok=Count("pk", filter=Q(status=RepeatCluster.Status.STRUCK_OFF)))
    return rate(row["ok"], row["n"])


def _clusters_by_child(counted: Q) -> Callable[[Scope], dict[str, Value]]:
    """A ledger measure for each org right under the scope's org (keyed by its path), in one grouped query —
    the same count as `clusters_governed` / `clusters_struck_off` on each child's scope."""

    def by_child(s: Scope) -> dict[str, Value]:
        child = Substr("org__path", 1, len(s.org.path) + Org.steplen)
        rows = clusters(s).annotate(child=child).values("child").annotate(n=Count("pk"), ok=Count("pk", filter=counted))
        return {r["child"]: rate(r["ok"], r["n"]) for r in rows}

    return by_child


def task_signed_on_time(s: Scope) -> Value:
    qs = _tasks_due(s, "signed_at", "sign_due_at")
    row = qs.aggregate(
        n=Count("pk"), ok=Count("pk", filter=Q(signed_at__isnull=False, signed_at__lte=F("sign_due_at")))
    )
    return rate(row["ok"], row["n"])


def task_reported_on_time(s: Scope) -> Value:
    qs = _tasks_due(s, "reported_at", "report_due_at")
    row = qs.aggregate(
        n=Count("pk"), ok=Count("pk", filter=Q(reported_at__isnull=False, reported_at__lte=F("report_due_at")))
    )
    return rate(row["ok"], row["n"])


def task_rework(s: Scope) -> Value:
    qs = tasks(s).exclude(state="withdrawn")
    row = qs.aggregate(n=Count("pk"), rework=Count("pk", filter=Q(rework_count__gt=0)))
    return rate(row["rework"], row["n"])


def count_of(rows: Callable[[Scope], QuerySet[Any]]) -> Callable[[Scope], Value]:
    def compute(s: Scope) -> Value:
        n = rows(s).count()
        return Value(n, n, n)

    return compute


# --- Values from the rollup's sums (rollups.COLUMNS) -------------------------------------------------------


def share_of(ok: str, n: str) -> Callable[[Sums], Value]:
    return lambda s: rate(int(s[ok]), int(s[n]))


def mean_of(total: str, n: str) -> Callable[[Sums], Value]:
    def fold(s: Sums) -> Value:
        count = int(s[n])
        return Value(float(s[total] / count) if count else None, float(s[total]), count)

    return fold


def p90_of(s: Sums) -> Value:
    return Value(None if s.p90 is None else float(s.p90), float(s.p90 or 0), int(s["disp_n"]))


def number_of(col: str) -> Callable[[Sums], Value]:
    def fold(s: Sums) -> Value:
        n = int(s[col])
        return Value(n, n, n)

    return fold


# --- The table ------------------------------------------------------------------------------------------
#
# Labels and formulas are translated when shown (the API answers in the reader's language); README.md holds
# the English formulas (tests/supervision/test_kpis.py reads them under English).


def _ring_label_text(ring: int) -> str:
    return gettext("On scene within the %(n)s-minute ring") % {"n": ring}


def _ring_formula_text(ring: int) -> str:
    return gettext(
        "orders of %(n)s-minute-ring units on scene ≤ %(n)s min after signing ÷ those signed and decided (on scene, "
        "or %(n)s min on), sent in the period"
    ) % {"n": ring}


_ring_label = lazy(_ring_label_text, str)
_ring_formula = lazy(_ring_formula_text, str)


@dataclass(frozen=True)
class Kpi:
    key: str
    label: str | Promise
    group: str  # dispatch, feedback, callbacks, repeats, diversions, directives
    unit: str  # rate, seconds, count
    formula: str | Promise  # in words, the one definition (README.md "Measures" lists these, in English)
    compute: Callable[[Scope], Value]
    rows: Callable[[Scope], QuerySet[Any]]  # the rows it counts (drill-down)
    rows_of: str  # what those rows are: incident, order, diversion, task, reminder, supervision_order
    better: str = "higher"  # which way is good: higher or lower
    # The same figure from the rollup's sums (every row sets its own); None: read from the rows each time (the
    # repeat ledger: a few hundred clusters a month, whose status changes are no step the rollup follows).
    fold: Callable[[Sums], Value] | None = p90_of
    extra: dict[str, Any] = field(default_factory=dict)


KPIS: list[Kpi] = [
    Kpi("dispatch_mean_s", _("Call to dispatch, mean"), "dispatch", "seconds",
        _("mean of (dispatched_at − reported_at) over incidents reported in the period and dispatched"),
        dispatch_mean, _dispatched, "incident", "lower", mean_of("disp_wait_s", "disp_n")),
    Kpi("dispatch_p90_s", _("Call to dispatch, 90th percentile"), "dispatch", "seconds",
        _("percentile_disc(0.9) of (dispatched_at − reported_at) in whole seconds (rounded down) over the same "
        "incidents"),
        dispatch_p90, _dispatched, "incident", "lower", p90_of),
    Kpi("sign_30s_rate", _("Signed within 30 s"), "dispatch", "rate",
        _("orders signed ≤ 30 s after sending ÷ orders sent in the period and decided — signed, or unsigned 30 s on "
        "(less those called off or sent back before anyone signed)"),
        sign_30s, _sign_counted, "order", "higher", share_of("sign_ok", "sign_n")),
    Kpi("sign_mean_s", _("Sending to signature, mean"), "dispatch", "seconds",
        _("mean of (signed_at − sent_at) over orders sent in the period and signed"),
        sign_mean, lambda s: orders(s).filter(signed_at__isnull=False), "order", "lower",
        mean_of("signed_wait_s", "signed_n")),
    *[
        Kpi(f"arrive_ring{r}_rate", _ring_label(r), "dispatch", "rate", _ring_formula(r),
            arrive_in_ring(r), ring_rows(r), "order", "higher", share_of(f"ring{r}_ok", f"ring{r}_n"))
        for r in (1, 3, 5)
    ],
    Kpi("feedback_on_time_rate", _("Feedback on time"), "feedback", "rate",
        _("feedback clocks met by their due time ÷ decided feedback clocks (met, or due by now; not cancelled) of "
        "incidents reported in the period"),
        feedback_on_time, lambda s: incidents(s).filter(pk__in=_feedback_clocks(s).values("subject_id")),
        "incident", "higher", share_of("fb_ok", "fb_n")),
    Kpi("feedback_timeout_rate", _("Feedback overdue (超时反馈率)"), "feedback", "rate",
        _("feedback clocks that broke ÷ decided feedback clocks (met, or due by now; not cancelled) of incidents "
        "reported in the period"),
        feedback_timeout,
        lambda s: incidents(s).filter(
            pk__in=_feedback_clocks(s).filter(breached_at__isnull=False).values("subject_id")
        ),
        "incident", "lower", share_of("fb_late", "fb_n")),
    Kpi("callback_coverage_rate", _("Callback coverage (一警一回访)"), "callbacks", "rate",
        _("incidents closed in the period with a callback ÷ incidents closed in the period"),
        callback_coverage, closed_incidents, "incident", "higher", share_of("called_n", "closed_n")),
    Kpi("satisfaction_rate", _("Callers satisfied"), "callbacks", "rate",
        _("callbacks 'satisfied' or 'basically satisfied' ÷ callbacks, of incidents closed in the period"),
        satisfaction, lambda s: closed_incidents(s).filter(callback__isnull=False), "incident", "higher",
        share_of("satisfied_n", "called_n")),
    Kpi("repeat_rate", _("Repeat incidents"), "repeats", "rate",
        _("incidents reported in the period linked as a repeat or on the repeat ledger ÷ incidents reported"),
        repeat_rate, _repeats, "incident", "lower", share_of("repeat_n", "inc_n")),
    Kpi("clusters_governed_rate", _("Repeat clusters governed (挂账)"), "repeats", "rate",
        _("repeat clusters first seen in the period now governed or struck off ÷ repeat clusters first seen in the "
        "period"),
        clusters_governed, clusters, "cluster", fold=None,
        extra={"breakdown": ["kind", "theme"], "by_child": _clusters_by_child(Q(status__in=CLUSTER_HANDLED))}),
    Kpi("clusters_struck_off_rate", _("Repeat clusters struck off (销号)"), "repeats", "rate",
        _("repeat clusters first seen in the period now struck off ÷ repeat clusters first seen in the period"),
        clusters_struck_off, clusters, "cluster", fold=None,
        extra={"breakdown": ["kind", "theme"], "by_child": _clusters_by_child(Q(status=CLUSTER_STRUCK_OFF))}),
    Kpi("diversion_accepted_rate", _("Diversions accepted"), "diversions", "rate",
        _("diversions pushed in the period that the partner accepted ÷ diversions pushed"),
        diversion_rate("accepted"), lambda s: diversions(s).filter(accepted_at__isnull=False), "diversion", "higher",
        share_of("div_accepted", "div_n")),
    Kpi("diversion_returned_rate", _("Diversions returned"), "diversions", "rate",
        _("diversions pushed in the period that the partner sent back ÷ diversions pushed"),
        diversion_rate("returned"), lambda s: diversions(s).filter(state="returned"), "diversion", "lower",
        share_of("div_returned", "div_n")),
    Kpi("diversion_finished_on_time_rate", _("Diversions finished on time"), "diversions", "rate",
        _("diversions pushed in the period finished by their finish clock's due time ÷ those whose finish clock "
        "is decided (met, or due by now; not called off by a return or a void)"),
        diversion_finished_on_time,
        lambda s: diversions(s).filter(pk__in=_finish_clocks(s).values("subject_id")), "diversion", "higher",
        share_of("div_fin_ok", "div_fin_n")),
    Kpi("task_signed_on_time_rate", _("Tasks signed on time"), "directives", "rate",
        _("tasks issued in the period signed by their sign-due time ÷ tasks issued (not withdrawn), signed or due by "
        "now"),
        task_signed_on_time, lambda s: _tasks_due(s, "signed_at", "sign_due_at"), "task", "higher",
        share_of("task_signed_ok", "task_sign_n")),
    Kpi("task_reported_on_time_rate", _("Tasks reported on time"), "directives", "rate",
        _("tasks issued in the period reported by their report-due time ÷ tasks issued (not withdrawn), reported or "
        "due by now"),
        task_reported_on_time, lambda s: _tasks_due(s, "reported_at", "report_due_at"), "task", "higher",
        share_of("task_reported_ok", "task_report_n")),
    Kpi("task_rework_rate", _("Tasks returned for rework"), "directives", "rate",
        _("tasks issued in the period returned at least once ÷ tasks issued (not withdrawn)"),
        task_rework, lambda s: tasks(s).filter(rework_count__gt=0), "task", "lower", share_of("task_rework", "task_n")),
    Kpi("reminders", _("Reminders (催办)"), "directives", "count",
        _("reminders raised in the period to orgs of the subtree (by the sweep or by hand)"),
        count_of(reminders), reminders, "reminder", "lower", number_of("reminders_n")),
    Kpi("supervision_orders", _("Formal supervision (督办)"), "directives", "count",
        _("督办 orders raised in the period on orgs of the subtree (by the sweep or by hand)"),
        count_of(supervision_orders), supervision_orders, "supervision_order", "lower", number_of("so_n")),
]  # fmt: skip
BY_KEY = {k.key: k for k in KPIS}


def _raw_by_child(ks: list[Kpi], scope: Scope) -> dict[str, dict[str, Value]]:
    """The measures read from the rows that can group by child in one query (`extra["by_child"]`)."""
    return {k.key: k.extra["by_child"](scope) for k in ks if k.fold is None and "by_child" in k.extra}


def _figure(k: Kpi, sums: Sums, scope: Scope) -> Value:
    return k.compute(scope) if k.fold is None else k.fold(sums)


@dbrouter.reads_replica
def compute(scope: Scope, keys: list[str] | None = None) -> dict[str, Value]:
    """The figures of the scope, from the rollup (one query for all of them); one partner's, from the rows
    (the rollup keeps no partner)."""
    if scope.partner is not None:
        return compute_raw(scope, keys)
    sums = rollups.sums(scope.org.path, scope.first, scope.last, scope.category)[None]
    return {k.key: _figure(k, sums, scope) for k in KPIS if keys is None or k.key in keys}


@dbrouter.reads_replica
def compute_raw(scope: Scope, keys: list[str] | None = None) -> dict[str, Value]:
    """The figures straight from the rows (each KPI's definition): what the rollup is held to."""
    return {k.key: k.compute(scope) for k in KPIS if keys is None or k.key in keys}


# --- Trend and ranking ----------------------------------------------------------------------------------

MAX_TREND_DAYS = 62


@dbrouter.reads_replica
def trend(kpi: Kpi, scope: Scope) -> list[tuple[date, Value]]:
    """The measure day by day over the scope's period (at most MAX_TREND_DAYS days: the last ones); one
    query grouped by day."""
    days = (scope.last - scope.first).days + 1
    first = scope.first + timedelta(days=max(0, days - MAX_TREND_DAYS))
    by_day = rollups.sums(scope.org.path, first, scope.last, scope.category, group="day")
    return [
        (d, _figure(kpi, by_day.get(d, rollups.EMPTY), scope.shifted(d, d)))
        for d in (first + timedelta(days=n) for n in range((scope.last - first).days + 1))
    ]


@dbrouter.reads_replica
def ranking(kpi: Kpi, scope: Scope) -> list[tuple[Org, Value]]:
    """The measure for each org right under the scope's org (the stations of a county, the counties of a
    city), best first by the measure's direction; orgs with nothing to measure last. One query grouped by
    the child's path."""
    children = list(Org.objects.filter(path__startswith=scope.org.path, depth=scope.org.depth + 1, kind="police"))
    by_child = rollups.sums(scope.org.path, scope.first, scope.last, scope.category, group="child")
    raw = _raw_by_child([kpi], scope).get(kpi.key)
    rows = [
        (
            org,
            raw.get(org.path, rate(0, 0))
            if raw is not None
            else _figure(
                kpi, by_child.get(org.path, rollups.EMPTY), Scope(org, scope.first, scope.last, scope.category)
            ),
        )
        for org in children
    ]
    sign = -1 if kpi.better == "higher" else 1
    return sorted(rows, key=lambda r: (r[1].value is None, sign * (r[1].value or 0), r[0].path))


@dbrouter.reads_replica
def rankings(scope: Scope) -> tuple[dict[str, Value], dict[Org, dict[str, Value]]]:
    """Every figure of the scope and of each org right under it, from one query: what a month over a city
    takes (bench/kpis.py)."""
    children = list(Org.objects.filter(path__startswith=scope.org.path, depth=scope.org.depth + 1, kind="police"))
    by_child = rollups.sums(scope.org.path, scope.first, scope.last, scope.category, group="child")
    whole = by_child[None]
    raw = _raw_by_child(KPIS, scope)
    return (
        {k.key: _figure(k, whole, scope) for k in KPIS},
        {
            org: {
                k.key: raw[k.key].get(org.path, rate(0, 0))
                if k.key in raw
                else _figure(k, by_child.get(org.path, rollups.EMPTY), Scope(org, scope.first, scope.last))
                for k in KPIS
            }
            for org in children
        },
    )


# --- The rows that count against a figure (drill-down to what went wrong) ---------------------------------
#
# For a rate where higher is better, the rows of the denominator that are not in the numerator (the orders
# signed late or not at all); where lower is better, the numerator's rows (the overdue feedback, the repeats).
# Time and count measures have none: every row is the figure.


def _late(qs: QuerySet[Any], took: tuple[str, str], limit_s: int) -> QuerySet[Any]:
    # Also the rows with no time yet (never signed, never on scene).
    return qs.annotate(took=_span(*took)).filter(Q(took__gt=limit_s) | Q(took__isnull=True))


def _late_in_ring(ring: int) -> Callable[[Scope], QuerySet[DispatchOrder]]:
    return lambda s: _late(_ring_orders(s, ring), ("arrived_at", "signed_at"), ring * 60)


def _feedback_missed(s: Scope) -> QuerySet[Incident]:
    late = _feedback_clocks(s).exclude(met_at__isnull=False, met_at__lte=F("due_at"))
    return incidents(s).filter(pk__in=late.values("subject_id"))


MISSED: dict[str, Callable[[Scope], QuerySet[Any]]] = {
    "sign_30s_rate": lambda s: _late(_sign_counted(s), ("signed_at", "sent_at"), SIGN_LIMIT_S),
    **{f"arrive_ring{r}_rate": _late_in_ring(r) for r in (1, 3, 5)},
    "feedback_on_time_rate": _feedback_missed,
    "callback_coverage_rate": lambda s: closed_incidents(s).filter(callback__isnull=True),
    "satisfaction_rate": lambda s: closed_incidents(s).filter(callback__isnull=False).exclude(
        callback__satisfaction__in=SATISFIED
    ),
    "diversion_accepted_rate": lambda s: diversions(s).filter(accepted_at__isnull=True),
    "diversion_finished_on_time_rate": lambda s: diversions(s).filter(
        pk__in=_finish_clocks(s).exclude(met_at__isnull=False, met_at__lte=F("due_at")).values("subject_id")
    ),
    "clusters_governed_rate": lambda s: clusters(s).exclude(status__in=CLUSTER_HANDLED),
    "clusters_struck_off_rate": lambda s: clusters(s).exclude(status=RepeatCluster.Status.STRUCK_OFF),
    "task_signed_on_time_rate": lambda s: _tasks_due(s, "signed_at", "sign_due_at").exclude(
        signed_at__isnull=False, signed_at__lte=F("sign_due_at")
    ),
    "task_reported_on_time_rate": lambda s: _tasks_due(s, "reported_at", "report_due_at").exclude(
        reported_at__isnull=False, reported_at__lte=F("report_due_at")
    ),
    **{k.key: k.rows for k in KPIS if k.unit == "rate" and k.better == "lower"},
}  # fmt: skip


def missed(kpi: Kpi, scope: Scope) -> QuerySet[Any] | None:
    """The rows behind `kpi` that count against it, or None when the measure has no such rows."""
    fn = MISSED.get(kpi.key)
    return fn(scope) if fn is not None else None


# --- Breakdowns: a measure per partner (diversions), per kind and theme (the repeat ledger) ---------------


def by_partner(kpi: Kpi, scope: Scope) -> list[tuple[Org, Value]]:
    """A diversions' measure for each partner the scope's diversions went to, best first."""
    partners = Org.objects.filter(pk__in=diversions(scope).values("partner_id")).order_by("path")
    rows = [(p, kpi.compute(Scope(scope.org, scope.first, scope.last, scope.category, p))) for p in partners]
    sign = -1 if kpi.better == "higher" else 1
    return sorted(rows, key=lambda r: (r[1].value is None, sign * (r[1].value or 0), r[0].path))


def cluster_breakdown(kpi: Kpi, scope: Scope, by: str) -> list[tuple[str, str, Value]]:
    """A repeat-ledger measure for each kind or theme of cluster (`by`): (code, name, value), most first."""
    names = dict({"kind": RepeatCluster.Kind.choices, "theme": RepeatCluster.Theme.choices}[by])
    qs = kpi.rows(scope)
    out = []
    for code in qs.values_list(by, flat=True).distinct():
        sub = qs.filter(**{by: code})
        ok = MISSED[kpi.key](scope).filter(**{by: code}).count()
        n = sub.count()
        out.append((code, str(names.get(code, code)), rate(n - ok, n)))
    return sorted(out, key=lambda r: (-r[2].denominator, r[0]))


def breakdowns(kpi: Kpi) -> list[str]:
    """What a measure breaks down by besides the orgs: partner (diversions), kind and theme (the ledger)."""
    if kpi.group == "diversions":
        return ["partner"]
    return list(kpi.extra.get("breakdown", []))
