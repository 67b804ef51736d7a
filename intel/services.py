"""Every write of the loop 研交办督结: analyses, directives, tasks and their reports.

Each service: check role and scope, lock the rows, check the transition table, write the state with its log
row, bump the version (the kernel's step: command_center/transitions.py), start/meet/cancel clocks, queue
pushes for after commit — in one transaction.

Lock order, the same everywhere so two services never wait on each other in a circle: tasks (by id) →
directives (by id) → a repeat cluster. `task_approve` locks its task, then the directives it carries (and the
cluster of one that closes); `directive_withdraw` locks the directive's tasks, then the directive, then its
cluster; issuing locks the open tasks a new directive merges into (by id). Governing a cluster locks the
cluster first, but then only creates rows (no open task of a cluster's subject exists while it is open).
No service locks an org row (every FOR UPDATE names `of=("self",)`), and the locks are FOR NO KEY UPDATE
(`no_key=True`): they order the writers of a task among themselves, yet let rows that merely point at it be
inserted meanwhile — the sweep writing a reminder for a task a supervisor is approving must not wait for
that approval while the approval waits for the sweep's deadline row.

Clocks (kinds registered in apps.py): `intel.task.sign` and `intel.task.report` start when a task is issued
(lengths by the directive's colour, settings.DIRECTIVE_CLOCKS, or the directive's own); signing meets the
first, reporting the second; a return starts a new report clock for the rework. `intel.task.escalate` is
started by supervision after a reminder (催办) and met here as soon as the station acts (sign, start, report;
late when it had broken and raised a 督办). Approval and withdrawal cancel whatever still runs, and close a
clock that broke and was never met (its breach stays recorded), so the open-breach lists let it go. A breach
pushes `task.overdue`; supervision adds reminders and 督办.

Pushes go to the task's org and to the issuing org of every directive it carries (each group once):
`task.issued|merged|signed|started|reported|approved|returned|withdrawn|updated|overdue`, and
`directive.issued|closed|withdrawn` to the issuer and the recipients. Each carries a `version`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from command_center import clocks, memo, orgs, realtime, transitions
from command_center.audit import acting_user, log_transition
from command_center.errors import Refused
from command_center.models import Deadline, Org, Person, Role
from command_center.transitions import InvalidTransition
from incidents import hooks as incident_hooks
from incidents.models import Callback, Incident, RepeatCluster
from sentiment import services as sentiment_services
from sentiment.models import Warning as SentimentWarning

from . import files as loop_files
from .models import (
    COLOUR_RANK,
    OPEN_TASK_STATES,
    Analysis,
    ClosureReport,
    Colour,
    Directive,
    Task,
    TaskDirective,
    TaskReport,
)
from .payloads import analysis_payload, directive_payload, task_payload
from .reports import closure_data
from .transitions import (
    ANALYSIS,
    DIRECTIVE,
    PEOPLE_EVENTS,
    RECIPIENT_ROLES,
    REVIEW_ROLES,
    TASK,
    Event,
    next_analysis_state,
)

log = logging.getLogger(__name__)

# Who may do what.
ANALYSIS_ROLES = [Role.ANALYST, Role.COMMANDER]
ISSUE_ROLES = [Role.ANALYST, Role.COMMANDER, Role.DUTY_OFFICER]  # issue, withdraw, govern a cluster

CLOCK_SIGN = "intel.task.sign"
CLOCK_REPORT = "intel.task.report"
CLOCK_ESCALATE = "intel.task.escalate"
TASK_CLOCKS = {
    CLOCK_SIGN: gettext_lazy("Sign the directive"),
    CLOCK_REPORT: gettext_lazy("Report on the directive"),
    CLOCK_ESCALATE: gettext_lazy("Act after a reminder"),
}

MAX_ACTIONS = 50
MAX_RECIPIENTS = 500


def register_clocks() -> None:
    for name, label in TASK_CLOCKS.items():
        clocks.register(name, label=label, on_breach=on_task_clock_breach)


def clock_lengths(colour: str) -> tuple[int, int]:
    """(sign_s, report_s) for a colour: settings.DIRECTIVE_CLOCKS."""
    row = settings.DIRECTIVE_CLOCKS[colour]
    return int(row["sign_s"]), int(row["report_s"])


# --- Pushes ---------------------------------------------------------------------------------------------


def _org(pk: int) -> Org:
    """An org row from the per-process memory (command_center/memo.py: cleared when any org is saved)."""
    return memo.remember(("intel.org", pk), lambda: Org.objects.get(pk=pk))


def issuer_orgs(task: Task) -> list[Org]:
    """The orgs that issued the directives a task carries (their boards follow the task)."""
    ids = TaskDirective.objects.filter(task=task).values_list("directive__issuer_org_id", flat=True).distinct()
    return [_org(pk) for pk in sorted(ids)]


def _task_changed(t: Task, event: str) -> None:
    realtime.broadcast_on_commit(t.org, f"task.{event}", task_payload(t), also=issuer_orgs(t))


def _directive_changed(d: Directive, event: str) -> None:
    recipients = list(d.recipients.all().order_by("pk"))
    realtime.broadcast_on_commit(
        d.issuer_org, f"directive.{event}", directive_payload(d, [r.pk for r in recipients]), also=recipients
    )


@dataclass
class BreachContext:
    """What every handler of one task clock's breach needs, read once per breach (two queries)."""

    task: Task
    directive_ids: list[int]  # the directives it still carries
    boards: list[Org]  # the orgs that issued them


