"""Every write of supervision: reminders (催办) and formal supervision orders (督办) raised by the sweep, and
the commanders' watch list (盯办).

Escalation of a task, breach by breach (the loop's clock kinds; a breach listener, apps.py). Each runs inside
the sweep's transaction (command_center/clocks.py), in the savepoint of the breached deadline:
1. The first breach on a task (its sign or report clock) writes a reminder (催办) to the task's org, pushed to
   it and to the boards of the orgs that issued its directives, and starts the escalation clock
   (`intel.task.escalate`, settings.SUPERVISION_ESCALATE_AFTER_S by colour). The loop cancels that clock as
   soon as the task moves on (signed, started, reported).
2. A second breach — the escalation clock, or another task clock after a reminder — raises a 督办 order with
   the first level of the code table (command_center.SupervisionLevel), and a level-2 reminder; the next
   breach raises the next level, and so on up to the highest, each starting a new escalation clock until
   the highest level is reached.
Never lost, never doubled: the rows are written in the transaction that marks the breach (a failure rolls
both back and the sweep retries the deadline), and reminders are unique per (deadline, level, recipient),
orders per deadline; a push goes out only for a row this transaction created.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from command_center import clocks, memo, orgs, realtime, transitions, words
from command_center.errors import Refused
from command_center.models import Deadline, Org, Role, SupervisionLevel
from command_center.transitions import InvalidTransition
from dispatch import services as dispatch
from dispatch.models import DispatchOrder
from incidents.models import Incident
from incidents.models import State as IncidentState
from incidents.services import CLOCK_FEEDBACK as CLOCK_INCIDENT_FEEDBACK
from intel import services as loop
from intel.models import OPEN_TASK_STATES, Task

from .models import FeedbackReview, Reminder, SupervisionOrder, Watch
from .payloads import order_payload, reminder_payload, watch_payload

log = logging.getLogger(__name__)

WATCH_ROLES = [Role.COMMANDER]
TASK_CLOCK_KINDS = [loop.CLOCK_SIGN, loop.CLOCK_REPORT, loop.CLOCK_ESCALATE]
# An incident that ended needs no reminder about it any more.
CLOSED_INCIDENT_STATES = [IncidentState.CLOSED, IncidentState.MERGED, IncidentState.INVALID]


def levels() -> list[SupervisionLevel]:
    """The 督办 levels, lowest rank first (code table, from process memory)."""
    return list(memo.remember("supervision.levels", lambda: list(SupervisionLevel.objects.order_by("rank"))))


def escalate_after(colour: str) -> timedelta:
    return timedelta(seconds=int(settings.SUPERVISION_ESCALATE_AFTER_S[colour]))


# --- Escalation (called by the sweep) -------------------------------------------------------------------

# An incident's clocks that supervision escalates, as it does a task's: a late signature, arrival or report
# back on one of its dispatch orders, and its own feedback (反馈) clock.
INCIDENT_CLOCK_KINDS = [dispatch.CLOCK_SIGN, dispatch.CLOCK_ARRIVE, dispatch.CLOCK_FEEDBACK, CLOCK_INCIDENT_FEEDBACK]
# Supervision's own clock on an incident after its first reminder: still late when it breaks → 督办.
CLOCK_INCIDENT_ESCALATE = "supervision.incident.escalate"


def register_clocks() -> None:
    clocks.register(CLOCK_INCIDENT_ESCALATE, label=gettext_lazy("Still late after a reminder"))


def escalates(kind_name: str) -> bool:
    """Which clocks' breaches supervision escalates (its breach listener, apps.py): the loop's task clocks,
    an incident's and its orders' (INCIDENT_CLOCK_KINDS) and its own escalation clocks. Decided before the
    sweep opens the row's savepoint, so a kind nobody escalates costs nothing."""
    return kind_name in TASK_CLOCK_KINDS or kind_name in INCIDENT_CLOCK_KINDS or kind_name == CLOCK_INCIDENT_ESCALATE


