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
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from command_center import clocks, memo, orgs, realtime, transitions
from command_center.errors import Refused
from command_center.models import Deadline, Org, Role, SupervisionLevel
from incidents.models import Incident
from intel import services as loop
from intel.models import OPEN_TASK_STATES, Task

from .models import Reminder, SupervisionOrder, Watch
from .payloads import order_payload, reminder_payload, watch_payload

log = logging.getLogger(__name__)

WATCH_ROLES = [Role.COMMANDER]
TASK_CLOCK_KINDS = [loop.CLOCK_SIGN, loop.CLOCK_REPORT, loop.CLOCK_ESCALATE]


def levels() -> list[SupervisionLevel]:
    """The 督办 levels, lowest rank first (code table, from process memory)."""
    return list(memo.remember("supervision.levels", lambda: list(SupervisionLevel.objects.order_by("rank"))))


def escalate_after(colour: str) -> timedelta:
    return timedelta(seconds=int(settings.SUPERVISION_ESCALATE_AFTER_S[colour]))


# --- Escalation (called by the sweep) -------------------------------------------------------------------


def escalates(kind_name: str) -> bool:
    """Which clocks' breaches supervision escalates (its breach listener, apps.py): the loop's task clocks.
    An incident's or an order's breach stays on the boards. Decided before the sweep opens the row's
    savepoint, so a kind nobody escalates costs nothing."""
    return kind_name in TASK_CLOCK_KINDS


def on_task_breach(breach: clocks.Breach) -> None:
    """A clock of a loop task broke (see the module docstring for the steps)."""
    deadline = breach.deadline
    # The loop's handler ran first and returned the task it read; read it here only if it did not.
    ctx = breach.facts if isinstance(breach.facts, loop.BreachContext) else loop.breach_context(deadline)
    if ctx is None or ctx.task.state not in OPEN_TASK_STATES:
        return
    task, boards = ctx.task, ctx.boards
    now = deadline.breached_at or timezone.now()
    label = str(loop.TASK_CLOCKS.get(deadline.kind, deadline.kind))
    earlier = Reminder.objects.filter(task=task).exclude(deadline=deadline).exists()
    if deadline.kind != loop.CLOCK_ESCALATE and not earlier:
        text = _("Reminder (催办): %(step)s of “%(title)s” is overdue (due %(due)s).") % {
            "step": label,
            "title": task.title,
            "due": timezone.localtime(deadline.due_at).strftime("%Y-%m-%d %H:%M"),
        }
        _remind(deadline, task, Reminder.Level.REMINDER, text, boards, now)
        # The task's first reminder: no escalation clock can be running yet (only a reminder starts one).
        clocks.start(task, loop.CLOCK_ESCALATE, due=now + escalate_after(task.colour), org=task.org)
        return
    order = _raise_order(deadline, task, boards, now, label)
    if (
        order is not None
        and order.level.rank < levels()[-1].rank
        and not clocks.open_for(task).filter(kind=loop.CLOCK_ESCALATE).exists()
    ):
        clocks.start(task, loop.CLOCK_ESCALATE, due=now + escalate_after(task.colour), org=task.org)


_INSERT_REMINDER = """
    INSERT INTO supervision_reminder (deadline_id, level, recipient_id, task_id, text, created_at)
    VALUES (%s, %s, %s, %s, %s, %s)
    ON CONFLICT (deadline_id, level, recipient_id) DO NOTHING
    RETURNING id
"""


def _remind(deadline: Deadline, task: Task, level: int, text: str, boards: list[Org], now: datetime) -> Reminder:
    """The reminder row for this breach, level and recipient, in one statement that leaves an existing one
    alone (the unique key decides: never doubled); pushed only when this call made it."""
    with connection.cursor() as cur:
        cur.execute(_INSERT_REMINDER, [deadline.pk, level, task.org_id, task.pk, text, now])
        row = cur.fetchone()
    if row is None:
        return Reminder.objects.get(deadline=deadline, level=level, recipient=task.org)
    r = Reminder(pk=row[0], deadline=deadline, level=level, recipient=task.org, task=task, text=text, created_at=now)
    r._state.adding = False
    realtime.broadcast_on_commit(task.org, "reminder.created", reminder_payload(r), also=boards)
    return r


def _raise_order(
    deadline: Deadline, task: Task, boards: list[Org], now: datetime, label: str
) -> SupervisionOrder | None:
    """督办 at the next level for this task (the first level for its first order)."""
    table = levels()
    if not table:
        log.warning("supervision: no supervision levels loaded (manage.py load_codes); no 督办 for task %s", task.pk)
        return None
    done = SupervisionOrder.objects.filter(task=task).count()
    level = table[min(done, len(table) - 1)]
    if deadline.kind == loop.CLOCK_ESCALATE:
        reason = _("Still not done after a reminder: “%(title)s”.") % {"title": task.title}
    else:
        reason = _("%(step)s of “%(title)s” is overdue again after a reminder.") % {"step": label, "title": task.title}
    try:
        with transaction.atomic():
            order = SupervisionOrder.objects.create(
                task=task, org=task.org, level=level, deadline=deadline, reason=reason, created_at=now
            )
    except IntegrityError:
        return SupervisionOrder.objects.select_related("level").get(deadline=deadline)
    realtime.broadcast_on_commit(task.org, "supervision.ordered", order_payload(order), also=boards)
    text = _("%(level)s: %(reason)s") % {"level": level.name, "reason": reason}
    _remind(deadline, task, Reminder.Level.SUPERVISION, text, boards, now)
    return order


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
    "TASK_CLOCK_KINDS",
    "escalates",
    "on_task_breach",
    "reminder_acknowledge",
    "watch_add",
    "watch_end",
]