def breach_context(deadline: Deadline) -> BreachContext | None:
    """The broken clock's task with its directives and boards, or None (gone). The loop's handler returns
    it, and the sweep hands it to the breach's listeners (`clocks.Breach.facts`): read once per breach."""
    t = Task.objects.select_related("org").filter(pk=deadline.subject_id).first()
    if t is None:
        return None
    rows = TaskDirective.objects.filter(task=t).values_list("directive_id", "directive__issuer_org_id", "withdrawn_at")
    return BreachContext(
        task=t,
        directive_ids=sorted(d for d, _org_id, withdrawn in rows if withdrawn is None),
        boards=[_org(pk) for pk in sorted({org_id for _d, org_id, _w in rows})],
    )


def on_task_clock_breach(deadline: Deadline) -> BreachContext | None:
    """A task clock broke: tell the station and the issuers' boards which task (the sweep's own
    `deadlines.breached` names only the deadline). Returns what it read, for the breach's listeners:
    supervision adds reminders and 督办 (its apps.py)."""
    ctx = breach_context(deadline)
    if ctx is None:
        return None
    realtime.broadcast_on_commit(
        ctx.task.org,
        "task.overdue",
        {
            "clock": deadline.kind,
            "label": str(TASK_CLOCKS.get(deadline.kind, deadline.kind)),
            "deadline": deadline.pk,
            "due_at": deadline.due_at,
            "breached_at": deadline.breached_at,
            "task": task_payload(ctx.task, ctx.directive_ids),
        },
        also=ctx.boards,
    )
    return ctx


# --- 研 Analyses ----------------------------------------------------------------------------------------


def _home(actor: Any, field: str) -> Org:
    """The org an actor works for; a superuser without a profile cannot write for an org."""
    person = orgs.person_of(actor)
    if person is None:
        if getattr(actor, "is_superuser", False):
            raise Refused(field, _("Act as a person of an organisation (your user has no profile)."))
        raise PermissionDenied(_("Your role does not allow this action."))
    return person.org


def _visible(actor: Any, qs: models.QuerySet[Any], ids: Iterable[int], field: str) -> list[Any]:
    """Rows of `qs` with these ids in the actor's area, or 400 on `field` naming the missing ones."""
    wanted = sorted(set(ids))
    found = list(orgs.restrict(qs, actor).filter(pk__in=wanted))
    missing = sorted(set(wanted) - {x.pk for x in found})
    if missing:
        raise Refused(field, _("Not found in your area: %(ids)s") % {"ids": ", ".join(map(str, missing))})
    return found


@transaction.atomic
def analysis_create(
    *,
    actor: Any,
    title: str,
    body: str = "",
    incident_ids: Iterable[int] = (),
    cluster_ids: Iterable[int] = (),
    source: models.Model | None = None,
    post_ids: Iterable[int] = (),
) -> Analysis:
    """研判: a draft judgement of the actor's org, linked to incidents, clusters, 网情 posts or another source
    row (a 网情 warning becomes `analysed`)."""
    org = _home(actor, "title")
    orgs.require(actor, org, roles=ANALYSIS_ROLES)
    if not title.strip():
        raise Refused("title", _("Give the analysis a title."))
    incidents = _visible(actor, Incident.objects.all(), incident_ids, "incidents")
    clusters = _visible(actor, RepeatCluster.objects.all(), cluster_ids, "clusters")
    a = Analysis.objects.create(
        author=actor,
        org=org,
        title=title.strip(),
        body=body,
        source_type=ContentType.objects.get_for_model(source) if source is not None else None,
        source_id=source.pk if source is not None else None,
    )
    a.incidents.set(incidents)
    a.clusters.set(clusters)
    a.posts.set(list(post_ids))
    if isinstance(source, SentimentWarning):
        sentiment_services.mark_analysed(source)
    log_transition(a, from_state="", to_state=a.state, event="create", actor=acting_user(actor))
    realtime.broadcast_on_commit(a.org, "analysis.created", analysis_payload(a))
    return a


