"""Audit: the append-only transition log every state machine reuses.

A concrete log declares its subject with `related_name="transitions"`::

    class OrderTransition(TransitionLog):
        subject = models.ForeignKey(DispatchOrder, on_delete=models.PROTECT, related_name="transitions")

and services write rows with `log_transition(order, from_state=..., to_state=..., event=..., actor=...)` —
most through `command_center.transitions.apply`, which takes a whole step. A statement that stores its
subject in SQL (the intake) writes the log row in the same statement with `log_insert_sql`.
Rows can be added, never changed or deleted: `save()` on an existing row, `delete()`, and the queryset's
`update()` / `delete()` all raise `AppendOnlyError`; the admin mixin in `admin.py` offers neither. A row's
`at` is the database's clock, never the client's (`install_append_only_triggers`).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import connection, models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AppendOnlyError(RuntimeError):
    """Raised on any attempt to change or delete an audit row."""


class AppendOnlyQuerySet(models.QuerySet[Any]):
    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError("transition logs are append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("transition logs are append-only")

    def bulk_update(self, objs: Any, fields: Any, batch_size: int | None = None) -> int:
        raise AppendOnlyError("transition logs are append-only")


class DatabaseTimeField(models.DateTimeField):
    """A time the database writes (a BEFORE INSERT trigger, below) and an insert reads back (RETURNING), so
    the saved instance holds the stored value. The column is an ordinary `timestamptz`: only the ORM's
    insert differs, so migrations know it as a DateTimeField (no migration for the change of class)."""

    @property
    def db_returning(self) -> bool:
        return True

    def deconstruct(self) -> Any:
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.DateTimeField", args, kwargs


class TransitionLog(models.Model):
    """One state change: subject (declared by the concrete model), from, to, event, actor, at, reason."""

    from_state = models.CharField(_("from"), max_length=32, blank=True)
    to_state = models.CharField(_("to"), max_length=32)
    event = models.CharField(_("event"), max_length=40)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("actor"),
        help_text=_("Empty when the system acted (a clock, the simulator)."),
    )
    # Whatever the client sends is replaced by the database's clock (cc_log_time); the default only fills
    # the NOT NULL column of an unsaved instance.
    at = DatabaseTimeField(_("at"), default=timezone.now, db_index=True)
    reason = models.TextField(_("reason"), blank=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.from_state or '∅'} → {self.to_state} ({self.event})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("transition logs are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("transition logs are append-only")


def acting_user(actor: Any) -> Any:
    """The user to write into a row for `actor`: None for the system (a clock, a hook, the simulator), which
    acts without a saved user."""
    return actor if getattr(actor, "pk", None) else None


def log_model(subject: type[models.Model] | models.Model) -> type[TransitionLog]:
    """The log of a subject (model or instance): the model behind its `transitions` relation."""
    found = subject._meta.get_field("transitions").related_model
    assert isinstance(found, type) and issubclass(found, TransitionLog), found
    return found


def log_transition(
    subject: models.Model,
    *,
    from_state: str,
    to_state: str,
    event: str,
    actor: Any = None,
    reason: str = "",
) -> TransitionLog:
    """Append one row to `subject`'s transition log. Its `at` is the database's clock at the insert, read
    back into the returned row."""
    row = log_model(subject)(  # type: ignore[misc]  # `subject` is declared by the concrete model
        subject=subject,
        from_state=from_state,
        to_state=to_state,
        event=event,
        actor=actor,
        reason=reason,
    )
    row.save(force_insert=True)
    return row


# The columns `log_insert_sql` fills, in the order of `log_insert_params`; the subject's comes last.
_INSERT_FIELDS = ("from_state", "to_state", "event", "actor", "reason", "subject")


def log_insert_sql(subject: type[models.Model], *, subject_sql: str, from_sql: str) -> str:
    """One row of `subject`'s log as SQL, for a statement that stores the subject itself (the intake writes
    an incident, its number and its first log row in one statement): `INSERT INTO <log> (...) SELECT %s, ...,
    <subject_sql> FROM <from_sql>`, where `subject_sql` names the new subject's id in `from_sql` (a CTE that
    returns it). Its parameters: `log_insert_params(...)`. The row's `at` is left to the database, whose
    trigger writes its clock (below), as for every other row."""
    log = log_model(subject)
    cols = ", ".join(_column(log, name) for name in _INSERT_FIELDS)
    values = ", ".join(["%s"] * (len(_INSERT_FIELDS) - 1))
    table = connection.ops.quote_name(log._meta.db_table)
    return f"INSERT INTO {table} ({cols}) SELECT {values}, {subject_sql} FROM {from_sql}"  # noqa: S608  # names from the model


def _column(model: type[models.Model], name: str) -> str:
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field) and field.column, field
    return connection.ops.quote_name(field.column)


def log_insert_params(*, from_state: str, to_state: str, event: str, actor: Any = None, reason: str = "") -> list[Any]:
    """The parameters of `log_insert_sql`'s statement, as `log_transition` takes them."""
    user = acting_user(actor)
    return [from_state, to_state, event, user.pk if user is not None else None, reason]


