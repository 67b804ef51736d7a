"""Reads of supervision: the reminders inbox, 督办 orders, the watch list, the review queue and the overdue
list. Everything is scoped through `orgs.restrict` (directly, or through the loop's visible tasks, which
use it): a reminder or an order is seen by whoever sees its task; a watch by its board's subtree."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from command_center import clocks, orgs, words
from command_center.models import Deadline, Org
from incidents.models import Incident, State
from incidents.selectors import visible_incidents
from incidents.transitions import OPEN_STATES
from intel.models import OPEN_TASK_STATES, Directive, Task
from intel.selectors import visible_tasks

from . import kpis
from .models import FeedbackReview, Reminder, SupervisionOrder, Watch
from .payloads import WatchSerializer, reminder_payload


def visible_reminders(user: Any) -> QuerySet[Reminder]:
    """Reminders about tasks or incidents the caller sees."""
    return Reminder.objects.filter(
        Q(task__in=visible_tasks(user).values("pk")) | Q(incident__in=visible_incidents(user).values("pk"))
    )


def visible_orders(user: Any) -> QuerySet[SupervisionOrder]:
    """督办 orders on tasks or incidents the caller sees."""
    return SupervisionOrder.objects.filter(
        Q(task__in=visible_tasks(user).values("pk")) | Q(incident__in=visible_incidents(user).values("pk"))
    )


# A reminder or a 督办 stays on the screens while its subject is still open.
SUBJECT_OPEN = Q(task__state__in=OPEN_TASK_STATES) | Q(incident__state__in=OPEN_STATES)
# A reminder about a returned feedback's rectification (feedback_review.py's rework clocks) stays in the
# station's inbox while the rectification is owed, whatever the incident's state: feedback is reviewed after
# the incident closed.
REWORK_OWED = Q(deadline__kind__startswith="supervision.feedback.") & clocks.unmet_q("deadline")


def _subject_title(row: Reminder | SupervisionOrder) -> str:
    if row.task is not None:
        return row.task.title
    assert row.incident is not None
    return f"{row.incident.number} {row.incident.address}"


def visible_watches(user: Any) -> QuerySet[Watch]:
    return orgs.restrict(Watch.objects.all(), user, org_field="by_org")


def open_watches(qs: QuerySet[Watch]) -> QuerySet[Watch]:
    """Watches still running whose subject is still open: what a board shows."""
    return (
        qs.filter(ended_at__isnull=True)
        .exclude(task__state__in=_closed_task_states())
        .exclude(incident__state__in=[s for s in State.values if s not in OPEN_STATES])
    )


def _closed_task_states() -> list[str]:
    return [s for s in Task.State.values if s not in OPEN_TASK_STATES]


def review_tasks(user: Any) -> QuerySet[Task]:
    """Reported tasks awaiting a decision, oldest report first."""
    return visible_tasks(user).filter(state=Task.State.REPORTED).order_by("reported_at", "id")


def review_incidents(user: Any) -> QuerySet[Incident]:
    """Closed incidents marked for rectification (a dissatisfied callback), newest first; see
    `rectification_states` for the loop's answer to each."""
    return (
        visible_incidents(user)
        .filter(state=State.CLOSED, needs_rectification=True)
        .select_related("org", "category")
        .order_by("-closed_at", "-id")
    )


def rectification_states(incident_ids: list[int]) -> dict[int, dict[str, Any]]:
    rows = Directive.objects.filter(incident_id__in=incident_ids, source=Directive.Source.RECTIFICATION).values_list(
        "incident_id", "pk", "state"
    )
    return {incident_id: {"directive": pk, "state": state} for incident_id, pk, state in rows}


def overdue_deadlines(user: Any) -> QuerySet[Deadline]:
    """Clocks of every kind in the caller's area that broke and are not yet met or cancelled."""
    return orgs.restrict(clocks.unmet().breached(), user)


def in_scope_deadline(user: Any, deadline_id: int) -> bool:
    return orgs.restrict(Deadline.objects.filter(pk=deadline_id), user).exists()