@transaction.atomic
def analysis_update(
    *,
    analysis_id: int,
    actor: Any,
    title: str | None = None,
    body: str | None = None,
    incident_ids: Iterable[int] | None = None,
    cluster_ids: Iterable[int] | None = None,
) -> Analysis:
    """Edit a draft (a published analysis is what directives were issued from: 409)."""
    a = transitions.lock(Analysis, analysis_id, related=["org"], no_key=True)
    orgs.require(actor, a.org, roles=ANALYSIS_ROLES)
    next_analysis_state(a.state, Event.EDIT)
    if title is not None:
        if not title.strip():
            raise Refused("title", _("Give the analysis a title."))
        a.title = title.strip()
    if body is not None:
        a.body = body
    if incident_ids is not None:
        a.incidents.set(_visible(actor, Incident.objects.all(), incident_ids, "incidents"))
    if cluster_ids is not None:
        a.clusters.set(_visible(actor, RepeatCluster.objects.all(), cluster_ids, "clusters"))
    a.version += 1
    a.save(update_fields=["title", "body", "version"])
    realtime.broadcast_on_commit(a.org, "analysis.updated", analysis_payload(a))
    return a


@transaction.atomic
def analysis_publish(*, analysis_id: int, actor: Any) -> Analysis:
    a = transitions.lock(Analysis, analysis_id, related=["org"], no_key=True)
    orgs.require(actor, a.org, roles=ANALYSIS_ROLES)
    transitions.apply(a, ANALYSIS, Event.PUBLISH, actor)
    a.published_at = timezone.now()
    transitions.save(a, "published_at")
    realtime.broadcast_on_commit(a.org, "analysis.published", analysis_payload(a))
    return a


# --- 交 Directives --------------------------------------------------------------------------------------


@dataclass
class DirectiveData:
    title: str
    content: str
    recipients: Sequence[Org]
    colour: str = Colour.YELLOW
    actions: Sequence[str] = ()
    subject: str = ""
    source: str = Directive.Source.MANUAL
    sign_within_s: int | None = None
    report_within_s: int | None = None
    analysis: Analysis | None = None
    incident: Incident | None = None
    cluster: RepeatCluster | None = None
    files: Sequence[UploadedFile] = field(default_factory=list)


def _clean_actions(actions: Iterable[str]) -> list[str]:
    cleaned: list[str] = []
    for a in actions:
        text = " ".join(str(a).split())
        if text and text not in cleaned:
            if len(text) > 200:
                raise Refused("actions", _("An action has at most 200 characters."))
            cleaned.append(text)
    if len(cleaned) > MAX_ACTIONS:
        raise Refused("actions", _("At most %(n)d actions.") % {"n": MAX_ACTIONS})
    return cleaned


def directive_issue(*, actor: Any, data: DirectiveData) -> Directive:
    """交: issue a directive from the actor's org to recipients in its area (see `_issue`)."""
    org = _home(actor, "recipients")
    orgs.require(actor, org, roles=ISSUE_ROLES)
    if data.analysis is not None and data.analysis.state != Analysis.State.PUBLISHED:
        raise Refused("analysis", _("Publish the analysis before issuing directives from it."))
    return _issue(actor=actor, issuer_org=org, data=data)


def directive_issue_for(*, actor: Any, issuer_org: Org, data: DirectiveData) -> Directive:
    """交 on behalf of an org by a path that checked its own rights: a published bulletin (supervision)
    tells the orgs it covers to sign for it. The recipients must still lie in `issuer_org`'s area."""
    return _issue(actor=actor, issuer_org=issuer_org, data=data)