@dataclass(frozen=True)
class Subject:
    """What a reminder or a 督办 is about: a loop task, or an incident (for its own clock or one of its
    orders'); `org` must act on it, `boards` also hear of it, `title` names it."""

    org: Org
    title: str
    task: Task | None = None
    incident: Incident | None = None
    boards: tuple[Org, ...] = ()

    def reminders(self) -> Any:
        return Reminder.objects.filter(task=self.task) if self.task else Reminder.objects.filter(incident=self.incident)

    def orders(self) -> Any:
        if self.task:
            return SupervisionOrder.objects.filter(task=self.task)
        return SupervisionOrder.objects.filter(incident=self.incident)


def subject_of(deadline: Deadline) -> Subject | None:
    """The task or incident a deadline is about, or None for a clock supervision does not supervise (or a
    subject gone). An order's clock is about its incident, and its station must act."""
    if deadline.kind in TASK_CLOCK_KINDS:
        ctx = loop.breach_context(deadline)
        if ctx is None:
            return None
        return Subject(org=ctx.task.org, title=ctx.task.title, task=ctx.task, boards=tuple(ctx.boards))
    model = deadline.subject_type.model_class()
    if model is DispatchOrder:
        o = DispatchOrder.objects.select_related("org", "incident__org").filter(pk=deadline.subject_id).first()
        if o is None:
            return None
        return Subject(org=o.org, title=_incident_title(o.incident), incident=o.incident)
    if model is Incident:
        i = Incident.objects.select_related("org").filter(pk=deadline.subject_id).first()
        return None if i is None else Subject(org=i.org, title=_incident_title(i), incident=i)
    if model is FeedbackReview:
        # A returned feedback's rework clock (feedback_review.py): about its incident; the filing org acts.
        r = FeedbackReview.objects.select_related("org", "feedback__incident").filter(pk=deadline.subject_id).first()
        return (
            None
            if r is None
            else Subject(org=r.org, title=_incident_title(r.feedback.incident), incident=r.feedback.incident)
        )
    return None


def _incident_title(i: Incident) -> str:
    return f"{i.number} {i.address}"


def on_breach(breach: clocks.Breach) -> None:
    """A supervised clock broke (see the module docstring for the steps). A task's: its first breach writes
    a reminder (催办) and starts the loop's escalation clock, a later one raises 督办. An incident's or its
    orders': the same, with supervision's own escalation clock on the incident."""
    deadline = breach.deadline
    now = deadline.breached_at or timezone.now()
    if deadline.kind == CLOCK_INCIDENT_ESCALATE:
        _incident_still_late(deadline, now)
        return
    if deadline.kind in TASK_CLOCK_KINDS:
        # The loop's handler ran first and returned the task it read; read it here only if it did not.
        ctx = breach.facts if isinstance(breach.facts, loop.BreachContext) else loop.breach_context(deadline)
        if ctx is None or ctx.task.state not in OPEN_TASK_STATES:
            return
        subject = Subject(org=ctx.task.org, title=ctx.task.title, task=ctx.task, boards=tuple(ctx.boards))
    else:
        found = subject_of(deadline)
        if found is None or found.incident is None or found.incident.state in CLOSED_INCIDENT_STATES:
            return
        subject = found
    label = clock_label(deadline.kind)
    earlier = subject.reminders().exclude(deadline=deadline).exists()
    if deadline.kind != loop.CLOCK_ESCALATE and not earlier:
        text = _("Reminder (催办): %(step)s of “%(title)s” is overdue (due %(due)s).") % {
            "step": label,
            "title": subject.title,
            "due": timezone.localtime(deadline.due_at).strftime("%Y-%m-%d %H:%M"),
        }
        _remind(deadline, subject, Reminder.Level.REMINDER, text, now)
        # The first reminder: no escalation clock can be running yet (only a reminder starts one).
        _start_escalation(subject, now)
        return
    if deadline.kind == loop.CLOCK_ESCALATE:
        reason = _("Still not done after a reminder: “%(title)s”.") % {"title": subject.title}
    else:
        reason = _("%(step)s of “%(title)s” is overdue again after a reminder.") % {
            "step": label,
            "title": subject.title,
        }
    _escalate(deadline, subject, now, reason)