def overdue_groups(qs: QuerySet[Deadline]) -> list[dict[str, Any]]:
    """Counts by org and kind, org path order."""
    rows = list(qs.values("org", "kind").annotate(n=Count("id")).order_by("org", "kind"))
    names = dict(Org.objects.filter(pk__in={r["org"] for r in rows}).values_list("pk", "name"))
    paths = dict(Org.objects.filter(pk__in={r["org"] for r in rows}).values_list("pk", "path"))
    registered = clocks.registered()
    out = [
        {
            "org": r["org"],
            "org_name": names.get(r["org"], ""),
            "kind": r["kind"],
            "label": str(registered[r["kind"]].label) if r["kind"] in registered else r["kind"],
            "count": r["n"],
        }
        for r in rows
    ]
    return sorted(out, key=lambda g: (paths.get(g["org"], ""), g["kind"]))


def deadline_subjects(rows: list[Deadline]) -> dict[int, dict[str, Any]]:
    """What each deadline is about, as a person reads it (words.describe: an order's incident number,
    address, unit and page), one query per subject type; `type` and `id` always, "model #id" as the title
    only for a model nobody describes."""
    by_type: dict[int, list[int]] = defaultdict(list)
    for d in rows:
        by_type[d.subject_type_id].append(d.subject_id)
    found: dict[tuple[int, int], dict[str, Any]] = {}
    for type_id, ids in by_type.items():
        ct = ContentType.objects.get_for_id(type_id)
        label = f"{ct.app_label}.{ct.model}"
        described = words.describe(label, ids)
        for pk in ids:
            found[(type_id, pk)] = {"type": label, "id": pk, "title": f"{ct.model} #{pk}", **described.get(pk, {})}
    return {d.pk: found.get((d.subject_type_id, d.subject_id), {}) for d in rows}


# --- What supervision adds to the live screens (command_center.screens, registered in apps.py) ------------

MAX_INBOX_REMINDERS = 50
MAX_BOARD_ALERTS = 60


def inbox_reminders(user: Any, *, now: datetime | None = None) -> list[dict[str, Any]]:
    """The inbox's `reminders`: 催办 and 督办 (level 2) addressed to the caller's org and below it, on tasks
    and incidents still open (or a feedback's rectification still owed), not yet acknowledged or sent today;
    newest first. Each row is the push payload (payloads.reminder_payload) plus `can_ack`: whether the caller
    may acknowledge it (the recipient's own people)."""
    local = timezone.localtime(now or timezone.now())
    since = local.replace(hour=0, minute=0, second=0, microsecond=0)
    person = orgs.person_of(user)
    qs = (
        orgs.restrict(Reminder.objects.all(), user, org_field="recipient")
        .filter(SUBJECT_OPEN | REWORK_OWED)
        .filter(Q(acknowledged_at__isnull=True) | Q(created_at__gte=since))
        .select_related("recipient", "task", "incident", "deadline")
        .order_by("-created_at", "-id")
    )
    rows = []
    for r in qs[:MAX_INBOX_REMINDERS]:
        row = reminder_payload(r)
        row["can_ack"] = person is not None and person.org_id == r.recipient_id
        rows.append(row)
    return rows


def inbox_feedback_returns(user: Any) -> list[dict[str, Any]]:
    """The inbox's `feedback_returns`: the caller's org's feedback a supervisor returned for rectification
    (整改) and not rectified yet, oldest return first — each with the supervisor's note, the rework clock's
    due time and the incident page (at the feedback's panel) where the form is. Reminders about them come
    as `reminders` when the clock breaks."""
    person = orgs.person_of(user)
    if person is None:
        return []
    qs = (
        FeedbackReview.objects.filter(org=person.org, state=FeedbackReview.State.RETURNED)
        .select_related("feedback__incident")
        .order_by("decided_at", "pk")[:MAX_INBOX_REMINDERS]
    )
    rows = list(qs)
    due = dict(
        clocks.unmet()
        .filter(kind="supervision.feedback.rework", subject_id__in=[r.pk for r in rows])
        .filter(subject_type=ContentType.objects.get_for_model(FeedbackReview))
        .values_list("subject_id", "due_at")
    )
    return [
        {
            "id": r.pk,
            "feedback": r.feedback_id,
            "incident": r.feedback.incident_id,
            "incident_number": r.feedback.incident.number,
            "address": r.feedback.incident.address,
            "note": r.note,
            "rounds": r.rounds,
            "returned_at": r.decided_at,
            "due_at": due.get(r.pk),
            "url": reverse("incidents:detail", args=[r.feedback.incident_id]) + f"#feedback-{r.feedback_id}",
            "version": r.version,
        }
        for r in rows
    ]