@transaction.atomic
def _issue(*, actor: Any, issuer_org: Org, data: DirectiveData) -> Directive:
    """Steps:
    1. Check the input (recipients inside the issuer's area, clocks, actions, files) before any write.
    2. Store the directive, its recipients, its log row and its files.
    3. For each recipient (by id): with a subject, lock the org's open task of that subject and merge into it
       (准入/整合); otherwise create a task with its sign and report clocks. Two issues of one subject at once:
       the partial unique index makes the second insert wait for the first, fail, and merge instead.
    4. Push the directive and every task after commit.
    """
    title, content = data.title.strip(), data.content.strip()
    if not title:
        raise Refused("title", _("Give the directive a title."))
    if not content:
        raise Refused("content", _("Say what is to be done."))
    if data.colour not in Colour.values:
        raise Refused("colour", _("Choose red, yellow or blue."))
    recipients = sorted({r.pk: r for r in data.recipients}.values(), key=lambda r: r.pk)
    if not recipients:
        raise Refused("recipients", _("Name at least one recipient."))
    if len(recipients) > MAX_RECIPIENTS:
        raise Refused("recipients", _("At most %(n)d recipients.") % {"n": MAX_RECIPIENTS})
    outside = [r.name for r in recipients if not issuer_org.contains(r)]
    if outside:
        raise Refused("recipients", _("Outside your area: %(names)s") % {"names": "、".join(outside)})
    actions = _clean_actions(data.actions)
    default_sign, default_report = clock_lengths(data.colour)
    sign_s = data.sign_within_s or default_sign
    report_s = data.report_within_s or default_report
    if report_s < sign_s:
        raise Refused("report_within_s", _("The report cannot be due before the signature."))
    subject = data.subject.strip()
    checked = loop_files.check_uploads(data.files)
    source = Directive.Source.ANALYSIS if data.analysis is not None else data.source

    now = timezone.now()
    d = Directive.objects.create(
        title=title,
        content=content,
        actions=actions,
        colour=data.colour,
        source=source,
        subject=subject,
        analysis=data.analysis,
        incident=data.incident,
        cluster=data.cluster,
        issuer=acting_user(actor),
        issuer_org=issuer_org,
        sign_within_s=sign_s,
        report_within_s=report_s,
        issued_at=now,
    )
    d.recipients.set(recipients)
    log_transition(d, from_state="", to_state=d.state, event=Event.ISSUE, actor=acting_user(actor))
    loop_files.store(checked, actor=actor, directive=d)

    tasks: list[tuple[Task, str]] = []
    open_tasks: dict[int, Task] = {}
    if subject:
        # FOR UPDATE re-checks the state after waiting: a task approved meanwhile is not merged into.
        candidates = Task.objects.filter(org__in=recipients, subject=subject, state__in=OPEN_TASK_STATES)
        for found in candidates.select_for_update(of=("self",), no_key=True).select_related("org").order_by("pk"):
            open_tasks[found.org_id] = found
    for r in recipients:
        if r.pk in open_tasks:
            _merge(open_tasks[r.pk], d, actor, now)
            tasks.append((open_tasks[r.pk], "merged"))
            continue
        try:
            with transaction.atomic():
                made = _new_task(r, d, actor, now)
            tasks.append((made, "issued"))
        except IntegrityError:
            # Another directive of this subject made the org's task a moment ago (it committed first).
            other = (
                Task.objects.select_for_update(of=("self",), no_key=True)
                .select_related("org")
                .get(org=r, subject=subject, state__in=OPEN_TASK_STATES)
            )
            _merge(other, d, actor, now)
            tasks.append((other, "merged"))
    _directive_changed(d, "issued")
    for t, event in tasks:
        _task_changed(t, event)
    return d


def _new_task(org: Org, d: Directive, actor: Any, now: datetime) -> Task:
    t = Task.objects.create(
        org=org,
        subject=d.subject,
        title=d.title,
        colour=d.colour,
        actions=list(d.actions),
        issued_at=now,
        sign_due_at=now + timedelta(seconds=d.sign_within_s),
        report_due_at=now + timedelta(seconds=d.report_within_s),
    )
    TaskDirective.objects.create(task=t, directive=d, org=org, added_at=now)
    log_transition(t, from_state="", to_state=t.state, event=Event.ISSUE, actor=acting_user(actor), reason=d.title)
    assert t.sign_due_at is not None and t.report_due_at is not None
    clocks.start(t, CLOCK_SIGN, due=t.sign_due_at, org=org)
    clocks.start(t, CLOCK_REPORT, due=t.report_due_at, org=org)
    return t


def _reschedule(t: Task, kind: str, due: datetime) -> None:
    """Move an open clock earlier (a tighter directive joined): cancel it and start it again."""
    if clocks.open_for(t).filter(kind=kind).exists():
        clocks.cancel(t, kind)
        clocks.start(t, kind, due=due, org=t.org)


