"""Clocks: deadlines that live in the database, and the sweep that marks them breached.

Apps name their clock kinds with `register()` (in AppConfig.ready) and say what happens on a breach.
An app above the owner adds to a breach with `listen()` (supervision escalates the loop's task clocks)
without re-registering the kind, in either order. Services call `start()`, `meet()` and `cancel()` inside
the transaction that changes the subject, so a clock is never left running after its reason is gone.
`sweep()` runs every `CLOCK_SWEEP_INTERVAL_S` (0.5 s; Celery beat → worker); `tasks.sweep_deadlines` wraps
it. The read side: `unmet()` (running or broken, not yet met or cancelled), `overdue(model, ids)` and
`overdue_ids(model)` (subjects with a broken clock still awaited), `unmet_q(relation)` for a model that
points at its deadline.

Exactly-once breach, step by step (safe with any number of sweepers):
1. In one transaction, claim up to `batch` open rows with `due_at <= now`, ordered by due time, with
   `SELECT … FOR UPDATE SKIP LOCKED`: a row another sweeper holds is skipped, never waited for.
2. Mark them all breached in one UPDATE; then, for each row, in one savepoint, run the kind's `on_breach`
   (the owner's), then its listeners in the order they were added, each given the same `Breach`.
3. If any of them raises, the savepoint rolls back what all of them wrote, the row's breach is undone and
   the row is pushed forward (`due_at += backoff`, `attempts += 1`, `last_error`) so a poison row cannot
   wedge the sweep or block the rows behind it; the retry runs the owner and every listener again.
4. Commit. Only now are pushes sent (`broadcast_on_commit`). A row committed as breached is no longer
   open, so no later sweep can see it again.
5. When the push went out, the rows get `pushed_at`. A breach still unpushed 5 s after it was recorded (the
   worker died between commit and push, Redis was down) is pushed again by `repush()`, which every sweep
   runs: a breach is recorded exactly once and reaches the boards at least once.
"""

from __future__ import annotations

import contextlib
import logging
import traceback
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.functional import Promise

from . import heartbeat, realtime
from .models import Deadline, DeadlineQuerySet, Org
from .models import unmet_q as unmet_q  # the condition behind unmet(), for a relation ("deadline"): one place

log = logging.getLogger(__name__)

# The owner's handler of a breach. What it returns (what it read about the subject, or None) reaches the
# listeners as `Breach.facts`, so they need not read it again.
BreachHandler = Callable[[Deadline], object]


@dataclass(frozen=True)
class Breach:
    """One breach as a listener sees it: the deadline, marked breached, and the facts its kind's owner
    returned from `on_breach` (None when it returned nothing or has no handler). A listener narrows `facts`
    with isinstance and reads for itself when they are not what it expects."""

    deadline: Deadline
    facts: object = None


BreachListener = Callable[[Breach], None]
# Which kinds a listener hears: one kind's name, None for every kind, or a predicate on the kind's name.
KindMatch = str | Callable[[str], bool] | None


@dataclass(frozen=True)
class ClockKind:
    name: str
    # Lazy (gettext_lazy) where the owner has a translation: str(label) reads it in the active language, so
    # an English page says "Sign the dispatch order" where a Chinese one says "签收调度指令".
    label: str | Promise
    on_breach: BreachHandler | None = None


_registry: dict[str, ClockKind] = {}
# Kept apart from the kinds and matched at breach time: a listener may be added before or after its kind
# is registered (INSTALLED_APPS order does not matter), and registering a kind again keeps its listeners.
_listeners: list[tuple[KindMatch, BreachListener]] = []


class UnknownClockKind(KeyError):
    pass


def register(name: str, *, label: str | Promise, on_breach: BreachHandler | None = None) -> ClockKind:
    """Name a clock kind ("dispatch.sign") and what happens on breach (besides recording and pushing it).

    `on_breach` runs inside the sweep's transaction: it may write (start an escalation clock, open a
    reminder row) and queue pushes, and it must not call outside services directly. What it returns
    (what it read about the subject) is handed to the kind's listeners as `Breach.facts`. Registering a
    kind again replaces its label and handler and keeps its listeners.
    """
    kind = ClockKind(name=name, label=label, on_breach=on_breach)
    _registry[name] = kind
    return kind


