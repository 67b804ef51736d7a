"""Reads of the loop that are more than a filter. Every query that returns analyses, directives, tasks or
files goes through `orgs.restrict`.

Who sees what:
- an analysis: its org's subtree;
- a directive: the issuing org's subtree, and every org with one of its tasks in its subtree (a county sees
  the city's directive to its stations);
- a task: its org's subtree, and the subtree of the org that issued any directive it carries;
- a file: whoever sees the directive or the task (through the report) it belongs to;
- a directive's progress, counts and closure report: the lines of the tasks the reader sees (a station
  given a directive with others sees its own line, not theirs).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import Q, QuerySet
from django.urls import reverse

from command_center import clocks, orgs
from command_center.models import Org
from sentiment.models import Event as SentimentEvent
from sentiment.models import Post as SentimentPost
from sentiment.models import Warning as SentimentWarning

from .models import OPEN_TASK_STATES, Analysis, Attachment, Directive, Hotspot, Task, TaskDirective
from .payloads import task_payload
from .transitions import RECIPIENT_ROLES

TASK_CLOCK_PREFIX = "intel.task."  # the loop's clocks of a task; a task's "overdue" lists only these


def visible_analyses(user: Any) -> QuerySet[Analysis]:
    return orgs.restrict(Analysis.objects.all(), user)


# --- 网情 sources of analyses, both ways ------------------------------------------------------------------


# The 网情 pages (sentiment/page_urls.py): an event's and a post's own page; a warning shows on the monitor.
SENTIMENT_PAGES = {
    "warning": "/sentiment/?warning={}",
    "event": "/sentiment/events/{}/",
    "post": "/sentiment/posts/{}/",
}


def _sentiment_page(model: str, pk: int) -> str:
    return SENTIMENT_PAGES[model].format(pk) if model in SENTIMENT_PAGES else ""


def analysis_source(a: Analysis) -> dict[str, Any] | None:
    """What the analysis was opened from, as its reader reads it: a 网情 warning, event or post, or a kept
    hotspot (its page is the map asked again for it)."""
    if a.source_type_id is None or a.source_id is None:
        return None
    ct = ContentType.objects.get_for_id(a.source_type_id)
    if (ct.app_label, ct.model) == ("intel", "hotspot"):
        h = Hotspot.objects.select_related("org").filter(pk=a.source_id).first()
        title = ""
        if h is not None:
            where = h.org.name if h.org else f"{h.cell}"
            title = f"{where} · {h.start:%Y-%m-%d} · {h.count}"
        return {
            "kind": "intel.hotspot",
            "id": a.source_id,
            "title": title,
            "url": reverse("intel:hotspots") + f"?hotspot={a.source_id}",
        }
    if ct.app_label != "sentiment":
        return {"kind": f"{ct.app_label}.{ct.model}", "id": a.source_id, "title": "", "url": ""}
    row = ct.model_class()._default_manager.filter(pk=a.source_id).first()  # type: ignore[union-attr]
    title = ""
    if isinstance(row, SentimentWarning):
        title = row.reason
    elif isinstance(row, SentimentEvent):
        title = row.title
    elif isinstance(row, SentimentPost):
        title = row.text[:80]
    return {
        "kind": f"sentiment.{ct.model}",
        "id": a.source_id,
        "title": title,
        "url": _sentiment_page(ct.model, a.source_id),
    }


def _analyses_from(model: type[Any]) -> Any:
    """links.provide: the analyses (of the reader's area) opened from rows of `model`, by row id."""

    def provider(ids: list[int], user: Any) -> dict[int, list[dict[str, Any]]]:
        ct = ContentType.objects.get_for_model(model)
        out: dict[int, list[dict[str, Any]]] = {}
        rows = visible_analyses(user).filter(source_type=ct, source_id__in=ids).order_by("created_at")
        for a in rows.values("pk", "title", "state", "source_id"):
            out.setdefault(int(a["source_id"] or 0), []).append(
                {
                    "kind": "intel.analysis",
                    "id": a["pk"],
                    "title": a["title"],
                    "state": a["state"],
                    "url": reverse("intel:workspace") + f"?analysis={a['pk']}",
                }
            )
        return out

    return provider


analyses_from_warnings = _analyses_from(SentimentWarning)
analyses_from_events = _analyses_from(SentimentEvent)
analyses_from_posts = _analyses_from(SentimentPost)


def visible_directives(user: Any) -> QuerySet[Directive]:
    issued = orgs.restrict(Directive.objects.all(), user, org_field="issuer_org")
    received = orgs.restrict(TaskDirective.objects.all(), user).values("directive_id")
    return issued | Directive.objects.filter(pk__in=received)


def visible_tasks(user: Any) -> QuerySet[Task]:
    own = orgs.restrict(Task.objects.all(), user)
    issued = orgs.restrict(TaskDirective.objects.all(), user, org_field="directive__issuer_org").values("task_id")
    return own | Task.objects.filter(pk__in=issued)


def visible_attachments(user: Any) -> QuerySet[Attachment]:
    return Attachment.objects.filter(
        Q(directive__in=visible_directives(user).values("pk")) | Q(report__task__in=visible_tasks(user).values("pk"))
    )


def seen_by(qs: QuerySet[TaskDirective], user: Any) -> QuerySet[TaskDirective]:
    """The recipients' lines of a directive whose task `user` sees (None: the system, every line). A directive
    to two stations is each station's to read, but neither sees the other's task: its state, its report."""
    return qs if user is None else qs.filter(task__in=visible_tasks(user).values("pk"))


def directive_progress(d: Directive, user: Any) -> list[dict[str, Any]]:
    """Per recipient whose task `user` sees: its task, the task's state and times, returns and broken clocks
    (recipient order)."""
    carried = list(
        seen_by(TaskDirective.objects.filter(directive=d), user)
        .select_related("task", "org")
        .order_by("org__path", "id")
    )
    late = clocks.overdue(Task, [td.task_id for td in carried], prefix=TASK_CLOCK_PREFIX)
    rows = []
    for td in carried:
        t = td.task
        rows.append(
            {
                "org": td.org_id,
                "org_name": td.org.name,
                "task": t.pk,
                "state": t.state,
                "version": t.version,
                "merged": td.merged,
                "withdrawn": td.withdrawn_at is not None,
                "issued_at": td.added_at,
                "sign_due_at": t.sign_due_at,
                "signed_at": t.signed_at,
                "report_due_at": t.report_due_at,
                "reported_at": t.reported_at,
                "approved_at": td.approved_at,
                "rework_count": t.rework_count,
                "overdue": sorted(late.get(t.pk, [])),
            }
        )
    return rows


def progress_counts(directive_ids: list[int], user: Any) -> dict[int, dict[str, int]]:
    """{directive id: {task state: how many}} of the tasks `user` sees, for a page of directives (one query)."""
    counts: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    carried = TaskDirective.objects.filter(directive_id__in=directive_ids, withdrawn_at__isnull=True)
    rows = seen_by(carried, user).values_list("directive_id", "task__state", "approved_at")
    for directive_id, state, approved_at in rows:
        counts[directive_id]["approved" if approved_at else state] += 1
    return {k: dict(v) for k, v in counts.items()}


# --- The station inbox (派出所接收岗) ---------------------------------------------------------------------

MAX_INBOX_TASKS = 200


def inbox_tasks(user: Any, *, now: datetime | None = None) -> list[dict[str, Any]]:
    """The `tasks` of the station inbox (GET /api/board/inbox/, contributed through command_center.screens):
    the tasks addressed to the caller's org and below it — never those it merely issued — that are open, or
    closed (approved, withdrawn) today; newest first. Each row is the push payload (payloads.task_payload,
    so pushes merge into it) plus what the station needs to act: the checklist (`actions`), the reviewer's
    last reason, the directives it carries with their content and files (`carried`), the broken clocks not
    yet met (`overdue`), and `can_act` — whether the caller may sign, start and report it (the recipient's own
    officers only)."""
    from django.utils import timezone

    local = timezone.localtime(now or timezone.now())
    since = local.replace(hour=0, minute=0, second=0, microsecond=0)
    person = orgs.person_of(user)
    qs = (
        orgs.restrict(Task.objects.all(), user)
        .filter(Q(state__in=OPEN_TASK_STATES) | Q(approved_at__gte=since) | Q(withdrawn_at__gte=since))
        .select_related("org", "assignee__user")
        .order_by("-issued_at", "-id")
    )
    tasks = list(qs[:MAX_INBOX_TASKS])
    ids = [t.pk for t in tasks]
    carried: dict[int, list[TaskDirective]] = defaultdict(list)
    for td in (
        TaskDirective.objects.filter(task_id__in=ids, withdrawn_at__isnull=True)
        .select_related("directive__issuer_org")
        .prefetch_related("directive__attachments")
        .order_by("directive_id")
    ):
        carried[td.task_id].append(td)
    late = clocks.overdue(Task, ids, prefix=TASK_CLOCK_PREFIX)
    may_act = person is not None and person.has_role(*RECIPIENT_ROLES)
    rows = []
    for t in tasks:
        tds = carried.get(t.pk, [])
        row = task_payload(t, [td.directive_id for td in tds])
        row.update(
            {
                "actions": list(t.actions),
                "last_return_reason": t.last_return_reason,
                "carried": [
                    {
                        "id": td.directive_id,
                        "title": td.directive.title,
                        "content": td.directive.content,
                        "colour": td.directive.colour,
                        "issuer_org_name": td.directive.issuer_org.name,
                        "issued_at": td.directive.issued_at,
                        "attachments": [
                            {"id": a.pk, "name": a.name, "size": a.size, "url": f"/api/attachments/{a.pk}/"}
                            for a in td.directive.attachments.all()
                        ],
                    }
                    for td in tds
                ],
                "overdue": sorted(late.get(t.pk, [])),
                "can_act": bool(may_act and person is not None and person.org_id == t.org_id),
            }
        )
        rows.append(row)
    return rows


def incidents_tasked_to(org: Org) -> QuerySet[Any]:
    """The incidents (ids) a directive to `org` is about (a rectification), while its task is not withdrawn:
    the org may read them (orgs.add_reach)."""
    return (
        TaskDirective.objects.filter(org=org, directive__incident__isnull=False)
        .exclude(task__state=Task.State.WITHDRAWN)
        .values("directive__incident_id")
    )


def describe_tasks(ids: list[int]) -> dict[int, dict[str, Any]]:
    """A loop task as a supervisor reads it in a list (words.provide_subject): its title, its recipient and
    the page of the (first) directive it carries."""
    first: dict[int, int] = {}
    for task_id, directive_id in (
        TaskDirective.objects.filter(task_id__in=ids).order_by("pk").values_list("task_id", "directive_id")
    ):
        first.setdefault(task_id, directive_id)
    return {
        pk: {
            "title": title,
            "detail": "",
            "org_name": org,
            "url": reverse("intel:directive", args=[first[pk]]) if pk in first else "",
        }
        for pk, title, org in Task.objects.filter(pk__in=ids).values_list("pk", "title", "org__name")
    }