def _merge(t: Task, d: Directive, actor: Any, now: datetime) -> None:
    """准入/整合: directive `d` joins the org's open task of the same subject. The task keeps its state;
    its checklist gains the new actions, its colour the more severe one, its clocks the earlier due times."""
    at = timezone.now()  # when it joined: after any wait for the task's lock
    TaskDirective.objects.create(task=t, directive=d, org=t.org, added_at=at, merged=True)
    # Every open state allows a merge (a self-loop): logged, the state stays, the version moves on.
    transitions.apply(t, TASK, Event.MERGE, actor, reason=d.title)
    t.actions = [*t.actions, *[a for a in d.actions if a not in t.actions]]
    if COLOUR_RANK[Colour(d.colour)] < COLOUR_RANK[Colour(t.colour)]:
        t.colour = d.colour
    sign_due = now + timedelta(seconds=d.sign_within_s)
    report_due = now + timedelta(seconds=d.report_within_s)
    if t.state == Task.State.ISSUED and t.sign_due_at and sign_due < t.sign_due_at:
        t.sign_due_at = sign_due
        _reschedule(t, CLOCK_SIGN, sign_due)
    if t.state != Task.State.REPORTED and t.report_due_at and report_due < t.report_due_at:
        t.report_due_at = report_due
        _reschedule(t, CLOCK_REPORT, report_due)
    transitions.save(t, "actions", "colour", "sign_due_at", "report_due_at")


@transaction.atomic
def directive_withdraw(*, directive_id: int, actor: Any, reason: str = "") -> Directive:
    """The issuer calls a directive back. Each of its tasks lets it go; a task left carrying nothing is
    withdrawn (its clocks cancelled). A cluster put into the loop by it goes back to open."""
    brief = Directive.objects.select_related("issuer_org").get(pk=directive_id)
    orgs.require(actor, brief.issuer_org, roles=ISSUE_ROLES)
    task_ids = list(TaskDirective.objects.filter(directive_id=directive_id).values_list("task_id", flat=True))
    tasks = transitions.lock_all(Task, task_ids, related=["org"], no_key=True)
    d = transitions.lock(Directive, directive_id, related=["issuer_org"], no_key=True)
    now = timezone.now()
    transitions.apply(d, DIRECTIVE, Event.WITHDRAW, actor, reason=reason)
    d.withdrawn_at, d.withdraw_reason = now, reason.strip()
    transitions.save(d, "withdrawn_at", "withdraw_reason")
    TaskDirective.objects.filter(directive=d, approved_at__isnull=True).update(withdrawn_at=now)
    for t in tasks:
        if t.state not in OPEN_TASK_STATES:
            continue
        if TaskDirective.objects.filter(task=t, withdrawn_at__isnull=True).exists():
            log_transition(
                t, from_state=t.state, to_state=t.state, event="release", actor=acting_user(actor), reason=d.title
            )
            t.version += 1
            t.save(update_fields=["version"])
            _task_changed(t, "updated")
            continue
        transitions.apply(t, TASK, Event.WITHDRAW, actor, reason=reason or d.title, offer=PEOPLE_EVENTS)
        t.withdrawn_at = now
        transitions.save(t, "withdrawn_at")
        clocks.cancel(t, breached=True)  # broken and never met: nothing will meet them now
        _task_changed(t, "withdrawn")
    if d.source == Directive.Source.REPEAT_GOVERNANCE and d.cluster_id is not None:
        cluster = RepeatCluster.objects.filter(pk=d.cluster_id).values_list("status", flat=True).first()
        if cluster == RepeatCluster.Status.GOVERNED:
            incident_hooks.repeat_cluster_move(cluster_id=d.cluster_id, event="reopen")
    _directive_changed(d, "withdrawn")
    return d


def _close(d: Directive, actor: Any, now: datetime) -> None:
    """结: every task of the directive is approved. Close it, write the closure report, strike off its cluster."""
    transitions.apply(d, DIRECTIVE, Event.CLOSE, actor)
    d.closed_at = now
    transitions.save(d, "closed_at")
    ClosureReport.objects.create(directive=d, generated_at=now, data=closure_data(d, final=True, at=now))
    if d.source == Directive.Source.REPEAT_GOVERNANCE and d.cluster_id is not None:
        incident_hooks.repeat_cluster_move(cluster_id=d.cluster_id, event="strike_off")
    if d.source == Directive.Source.RECTIFICATION and d.incident_id is not None:
        incident_hooks.incident_rectified(incident_id=d.incident_id, actor=acting_user(actor), reason=d.title)
    _directive_changed(d, "closed")


# --- 办 Tasks -------------------------------------------------------------------------------------------