def listen(kinds: KindMatch, listener: BreachListener) -> None:
    """Also run `listener(breach)` on every breach of `kinds` (a name, None for every kind, or a predicate on
    the name): how an app above a kind's owner adds its escalation without the owner importing it.

    Listeners run after the owner's `on_breach`, in the order they were added, in the same savepoint and
    under the same rules (they may write and queue pushes; one raising rolls back the whole row's
    escalation, which the sweep retries). Idempotent, for an AppConfig.ready that runs twice: pass a
    module-level predicate, not a new lambda each time.
    """
    if (kinds, listener) not in _listeners:
        _listeners.append((kinds, listener))


def listeners(kind_name: str) -> list[BreachListener]:
    """The listeners of a kind's breaches, in the order they were added."""
    return [fn for match, fn in _listeners if _hears(match, kind_name)]


def _hears(match: KindMatch, kind_name: str) -> bool:
    if match is None:
        return True
    if isinstance(match, str):
        return match == kind_name
    return match(kind_name)


def kind(name: str) -> ClockKind:
    try:
        return _registry[name]
    except KeyError:
        raise UnknownClockKind(name) from None


def registered() -> dict[str, ClockKind]:
    return dict(_registry)


def _subject_filter(subject: models.Model) -> dict[str, Any]:
    return {"subject_type": ContentType.objects.get_for_model(subject), "subject_id": subject.pk}


def start(subject: models.Model, kind_name: str, *, due: datetime, org: Org, level: int = 0) -> Deadline:
    """Start a clock of `kind_name` on `subject`, due at `due`, answered for by `org`.

    Call inside the transaction that made the clock necessary. Starting a kind that is already running on
    the subject is an error (the database refuses it: one open clock per kind per subject).
    """
    kind(kind_name)  # refuses an unregistered kind: a typo must not create a clock nothing knows about
    return Deadline.objects.create(
        **_subject_filter(subject), kind=kind_name, org=org, level=level, started_at=timezone.now(), due_at=due
    )


def _start_fields() -> list[Any]:
    """Every field of a new clock's row but its id and its subject's id, in the model's order."""
    return [f for f in Deadline._meta.concrete_fields if f.attname not in ("id", "subject_id")]


def start_insert_sql(*, subject_sql: str, from_sql: str) -> str:
    """`start` as SQL, for a statement that stores the subject itself (the intake writes an incident, its
    number, its log row and its dispatch clock in one statement), as audit.log_insert_sql does for the log:
    `INSERT INTO <deadline> (...) SELECT %s, ..., <subject_sql> FROM <from_sql> RETURNING id`, where
    `subject_sql` names the new subject's id in `from_sql` (a CTE that returns it). Its parameters and the
    clock's row: `start_insert_params(...)`."""
    quote = connection.ops.quote_name
    fields = _start_fields()
    cols = ", ".join([*(quote(str(f.column)) for f in fields), quote("subject_id")])
    values = ", ".join(["%s"] * len(fields))
    table = quote(Deadline._meta.db_table)
    return f"INSERT INTO {table} ({cols}) SELECT {values}, {subject_sql} FROM {from_sql} RETURNING id"  # noqa: S608  # names from the model


def start_insert_params(
    subject_model: type[models.Model], kind_name: str, *, due: datetime, org: Org, level: int = 0
) -> tuple[Deadline, list[Any]]:
    """The clock `start` would store (without its id and subject id: set them from the statement's result)
    and the parameters of `start_insert_sql`'s statement."""
    kind(kind_name)  # as start: an unregistered kind is refused
    row = Deadline(
        subject_type=ContentType.objects.get_for_model(subject_model), kind=kind_name, org=org, level=level,
        started_at=timezone.now(), due_at=due,
    )  # fmt: skip
    return row, [f.get_db_prep_save(f.pre_save(row, True), connection) for f in _start_fields()]


def meet(subject: models.Model, kind_name: str, *, at: datetime | None = None) -> int:
    """The awaited thing happened. Stops the open clock, and records the time on a breached one (met late).

    Returns how many clocks were met.
    """
    qs = Deadline.objects.unmet().filter(**_subject_filter(subject), kind=kind_name)
    return qs.update(met_at=at or timezone.now())