# The database refuses it too: a trigger on every concrete log's table raises on UPDATE and DELETE, so a
# raw SQL statement, a shell or another program cannot rewrite history either. Installed after every
# migrate (apps.py), for every TransitionLog subclass whose table exists: a new app's log is covered
# without a migration of its own. TRUNCATE is left alone here (tests flush their databases with it); the
# app's own database role has no TRUNCATE, and cannot disable these triggers (dbroles.py).
_TRIGGER_FUNCTION = """
CREATE OR REPLACE FUNCTION cc_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'transition logs are append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""

# A second trigger gives every new row the database's time, whatever the client sent: a back-dated row
# cannot be slipped in. clock_timestamp(), not now(): now() is the start of the transaction, and a
# transaction that began, then waited for a subject's lock while another moved it, would log its step
# *before* the step it waited for (`ORDER BY at, id` would show B's move ahead of A's, although B's
# from_state is A's to_state). clock_timestamp() is read at the insert, after the lock: one subject's rows
# stand in the order they were written. Within one transaction the clock does not go back (barring the
# server's clock being stepped back), and two rows in the same microsecond fall back on `id`, which the
# sequence hands out in insert order. Qualified with pg_catalog: no search_path can put another function
# in its place.
_TIME_FUNCTION = """
CREATE OR REPLACE FUNCTION cc_log_time() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.at := pg_catalog.clock_timestamp();
    RETURN NEW;
END
$$
"""


def transition_log_tables(using: str = "default") -> list[str]:
    """The tables of every concrete TransitionLog that exist in database `using`."""
    from django.apps import apps
    from django.db import connections

    existing = set(connections[using].introspection.table_names())
    return sorted(
        m._meta.db_table
        for m in apps.get_models()
        if issubclass(m, TransitionLog) and not m._meta.abstract and m._meta.db_table in existing
    )


def install_append_only_triggers(using: str = "default") -> list[str]:
    """Create (or re-create) the refusing trigger and the clock trigger on every transition-log table;
    returns the tables."""
    from django.db import connections, transaction

    connection = connections[using]
    tables = transition_log_tables(using)
    # One transaction: no insert ever finds a table between the DROP and the CREATE of its trigger.
    with transaction.atomic(using=using), connection.cursor() as cur:
        cur.execute(_TRIGGER_FUNCTION)
        cur.execute(_TIME_FUNCTION)
        for table in tables:
            name = connection.ops.quote_name(table)
            cur.execute(f"DROP TRIGGER IF EXISTS cc_append_only ON {name}")
            cur.execute(
                f"CREATE TRIGGER cc_append_only BEFORE UPDATE OR DELETE ON {name} "
                "FOR EACH ROW EXECUTE FUNCTION cc_append_only()"
            )
            cur.execute(f"DROP TRIGGER IF EXISTS cc_log_time ON {name}")
            cur.execute(
                f"CREATE TRIGGER cc_log_time BEFORE INSERT ON {name} FOR EACH ROW EXECUTE FUNCTION cc_log_time()"
            )
    return tables