def _lock_task(task_id: int) -> Task:
    """A task as every task service locks it: FOR NO KEY UPDATE (see the module docstring), with its org."""
    return transitions.lock(Task, task_id, related=["org"], no_key=True)


def _require_recipient(actor: Any, t: Task) -> None:
    """Signing, starting and reporting are the recipient org's own acts (403 for anyone else)."""
    orgs.require(actor, t.org, roles=RECIPIENT_ROLES)
    person = orgs.person_of(actor)
    if person is not None and person.org_id != t.org_id:
        raise PermissionDenied(_("Only the recipient's own officers sign, start and report a task."))


ASSIGN_ROLES = [Role.STATION_OFFICER, Role.COMMANDER, Role.DUTY_OFFICER]


@transaction.atomic
def task_assign(*, task_id: int, actor: Any, assignee: Person | None) -> Task:
    """Name who carries an open task (None: nobody): a person of the task's org or of a community under it —
    a station hands its task to its 社区民警. By the officers of the task's org or above it. The state stays;
    the step is logged (event `assign`, the assignee's name as the reason), the version moves, the task is
    pushed."""
    t = _lock_task(task_id)
    orgs.require(actor, t.org, roles=ASSIGN_ROLES)
    if t.state not in OPEN_TASK_STATES:
        raise InvalidTransition(t.state, "assign", [])
    if assignee is not None:
        home = assignee.org
        if not (home.pk == t.org_id or (home.level == Org.Level.COMMUNITY and t.org.contains(home))):
            raise Refused("assignee", _("The assignee belongs to the task's organisation or a community under it."))
    if (assignee.pk if assignee else None) == t.assignee_id:
        return t
    log_transition(
        t, from_state=t.state, to_state=t.state, event="assign", actor=acting_user(actor), reason=str(assignee or "")
    )
    t.assignee = assignee
    t.version += 1
    t.save(update_fields=["assignee", "version"])
    _task_changed(t, "assigned")
    return t


@transaction.atomic
def task_sign(*, task_id: int, actor: Any) -> Task:
    """签收: the recipient takes the task. Meets the sign clock (late if it broke), stops an escalation."""
    t = _lock_task(task_id)
    _require_recipient(actor, t)
    now = timezone.now()
    transitions.apply(t, TASK, Event.SIGN, actor, offer=PEOPLE_EVENTS)
    t.signed_at, t.signed_by = now, acting_user(actor)
    transitions.save(t, "signed_at", "signed_by")
    clocks.meet(t, CLOCK_SIGN, at=now)
    clocks.meet(t, CLOCK_ESCALATE, at=now)  # acted after the reminder: met (late, if a 督办 was raised)
    _task_changed(t, "signed")
    return t


@transaction.atomic
def task_start(*, task_id: int, actor: Any) -> Task:
    """Work begins (after signing, or again after a return for rework)."""
    t = _lock_task(task_id)
    _require_recipient(actor, t)
    now = timezone.now()
    transitions.apply(t, TASK, Event.START, actor, offer=PEOPLE_EVENTS)
    t.started_at = t.started_at or now
    transitions.save(t, "started_at")
    clocks.meet(t, CLOCK_ESCALATE, at=now)  # acted after the reminder: met (late, if a 督办 was raised)
    _task_changed(t, "started")
    return t


def check_checklist(actions: Sequence[str], checklist: Any) -> list[dict[str, Any]]:
    """The report answers every required action once: `[{"action", "done": bool, "note"?}]` (400 otherwise)."""
    if not isinstance(checklist, list):
        raise Refused("checklist", _("Give the checklist as a list of answers."))
    answers: dict[str, dict[str, Any]] = {}
    for item in checklist:
        if not isinstance(item, dict) or not isinstance(item.get("action"), str):
            raise Refused("checklist", _('Each answer is {"action": "…", "done": true or false, "note": "…"}.'))
        unknown = sorted(set(item) - {"action", "done", "note"})
        if unknown:
            raise Refused("checklist", _("Unknown keys in an answer: %(keys)s") % {"keys": ", ".join(unknown)})
        action = " ".join(item["action"].split())
        if action not in actions:
            raise Refused("checklist", _("Not a required action: %(action)s") % {"action": action})
        if action in answers:
            raise Refused("checklist", _("Answered twice: %(action)s") % {"action": action})
        if not isinstance(item.get("done"), bool):
            raise Refused("checklist", _("Say whether it was done: %(action)s") % {"action": action})
        note = item.get("note", "")
        if not isinstance(note, str) or len(note) > 2000:
            raise Refused("checklist", _("A note is text of at most 2000 characters."))
        answers[action] = {"action": action, "done": item["done"], "note": note.strip()}
    missing = [a for a in actions if a not in answers]
    if missing:
        raise Refused("checklist", _("Answer every required action: %(actions)s") % {"actions": "；".join(missing)})
    return [answers[a] for a in actions]