def cancel(subject: models.Model, kind_name: str | None = None, *, breached: bool = False) -> int:
    """The clock's reason is gone (order cancelled, incident merged). Cancels open clocks; all kinds if None.

    `breached=True` also closes clocks that broke and were never met (their breach stays recorded): the
    subject itself is gone, so nothing will ever meet them and they must leave the lists of open breaches."""
    qs = Deadline.objects.unmet().filter(**_subject_filter(subject))
    if not breached:
        qs = qs.filter(breached_at__isnull=True)
    if kind_name is not None:
        qs = qs.filter(kind=kind_name)
    return qs.update(cancelled_at=timezone.now())


def retime(subject: models.Model, kind_name: str, *, due: Callable[[datetime], datetime], org: Org) -> Deadline | None:
    """The clock's terms changed (an incident re-qualified to another level): the unmet clock of `kind_name`
    on `subject` is cancelled and a new one takes its place — started when the old one started, due at
    `due(started_at)`, answered for by `org`. A new due time already past breaches at the next sweep (and a
    broken clock whose new terms still break it is breached again, with its new due time). Returns the new
    clock, or None when none of that kind was unmet."""
    old = Deadline.objects.unmet().filter(**_subject_filter(subject), kind=kind_name).order_by("-started_at").first()
    if old is None:
        return None
    Deadline.objects.filter(pk=old.pk).update(cancelled_at=timezone.now())
    return Deadline.objects.create(
        **_subject_filter(subject), kind=kind_name, org=org, level=old.level, started_at=old.started_at,
        due_at=due(old.started_at),
    )  # fmt: skip


def unmet_for(subject: models.Model) -> models.QuerySet[Deadline]:
    """A subject's clocks still owed: running, or broken and not met since (what a board lists)."""
    return Deadline.objects.unmet().filter(**_subject_filter(subject)).order_by("due_at", "pk")


def open_for(subject: models.Model) -> models.QuerySet[Deadline]:
    return Deadline.objects.open().filter(**_subject_filter(subject))


# --- Reads ----------------------------------------------------------------------------------------------


def unmet() -> DeadlineQuerySet:
    """Clocks not met and not cancelled: running, or broken and still awaited (`.breached()` for those)."""
    return Deadline.objects.unmet()


def _overdue_of(model: type[models.Model], prefix: str) -> DeadlineQuerySet:
    qs = Deadline.objects.unmet().breached().filter(subject_type=ContentType.objects.get_for_model(model))
    return qs.filter(kind__startswith=prefix) if prefix else qs


def overdue(model: type[models.Model], ids: Iterable[int], *, prefix: str = "") -> dict[int, list[str]]:
    """For a page of `model` rows: {id: [kind, …]} of their clocks that broke and were not met since (one
    query; rows without one are absent). `prefix` keeps to kinds named so ("intel.task.")."""
    ids = list(ids)
    if not ids:
        return {}
    found: dict[int, list[str]] = defaultdict(list)
    for subject_id, kind_name in (
        _overdue_of(model, prefix).filter(subject_id__in=ids).values_list("subject_id", "kind")
    ):
        found[subject_id].append(kind_name)
    return dict(found)


def overdue_ids(model: type[models.Model], *, prefix: str = "") -> models.QuerySet[Deadline, Any]:
    """Subquery of the ids of `model` rows with a clock that broke and was not met since (an `overdue`
    filter: `qs.filter(pk__in=clocks.overdue_ids(Task))`)."""
    return _overdue_of(model, prefix).values("subject_id")


def deadline_payload(d: Deadline) -> dict[str, Any]:
    ct = ContentType.objects.get_for_id(d.subject_type_id)
    k = _registry.get(d.kind)
    return {
        "id": d.pk,
        "kind": d.kind,
        "label": str(k.label) if k else d.kind,
        "subject": {"type": f"{ct.app_label}.{ct.model}", "id": d.subject_id},
        "org": d.org_id,
        "level": d.level,
        "due_at": d.due_at,
        "breached_at": d.breached_at,
    }


def retry_delay(attempts: int) -> timedelta:
    """Back-off for a poison row: 5 s, 10 s, 20 s … capped at 10 minutes."""
    return timedelta(seconds=min(5 * 2 ** max(attempts - 1, 0), 600))