def _start_escalation(subject: Subject, now: datetime) -> None:
    if subject.task is not None:
        clocks.start(subject.task, loop.CLOCK_ESCALATE, due=now + escalate_after(subject.task.colour), org=subject.org)
    elif (
        subject.incident is not None
        and not clocks.open_for(subject.incident).filter(kind=CLOCK_INCIDENT_ESCALATE).exists()
    ):
        due = now + timedelta(seconds=int(settings.SUPERVISION_INCIDENT_ESCALATE_S))
        clocks.start(subject.incident, CLOCK_INCIDENT_ESCALATE, due=due, org=subject.org)


def _escalate(
    deadline: Deadline, subject: Subject, now: datetime, reason: str, by: Any = None
) -> SupervisionOrder | None:
    """督办 at the next level; restarts the escalation clock until the highest level is reached."""
    order = _raise_order(deadline, subject, now, reason, by=by)
    if order is not None and order.level.rank < levels()[-1].rank:
        if subject.task is not None:
            if not clocks.open_for(subject.task).filter(kind=loop.CLOCK_ESCALATE).exists():
                clocks.start(
                    subject.task, loop.CLOCK_ESCALATE, due=now + escalate_after(subject.task.colour), org=subject.org
                )
        else:
            _start_escalation(subject, now)
    return order


def _incident_still_late(deadline: Deadline, now: datetime) -> None:
    """Supervision's escalation clock on an incident broke: if one of its supervised clocks (its own or its
    orders') is still broken and unmet, 督办; if all were met since (signed late, arrived), nothing."""
    incident = Incident.objects.select_related("org").filter(pk=deadline.subject_id).first()
    if incident is None or incident.state in CLOSED_INCIDENT_STATES:
        return
    late = late_clocks(incident)
    if not late:
        return
    first = late[0]
    subject = subject_of(first) or Subject(org=incident.org, title=_incident_title(incident), incident=incident)
    reason = _("Still late after a reminder: %(step)s of “%(title)s”.") % {
        "step": clock_label(first.kind),
        "title": subject.title,
    }
    _escalate(deadline, subject, now, reason)


def late_clocks(incident: Incident) -> list[Deadline]:
    """The incident's supervised clocks (its own and its orders') that broke and are not met, oldest due
    first."""
    order_ids = list(DispatchOrder.objects.filter(incident=incident).values_list("pk", flat=True))
    qs = clocks.unmet().breached().filter(kind__in=INCIDENT_CLOCK_KINDS)
    own = clocks.unmet_for(incident).filter(breached_at__isnull=False, kind__in=INCIDENT_CLOCK_KINDS)
    theirs = qs.filter(subject_type=ContentType.objects.get_for_model(DispatchOrder), subject_id__in=order_ids)
    return sorted([*own, *theirs], key=lambda d: (d.due_at, d.pk))


def clock_label(kind: str) -> str:
    registered = clocks.registered()
    if kind in loop.TASK_CLOCKS:
        return str(loop.TASK_CLOCKS[kind])
    return str(registered[kind].label) if kind in registered else kind


_INSERT_REMINDER = """
    INSERT INTO supervision_reminder (deadline_id, level, recipient_id, task_id, incident_id, by_id, text, created_at)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
    ON CONFLICT (deadline_id, level, recipient_id) DO NOTHING
    RETURNING id
"""