@transaction.atomic
def task_report(
    *, task_id: int, actor: Any, text: str, checklist: Any = None, files: Sequence[UploadedFile] = ()
) -> TaskReport:
    """反馈: the recipient reports what was done, answering the checklist, with files. Meets the report clock."""
    if not text.strip():
        raise Refused("text", _("Say what was done."))
    checked = loop_files.check_uploads(files)
    t = _lock_task(task_id)
    _require_recipient(actor, t)
    answers = check_checklist(t.actions, [] if checklist is None else checklist)
    now = timezone.now()
    transitions.apply(t, TASK, Event.REPORT, actor, offer=PEOPLE_EVENTS)
    person = orgs.person_of(actor)
    report = TaskReport.objects.create(
        task=t, author=actor, org=person.org if person else t.org, text=text.strip(), checklist=answers, created_at=now
    )
    loop_files.store(checked, actor=actor, report=report)
    t.reported_at = now
    transitions.save(t, "reported_at")
    clocks.meet(t, CLOCK_REPORT, at=now)
    clocks.meet(t, CLOCK_ESCALATE, at=now)  # acted after the reminder: met (late, if a 督办 was raised)
    _task_changed(t, "reported")
    return report


def _pending_report(t: Task) -> TaskReport | None:
    return TaskReport.objects.filter(task=t, decision="").order_by("-created_at", "-id").first()


@transaction.atomic
def task_approve(*, task_id: int, actor: Any, note: str = "") -> Task:
    """办结: a supervisor approves the report. The approval counts for every directive the task carries; a
    directive whose tasks are all approved closes with its closure report (结). Two reviewers at once: the
    second waits for the task's lock and then finds it approved (409)."""
    t = _lock_task(task_id)
    orgs.require(actor, t.org, roles=REVIEW_ROLES)
    now = timezone.now()
    transitions.apply(t, TASK, Event.APPROVE, actor, reason=note.strip(), offer=PEOPLE_EVENTS)
    t.approved_at, t.approved_by = now, acting_user(actor)
    transitions.save(t, "approved_at", "approved_by")
    report = _pending_report(t)
    if report is not None:
        report.decision, report.decided_by, report.decided_at, report.reason = (
            TaskReport.Decision.APPROVED,
            acting_user(actor),
            now,
            note.strip(),
        )
        report.save(update_fields=["decision", "decided_by", "decided_at", "reason"])
    clocks.cancel(t, breached=True)
    carried = TaskDirective.objects.filter(task=t, withdrawn_at__isnull=True)
    directive_ids = sorted(carried.values_list("directive_id", flat=True))
    carried.update(approved_at=now)
    _task_changed(t, "approved")
    issued = Directive.objects.filter(state=Directive.State.ISSUED)
    for d in transitions.lock_all(issued, directive_ids, related=["issuer_org"], no_key=True):
        open_left = TaskDirective.objects.filter(directive=d, withdrawn_at__isnull=True, approved_at__isnull=True)
        if not open_left.exists():
            _close(d, actor, now)
    return t


@transaction.atomic
def task_return(*, task_id: int, actor: Any, reason: str) -> Task:
    """退回整改: the report is not enough; the reason goes back to the station, the rework is counted and a
    new report clock starts (the tightest report time of the directives it carries)."""
    if not reason.strip():
        raise Refused("reason", _("Say why the report is returned."))
    t = _lock_task(task_id)
    orgs.require(actor, t.org, roles=REVIEW_ROLES)
    now = timezone.now()
    transitions.apply(t, TASK, Event.RETURN, actor, reason=reason.strip(), offer=PEOPLE_EVENTS)
    t.rework_count += 1
    t.last_return_reason = reason.strip()
    within = (
        Directive.objects.filter(carried__task=t, carried__withdrawn_at__isnull=True)
        .order_by("report_within_s")
        .values_list("report_within_s", flat=True)
        .first()
    )
    t.report_due_at = now + timedelta(seconds=within or clock_lengths(t.colour)[1])
    transitions.save(t, "rework_count", "last_return_reason", "report_due_at")
    report = _pending_report(t)
    if report is not None:
        report.decision, report.decided_by, report.decided_at, report.reason = (
            TaskReport.Decision.RETURNED,
            acting_user(actor),
            now,
            reason.strip(),
        )
        report.save(update_fields=["decision", "decided_by", "decided_at", "reason"])
    clocks.cancel(t, CLOCK_REPORT)  # a report clock met earlier is not open: cancel touches only a running one
    clocks.start(t, CLOCK_REPORT, due=t.report_due_at, org=t.org)
    _task_changed(t, "returned")
    return t