def sweep(*, now: datetime | None = None, batch: int | None = None) -> int:
    """Breach every due open deadline (see the module docstring). Returns how many were breached."""
    batch = batch or settings.CLOCK_SWEEP_BATCH
    total = 0
    while True:
        breached, claimed = _sweep_batch(now or timezone.now(), batch)
        total += breached
        if claimed < batch:
            repush(now=now, batch=batch)
            return total
        # A storm keeps this sweep busy for many batches: it is a live worker, not a dead one (/healthz).
        with contextlib.suppress(Exception):
            heartbeat.beat(heartbeat.WORKER)


@transaction.atomic
def _sweep_batch(now: datetime, batch: int) -> tuple[int, int]:
    rows = list(
        Deadline.objects.due(now).select_for_update(skip_locked=True, of=("self",)).order_by("due_at", "id")[:batch]
    )
    by_org: dict[int, list[dict[str, Any]]] = defaultdict(list)
    # Mark the whole claim in one statement; escalations then run row by row in savepoints.
    Deadline.objects.filter(pk__in=[r.pk for r in rows]).update(breached_at=now)
    breached = 0
    for row in rows:
        row.breached_at = now
        k = _registry.get(row.kind)
        heard = listeners(row.kind) if k is not None else []
        if k is None:
            log.warning("clocks: breach of unregistered kind %r (deadline %s)", row.kind, row.pk)
        elif k.on_breach is not None or heard:
            try:
                with transaction.atomic():
                    _escalate(k, row, heard)
            except Exception as exc:
                row.breached_at = None
                row.attempts += 1
                row.due_at = now + retry_delay(row.attempts)
                row.last_error = "".join(traceback.format_exception_only(type(exc), exc)).strip()[:2000]
                row.save(update_fields=["breached_at", "attempts", "due_at", "last_error"])
                log.exception(
                    "clocks: escalation of deadline %s (%s) failed; retry at %s", row.pk, row.kind, row.due_at
                )
                continue
        breached += 1
        by_org[row.org_id].append(deadline_payload(row))
    _push_breaches(by_org)
    return breached, len(rows)


def _escalate(k: ClockKind, row: Deadline, heard: list[BreachListener]) -> None:
    """The owner's handler, then each listener with the facts it returned (inside the row's savepoint)."""
    facts = k.on_breach(row) if k.on_breach is not None else None
    breach = Breach(deadline=row, facts=facts)
    for listener in heard:
        listener(breach)


def _push_breaches(by_org: dict[int, list[dict[str, Any]]]) -> None:
    """One message per org (a storm of 1,000 breaches is a handful of pushes, not thousands), after commit;
    once it went out, the rows are marked pushed (`pushed_at`), else the sweep sends them again later."""
    if not by_org:
        return
    orgs = {org.pk: org for org in Org.objects.filter(pk__in=by_org)}
    ids = [d["id"] for items in by_org.values() for d in items]
    realtime.broadcast_many_on_commit(
        ((orgs[org_id], "deadlines.breached", {"deadlines": items}) for org_id, items in by_org.items()),
        on_sent=partial(_mark_pushed, ids),
    )


def _mark_pushed(ids: list[int]) -> None:
    Deadline.objects.filter(pk__in=ids, pushed_at__isnull=True).update(pushed_at=timezone.now())


# A breach whose push has not gone out this long after it was recorded is sent again by the sweep.
REPUSH_AFTER = timedelta(seconds=5)


@transaction.atomic
def repush(*, now: datetime | None = None, batch: int | None = None) -> int:
    """Send again the breaches whose push did not go out (a worker killed between commit and push, Redis
    down). Boards may see such a breach twice; each carries its deadline id."""
    now = now or timezone.now()
    rows = list(
        Deadline.objects.filter(breached_at__isnull=False, pushed_at__isnull=True, breached_at__lte=now - REPUSH_AFTER)
        .select_for_update(skip_locked=True, of=("self",))
        .order_by("breached_at", "id")[: batch or settings.CLOCK_SWEEP_BATCH]
    )
    by_org: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_org[row.org_id].append(deadline_payload(row))
    _push_breaches(by_org)
    return len(rows)


def oldest_due_age(now: datetime | None = None) -> float | None:
    """Seconds since the oldest open deadline fell due (None when nothing is due): the sweeper's lag."""
    now = now or timezone.now()
    oldest = Deadline.objects.due(now).order_by("due_at").values_list("due_at", flat=True).first()
    return None if oldest is None else (now - oldest).total_seconds()