def _remind(
    deadline: Deadline, subject: Subject, level: int, text: str, now: datetime, by: Any = None
) -> tuple[Reminder, bool]:
    """The reminder row for this breach, level and recipient, in one statement that leaves an existing one
    alone (the unique key decides: never doubled); pushed only when this call made it. Returns (reminder,
    created)."""
    task_id = subject.task.pk if subject.task else None
    incident_id = subject.incident.pk if subject.incident else None
    by_id = getattr(by, "pk", None)
    with connection.cursor() as cur:
        cur.execute(_INSERT_REMINDER, [deadline.pk, level, subject.org.pk, task_id, incident_id, by_id, text, now])
        row = cur.fetchone()
    if row is None:
        return Reminder.objects.get(deadline=deadline, level=level, recipient=subject.org), False
    r = Reminder(
        pk=row[0],
        deadline=deadline,
        level=level,
        recipient=subject.org,
        task=subject.task,
        incident=subject.incident,
        by_id=by_id,
        text=text,
        created_at=now,
    )
    r._state.adding = False
    realtime.broadcast_on_commit(subject.org, "reminder.created", reminder_payload(r), also=list(subject.boards))
    return r, True


def _raise_order(
    deadline: Deadline, subject: Subject, now: datetime, reason: str, by: Any = None
) -> SupervisionOrder | None:
    """督办 at the next level for this task or incident (the first level for its first order)."""
    table = levels()
    if not table:
        log.warning("supervision: no supervision levels loaded (manage.py load_codes); no 督办 for %s", subject.title)
        return None
    done = subject.orders().count()
    level = table[min(done, len(table) - 1)]
    try:
        with transaction.atomic():
            order = SupervisionOrder.objects.create(
                task=subject.task,
                incident=subject.incident,
                org=subject.org,
                level=level,
                deadline=deadline,
                reason=reason,
                by=by if getattr(by, "pk", None) else None,
                created_at=now,
            )
    except IntegrityError:
        return None if by is not None else SupervisionOrder.objects.select_related("level").get(deadline=deadline)
    boards = list(subject.boards)
    realtime.broadcast_on_commit(subject.org, "supervision.ordered", order_payload(order), also=boards)
    text = _("%(level)s: %(reason)s") % {"level": level.name, "reason": reason}
    _remind(deadline, subject, Reminder.Level.SUPERVISION, text, now, by=by)
    return order


# --- By hand: a supervisor's 催办 and 督办 on any overdue clock -------------------------------------------

HAND_ROLES = [Role.SUPERVISOR, Role.COMMANDER]


@transaction.atomic
def remind_by_hand(*, deadline_id: int, actor: Any, note: str) -> Reminder:
    """催办 by hand: a supervisor tells the org that must act that this overdue clock needs it, with a note.
    Once per clock (a second answers 409: it was reminded already, by the sweep or by hand)."""
    deadline, subject = _overdue(deadline_id, actor)
    text = _("Reminder (催办) from %(who)s: %(step)s of “%(title)s” is overdue. %(note)s") % {
        "who": words.who(actor)["actor"] or actor.get_username(),
        "step": clock_label(deadline.kind),
        "title": subject.title,
        "note": note.strip(),
    }
    r, created = _remind(deadline, subject, Reminder.Level.REMINDER, text.strip(), timezone.now(), by=actor)
    if not created:
        raise InvalidTransition("reminded", "remind", ["supervise"])
    return r


@transaction.atomic
def supervise_by_hand(*, deadline_id: int, actor: Any, note: str) -> SupervisionOrder:
    """督办 by hand on this overdue clock, at the subject's next level, with the supervisor's note as its
    reason. One 督办 per clock (a second answers 409)."""
    if not note.strip():
        raise Refused("note", _("Say what is expected (督办 needs a reason)."))
    deadline, subject = _overdue(deadline_id, actor)
    order = _raise_order(deadline, subject, timezone.now(), note.strip(), by=actor)
    if order is None:
        raise InvalidTransition("supervised", "supervise", [])
    return order