# --- Sources that open tasks by themselves --------------------------------------------------------------


def rectification_actions() -> list[str]:
    return [
        _("Call the caller back and hear the complaint"),
        _("Find out why the handling fell short"),
        _("Put the rectification in place"),
        _("Call back again and record the satisfaction"),
    ]


def rectification_open(*, incident_id: int) -> Directive | None:
    """整改: a dissatisfied callback opens a rectification task to the incident's responsible org, issued by
    the command center that took the call. Called after the callback commits (hooks.INCIDENT_DISSATISFIED);
    idempotent — one rectification per incident (a unique index), so a second call returns the first."""
    incident = Incident.objects.select_related("org", "intake_org").get(pk=incident_id)
    existing = Directive.objects.filter(incident=incident, source=Directive.Source.RECTIFICATION).first()
    if existing is not None or not incident.needs_rectification:
        return existing
    callback = Callback.objects.filter(incident=incident).first()
    content = _("The caller was dissatisfied with the handling of incident %(number)s (%(address)s).") % {
        "number": incident.number,
        "address": incident.address,
    }
    if callback is not None and callback.text.strip():
        content += "\n" + _("Callback notes: %(text)s") % {"text": callback.text.strip()}
    data = DirectiveData(
        title=_("Rectification: incident %(number)s") % {"number": incident.number},
        content=content,
        recipients=[incident.org],
        colour=Colour.YELLOW,
        actions=rectification_actions(),
        subject=f"rectification:incident:{incident.pk}",
        source=Directive.Source.RECTIFICATION,
        incident=incident,
    )
    try:
        with transaction.atomic():
            return _issue(actor=None, issuer_org=incident.intake_org, data=data)
    except IntegrityError:
        return Directive.objects.filter(incident=incident, source=Directive.Source.RECTIFICATION).first()


def governance_actions() -> list[str]:
    return [
        _("Find out why incidents keep recurring here"),
        _("Put governance measures in place"),
        _("Check that no new incidents follow"),
    ]


@transaction.atomic
def cluster_govern(
    *,
    cluster_id: int,
    actor: Any,
    title: str = "",
    content: str = "",
    actions: Sequence[str] = (),
    colour: str = Colour.YELLOW,
    sign_within_s: int | None = None,
    report_within_s: int | None = None,
) -> Directive:
    """挂账: put a line of the repeat ledger into the loop — a directive (source repeat governance) to the
    cluster's org; the cluster becomes governed, and is struck off (销号) when that task is approved."""
    brief = RepeatCluster.objects.select_related("org").get(pk=cluster_id)
    org = _home(actor, "cluster")
    orgs.require(actor, org, roles=ISSUE_ROLES)
    orgs.require(actor, brief.org)
    cluster = incident_hooks.repeat_cluster_move(cluster_id=cluster_id, event="govern")  # 409 unless open
    data = DirectiveData(
        title=title.strip()
        or _("Repeat governance: %(address)s (%(kind)s, %(count)d incidents)")
        % {"address": cluster.address, "kind": cluster.get_kind_display(), "count": cluster.count},
        content=content.strip()
        or _("Incidents keep recurring at %(address)s. Find the cause, govern it and report.")
        % {"address": cluster.address},
        recipients=[cluster.org],
        colour=colour,
        actions=list(actions) or governance_actions(),
        subject=f"cluster:{cluster.pk}",
        source=Directive.Source.REPEAT_GOVERNANCE,
        cluster=cluster,
        sign_within_s=sign_within_s,
        report_within_s=report_within_s,
    )
    return _issue(actor=actor, issuer_org=org, data=data)


__all__ = [
    "CLOCK_ESCALATE",
    "CLOCK_REPORT",
    "CLOCK_SIGN",
    "DirectiveData",
    "analysis_create",
    "analysis_publish",
    "analysis_update",
    "cluster_govern",
    "directive_issue",
    "directive_issue_for",
    "directive_withdraw",
    "rectification_open",
    "register_clocks",
    "task_approve",
    "task_report",
    "task_return",
    "task_sign",
    "task_start",
]