def board_alerts(user: Any) -> list[dict[str, Any]]:
    """The loop's alerts on the dispatch board's strip: reminders (催办, key `reminder:<id>`) and 督办 orders
    (`supervision:<id>`) on tasks the caller sees, while the task is open and the broken clock they are
    about is not met. Each `covers` its deadline: the board shows it instead of the bare breach. A 督办's own
    level-2 reminder is not shown beside it (the order stands for both)."""
    registered = clocks.registered()

    def label(kind: str) -> str:
        return str(registered[kind].label) if kind in registered else kind

    out: list[dict[str, Any]] = []
    reminders = (
        visible_reminders(user)
        # An incident's 催办 stays off the strip: the breach's own alert there names the order and its unit.
        .filter(clocks.unmet_q("deadline"), SUBJECT_OPEN, level=Reminder.Level.REMINDER, incident__isnull=True)
        .select_related("recipient", "task", "incident", "deadline")
        .order_by("-created_at", "-id")[:MAX_BOARD_ALERTS]
    )
    for r in reminders:
        out.append(
            {
                "key": f"reminder:{r.pk}",
                "kind": "reminder",
                "at": r.created_at,
                "task": r.task_id,
                "clock": r.deadline.kind,
                "label": label(r.deadline.kind),
                "covers": r.deadline_id,
                "incident": None,  # a task's (an incident's 催办 stays off the strip)
                "org_name": r.recipient.name,
                "text": _subject_title(r),
            }
        )
    orders = (
        visible_orders(user)
        .filter(clocks.unmet_q("deadline"), SUBJECT_OPEN)
        .select_related("org", "task", "incident", "deadline", "level")
        .order_by("-created_at", "-id")[:MAX_BOARD_ALERTS]
    )
    for o in orders:
        out.append(
            {
                "key": f"supervision:{o.pk}",
                "kind": "supervision",
                "at": o.created_at,
                "task": o.task_id,
                "clock": o.deadline.kind,
                "label": o.level.local_name,
                "covers": o.deadline_id,
                "incident": {"id": o.incident.pk, "number": o.incident.number} if o.incident else None,
                "org_name": o.org.name,
                "text": _subject_title(o),
            }
        )
    return out


def board_watch(user: Any) -> list[dict[str, Any]]:
    """The board's `watch`: the watch list (盯办) of the caller's area whose subjects are still open, newest
    first, in the shape of GET /api/watch/ (the board fetches that list when a watch is added or ended)."""
    qs = open_watches(visible_watches(user)).select_related("task__org", "incident", "org", "by__person", "by_org")
    return list(WatchSerializer(qs[:MAX_BOARD_ALERTS], many=True).data)


# The big screen's measures for today (the wall, dispatch's 一屏展): the desk's and the stations' speed, the
# feedback, the callers' verdict and the 督办 raised — each the one definition in kpis.py.
WALL_KPIS = [
    "dispatch_mean_s",
    "sign_30s_rate",
    "arrive_ring1_rate",
    "arrive_ring3_rate",
    "arrive_ring5_rate",
    "feedback_on_time_rate",
    "callback_coverage_rate",
    "satisfaction_rate",
    "supervision_orders",
]


def wall_kpis(user: Any) -> list[dict[str, Any]]:
    """Today's measures (Asia/Shanghai) for the caller's area — their org's subtree, a superuser's the top
    org's — each with its numerator and denominator and the measures page that drills it down."""
    person = orgs.person_of(user)
    org = person.org if person is not None else Org.objects.filter(depth=1).order_by("path").first()
    if org is None:
        return []
    today = timezone.localdate()
    values = kpis.compute(kpis.Scope(org, today, today), WALL_KPIS)
    page = reverse("supervision:measures")
    out = []
    for key in WALL_KPIS:
        k, v = kpis.BY_KEY[key], values[key]
        out.append(
            {
                "key": key,
                "label": str(k.label),
                "unit": k.unit,
                "better": k.better,
                "value": v.value,
                "numerator": v.numerator,
                "denominator": v.denominator,
                "url": f"{page}?org={org.pk}&period=day&date={today.isoformat()}&kpi={key}",
            }
        )
    return out
