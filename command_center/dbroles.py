"""Two database roles: the owner migrates and owns every table; the app role owns nothing.

`DATABASE_URL` names the app role: web, ws, worker, beat and the simulator connect as it. It reads and
writes rows, and on the transition logs it may only read and add: no UPDATE, DELETE or TRUNCATE there, no
ownership anywhere (so no ALTER TABLE … DISABLE TRIGGER, no DROP TRIGGER), no CREATE in the schema, no
superuser (so no `SET session_replication_role = replica`, which would silence the triggers).

`DATABASE_OWNER_URL` names the owner role, and only `manage.py migrate` connects as it: this project's
`migrate` command (management/commands/migrate.py) swaps the default connection's credentials for the
owner's, migrates, then grants the app role its rights (`grant_app_role`) — after every migrate, so a new
table is covered the moment it exists. Whoever runs `migrate` (make run, the compose `migrate` service, an
operator by hand) gets the same: there is no second command to forget. Without `DATABASE_OWNER_URL` a
`migrate` runs as DATABASE_URL's role: where that is the app role, it fails on its first CREATE, loudly.
The app's processes are never given the owner's URL.

Unset, DATABASE_URL's role does everything, as in development and CI (`make test` creates and flushes
its own databases).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections, transaction

from .audit import transition_log_tables

# What the owner's URL changes on the connection; the database name stays (settings.py checks they agree,
# and under a test runner it is the test database's).
CREDENTIALS = ("USER", "PASSWORD", "HOST", "PORT")
# Role attributes that would let the app role step around its grants (a superuser bypasses every check and
# may set session_replication_role; BYPASSRLS, CREATEROLE, CREATEDB and REPLICATION are not its business).
FORBIDDEN_ATTRIBUTES = {
    "rolsuper": "SUPERUSER",
    "rolcreatedb": "CREATEDB",
    "rolcreaterole": "CREATEROLE",
    "rolreplication": "REPLICATION",
    "rolbypassrls": "BYPASSRLS",
}


@contextmanager
def as_owner(using: str = DEFAULT_DB_ALIAS) -> Iterator[str | None]:
    """Inside the block, connection `using` is the owner's (DATABASE_OWNER_URL). Yields the app role to
    grant to afterwards (DATABASE_URL's user), or None where there is one role: no owner URL, the same
    user in both, or another alias than the default."""
    owner = settings.DATABASE_OWNER
    connection = connections[using]
    app_role = str(connection.settings_dict.get("USER") or "")
    if owner is None or using != DEFAULT_DB_ALIAS or owner.get("USER") == app_role:
        yield None
        return
    if not app_role:
        raise ImproperlyConfigured("DATABASE_URL must name its user when DATABASE_OWNER_URL is set.")
    saved = {key: connection.settings_dict.get(key) for key in CREDENTIALS}
    connection.close()
    connection.settings_dict.update({key: owner.get(key, "") for key in CREDENTIALS})
    try:
        yield app_role
    finally:
        connection.close()
        connection.settings_dict.update(saved)


def app_role_problems(role: str, *, using: str = DEFAULT_DB_ALIAS) -> list[str]:
    """Why `role` may not be the app role here (empty: it may): an attribute it must not have, membership
    of the connected (owner) role, or something it owns in this database."""
    with connections[using].cursor() as cur:
        cur.execute(f"SELECT {', '.join(FORBIDDEN_ATTRIBUTES)} FROM pg_roles WHERE rolname = %s", [role])  # noqa: S608
        row = cur.fetchone()
        if row is None:
            return [f"there is no database role {role!r}"]
        problems = [f"it has {attr}" for attr, value in zip(FORBIDDEN_ATTRIBUTES.values(), row, strict=True) if value]
        cur.execute("SELECT %s = current_user OR pg_has_role(%s, current_user, 'MEMBER')", [role, role])
        if cur.fetchone()[0]:
            problems.append("it is the owner role or a member of it")
        cur.execute(
            """
            SELECT (SELECT count(*) FROM pg_class WHERE relowner = r.oid)
                 + (SELECT count(*) FROM pg_proc WHERE proowner = r.oid)
                 + (SELECT count(*) FROM pg_namespace WHERE nspowner = r.oid)
                 + (SELECT count(*) FROM pg_database WHERE datdba = r.oid AND datname = current_database())
              FROM pg_roles r WHERE r.rolname = %s
            """,
            [role],
        )
        if cur.fetchone()[0]:
            problems.append("it owns objects in this database (the owner role must own them)")
        if connections[using].pg_version >= 150000:  # type: ignore[attr-defined]
            cur.execute("SELECT has_parameter_privilege(%s, 'session_replication_role', 'SET')", [role])
            if cur.fetchone()[0]:
                problems.append("it may SET session_replication_role")
    return problems


def grant_app_role(role: str, *, using: str = DEFAULT_DB_ALIAS) -> None:
    """As the owner: give `role` exactly what the app needs in this database, and PUBLIC nothing it should
    not have. Idempotent (everything is revoked, then granted, in one transaction: a running app sees the
    old rights or the new, never none). Refuses (ImproperlyConfigured) a role that could step around it."""
    problems = app_role_problems(role, using=using)
    if problems:
        raise ImproperlyConfigured(f"The app's database role {role!r} is unsafe: {'; '.join(problems)}.")
    connection = connections[using]
    q = connection.ops.quote_name
    with transaction.atomic(using=using), connection.cursor() as cur:
        cur.execute("SELECT current_database(), current_schema()")
        database, schema = cur.fetchone()
        db, s, r = q(database), q(schema), q(role)
        statements = [
            # PUBLIC (every role, present and future): no connecting, no temporary tables, no CREATE in the
            # schema (PostgreSQL before 15 gave it), nothing on any table or sequence.
            f"REVOKE ALL ON DATABASE {db} FROM PUBLIC",
            f"REVOKE CREATE ON SCHEMA {s} FROM PUBLIC",
            f"REVOKE ALL ON ALL TABLES IN SCHEMA {s} FROM PUBLIC",
            f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {s} FROM PUBLIC",
            # The app role: from nothing to exactly this. Rows on every table (no TRUNCATE, REFERENCES or
            # TRIGGER); numbers from the sequences (no setval).
            f"REVOKE ALL ON DATABASE {db} FROM {r}",
            f"GRANT CONNECT ON DATABASE {db} TO {r}",
            f"REVOKE ALL ON SCHEMA {s} FROM {r}",
            f"GRANT USAGE ON SCHEMA {s} TO {r}",
            f"REVOKE ALL ON ALL TABLES IN SCHEMA {s} FROM {r}",
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {s} TO {r}",
            f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {s} FROM {r}",
            f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {s} TO {r}",
            # The transition logs: read and add, nothing more (the triggers refuse the rest to everyone).
            *(f"REVOKE UPDATE, DELETE ON {q(table)} FROM {r}" for table in transition_log_tables(using)),
        ]
        for statement in statements:
            cur.execute(statement)