def _overdue(deadline_id: int, actor: Any) -> tuple[Deadline, Subject]:
    """The clock, locked, in the actor's area (404 outside), broken and not met (409 otherwise), and what it
    is about (a task or an incident; 400 for a clock supervision does not supervise)."""
    deadline = transitions.lock(Deadline, deadline_id, related=["org", "subject_type"], no_key=True)
    orgs.require(actor, deadline.org, roles=HAND_ROLES)
    if deadline.breached_at is None or deadline.met_at is not None or deadline.cancelled_at is not None:
        raise InvalidTransition("running" if deadline.breached_at is None else "closed", "supervise", [])
    subject = subject_of(deadline)
    if subject is None:
        raise Refused("deadline", _("This clock is not about a task or an incident."))
    return deadline, subject


# --- Reminders ------------------------------------------------------------------------------------------


@transaction.atomic
def reminder_acknowledge(*, reminder_id: int, actor: Any) -> Reminder:
    """The recipient saw the reminder (its own people only). Acknowledging twice keeps the first time."""
    r = transitions.lock(Reminder, reminder_id, related=["recipient", "deadline", "task"], no_key=True)
    orgs.require(actor, r.recipient)
    person = orgs.person_of(actor)
    if person is not None and person.org_id != r.recipient_id:
        raise PermissionDenied(_("Only the recipient acknowledges a reminder."))
    if r.acknowledged_at is None:
        r.acknowledged_at, r.acknowledged_by = timezone.now(), actor
        r.save(update_fields=["acknowledged_at", "acknowledged_by"])
        realtime.broadcast_on_commit(r.recipient, "reminder.acknowledged", reminder_payload(r))
    return r


# --- Watch list (盯办) ----------------------------------------------------------------------------------


def _board(actor: Any) -> Org:
    person = orgs.person_of(actor)
    if person is None:
        if getattr(actor, "is_superuser", False):
            raise Refused("task", _("Act as a person of an organisation (your user has no profile)."))
        raise PermissionDenied(_("Your role does not allow this action."))
    orgs.require(actor, person.org, roles=WATCH_ROLES)
    return person.org


@transaction.atomic
def watch_add(
    *, actor: Any, task: Task | None = None, incident: Incident | None = None, note: str = ""
) -> tuple[Watch, bool]:
    """盯办: put a task or an incident (in the commander's area) on the commander's board until it closes.
    Returns (watch, created): watching what the board already watches returns that watch."""
    board = _board(actor)
    if (task is None) == (incident is None):
        raise Refused("task", _("Name a task or an incident."))
    subject_org = task.org if task is not None else incident.org  # type: ignore[union-attr]
    existing = Watch.objects.filter(by_org=board, task=task, incident=incident, ended_at__isnull=True).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            w = Watch.objects.create(
                task=task,
                incident=incident,
                org=subject_org,
                by=actor,
                by_org=board,
                note=note.strip(),
                created_at=timezone.now(),
            )
    except IntegrityError:  # the same board watched it a moment ago
        return Watch.objects.get(by_org=board, task=task, incident=incident, ended_at__isnull=True), False
    realtime.broadcast_on_commit(board, "watch.added", watch_payload(w))
    return w, True


@transaction.atomic
def watch_end(*, watch_id: int, actor: Any) -> Watch:
    """Take a subject off the board's watch list (commanders of that board or above)."""
    w = transitions.lock(Watch, watch_id, related=["by_org"], no_key=True)
    orgs.require(actor, w.by_org, roles=WATCH_ROLES)
    if w.ended_at is None:
        w.ended_at, w.ended_by = timezone.now(), actor
        w.save(update_fields=["ended_at", "ended_by"])
        realtime.broadcast_on_commit(w.by_org, "watch.removed", watch_payload(w))
    return w


__all__ = [
    "CLOCK_INCIDENT_ESCALATE",
    "INCIDENT_CLOCK_KINDS",
    "TASK_CLOCK_KINDS",
    "escalates",
    "late_clocks",
    "on_breach",
    "register_clocks",
    "remind_by_hand",
    "reminder_acknowledge",
    "supervise_by_hand",
    "watch_add",
    "watch_end",
]
