"""The app's database role (DATABASE_URL) cannot erase, rewrite or back-date the audit trail, and can do the
app's work; the owner role (DATABASE_OWNER_URL) migrates and grants.

A throwaway role per test gets exactly what production's app role gets (`dbroles.grant_app_role`, the
function `migrate` calls) and connects to the test database as itself (trust on 127.0.0.1 and on the
embedded server's socket, as CI and `make test` have it).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta

import psycopg2
import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import DatabaseError, connection
from django.test import override_settings
from django.utils import timezone

from command_center import codes, dbroles
from command_center.models import Org
from incidents.models import Incident, IncidentTransition
from tests.incidents.conftest import api_as, call


@pytest.fixture
def coded(world):
    codes.load_defaults()
    Org.objects.filter(pk=world.station_a1.pk).update(lat=30.2900, lon=120.1600)
    return world


# Literal names in the statements below; these are the models' tables.
assert IncidentTransition._meta.db_table == "incidents_incidenttransition"
assert Incident._meta.db_table == "incidents_incident"
ROLE_ATTRIBUTES = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"


def _execute(sql: str) -> None:
    with connection.cursor() as cur:
        cur.execute(sql)


@pytest.fixture
def app_role(transactional_db) -> Iterator[str]:
    """A fresh role, granted as production grants its app role; dropped (with its grants) afterwards."""
    role = f"cc_test_app_{secrets.token_hex(4)}"
    _execute(f"CREATE ROLE {role} {ROLE_ATTRIBUTES}")
    try:
        dbroles.grant_app_role(role)
        yield role
    finally:
        connection.close()  # the test may have swapped it; the next statement reconnects as configured
        _execute(f"DROP OWNED BY {role}")
        _execute(f"DROP ROLE {role}")


def connect_as(role: str) -> psycopg2.extensions.connection:
    s = connection.settings_dict
    conn = psycopg2.connect(
        dbname=s["NAME"],
        user=role,
        host=s["HOST"] or None,
        port=s["PORT"] or None,
        options="-c lock_timeout=5s -c statement_timeout=10s",  # a refusal must never turn into a wait
    )
    conn.autocommit = True
    return conn


@contextlib.contextmanager
def django_as(role: str) -> Iterator[None]:
    """The test's own Django connection, as `role` (what DATABASE_URL=…role… gives the app)."""
    saved = connection.settings_dict["USER"], connection.settings_dict["PASSWORD"]
    connection.close()
    connection.settings_dict["USER"], connection.settings_dict["PASSWORD"] = role, ""
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["USER"], connection.settings_dict["PASSWORD"] = saved


def attempt(conn: psycopg2.extensions.connection, sql: str) -> str:
    """The SQLSTATE a statement fails with, or "ran"."""
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
        return "ran"
    except psycopg2.Error as exc:
        return str(exc.pgcode)


REFUSED = "42501"  # insufficient_privilege

# Every way the issue names (and a few more) to make the audit trail lie, as the app role.
ATTACKS = {
    "truncate a log": "TRUNCATE incidents_incidenttransition",
    "truncate a log through its subject": "TRUNCATE incidents_incident CASCADE",
    "silence triggers for the session": "SET session_replication_role = replica",
    "disable a log's triggers": "ALTER TABLE incidents_incidenttransition DISABLE TRIGGER ALL",
    "drop the append-only trigger": "DROP TRIGGER cc_append_only ON incidents_incidenttransition",
    "drop the clock trigger": "DROP TRIGGER cc_log_time ON incidents_incidenttransition",
    "replace the clock": (
        "CREATE OR REPLACE FUNCTION cc_log_time() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$"
    ),
    "rewrite a log row": "UPDATE incidents_incidenttransition SET reason = 'rewritten'",
    "delete log rows": "DELETE FROM incidents_incidenttransition",
    "upsert over a log row": (
        "INSERT INTO incidents_incidenttransition (id, from_state, to_state, event, reason, subject_id) "
        "SELECT id, from_state, to_state, event, 'x', subject_id FROM incidents_incidenttransition "
        "ON CONFLICT (id) DO UPDATE SET reason = 'rewritten'"
    ),
    "create a table": "CREATE TABLE cc_attack (id int)",
    "create a temporary table": "CREATE TEMP TABLE cc_attack (id int)",
    "create a function in the schema": "CREATE FUNCTION cc_attack() RETURNS int LANGUAGE sql AS 'SELECT 1'",
    "rewind a log's numbering": "SELECT setval(pg_get_serial_sequence('incidents_incidenttransition', 'id'), 1)",
    "take the log's ownership": "ALTER TABLE incidents_incidenttransition OWNER TO CURRENT_USER",
}


def test_the_app_role_cannot_erase_rewrite_or_back_date_the_audit_trail(app_role, coded):
    with django_as(app_role):
        incident = api_as(coded.duty).post("/api/incidents/", call(), format="json").json()
    app = connect_as(app_role)
    try:
        outcomes = {name: attempt(app, sql) for name, sql in ATTACKS.items()}
        # A row slipped in with a time of the client's choosing is stored with the database's.
        with app.cursor() as cur:
            cur.execute(
                "INSERT INTO incidents_incidenttransition (from_state, to_state, event, reason, subject_id, at) "
                "VALUES ('closed', 'closed', 'forged', '', %s, '2001-01-01 00:00:00+00') RETURNING at",
                [incident["id"]],
            )
            (forged_at,) = cur.fetchone()
            cur.execute("SELECT current_setting('session_replication_role')")
            (replication_role,) = cur.fetchone()
    finally:
        app.close()
    assert outcomes == dict.fromkeys(ATTACKS, REFUSED)
    assert replication_role == "origin"
    assert forged_at > timezone.now() - timedelta(minutes=5)
    assert list(IncidentTransition.objects.filter(subject_id=incident["id"]).values_list("event", "reason")) == [
        ("intake", ""),
        ("forged", ""),
    ]  # nothing truncated, rewritten or deleted
    assert dbroles.app_role_problems(app_role) == []  # and it still owns nothing, is nobody special


def test_the_app_role_does_the_apps_work(app_role, coded):
    """Intake (the one-statement insert with its log row and number), actions, feedback, close, callback:
    rows written, updated and deleted (clocks), sequences drawn — and the timeline shows the stored times."""
    with django_as(app_role):
        duty = api_as(coded.duty)
        r = duty.post("/api/incidents/", call(), format="json")
        assert r.status_code == 201, r.content
        pk = r.json()["id"]
        for action, body in (
            ("self-handle", {"reason": "电话劝导"}),
            ("feedback", {"text": "已劝导", "result": "05"}),
            ("close", {}),
            ("callback", {"channel": "phone", "satisfaction": "satisfied"}),
        ):
            r = duty.post(f"/api/incidents/{pk}/{action}/", body, format="json")
            assert r.status_code in (200, 201), (action, r.content)
        timeline = duty.get(f"/api/incidents/{pk}/").json()["timeline"]
        with connection.cursor() as cur:
            cur.execute("SELECT current_user")
            assert cur.fetchone() == (app_role,)
    stored = list(IncidentTransition.objects.filter(subject_id=pk).values_list("to_state", "at"))
    shown = [(t["to"], datetime.fromisoformat(t["at"])) for t in timeline if t["type"] == "transition"]
    assert shown == stored
    assert [state for state, _at in stored] == ["received", "self_handled", "self_handled", "closed", "closed"]


@pytest.mark.django_db(transaction=True)
def test_migrate_runs_as_the_owner_and_grants_the_app_role(app_role):
    """`migrate` with DATABASE_OWNER_URL set connects as the owner (a migrate as the app role fails: it may
    not create the audit triggers), then grants DATABASE_URL's role — a right taken away comes back."""
    s = connection.settings_dict
    owner = {"USER": s["USER"], "PASSWORD": s["PASSWORD"], "HOST": s["HOST"], "PORT": s["PORT"]}
    _execute(f"REVOKE INSERT ON incidents_incident FROM {app_role}")
    with django_as(app_role):
        with override_settings(DATABASE_OWNER=None), pytest.raises(DatabaseError, match=r"owner|permission"):
            call_command("migrate", verbosity=0)
        with override_settings(DATABASE_OWNER=owner):
            call_command("migrate", verbosity=0)
        with connection.cursor() as cur:
            cur.execute("SELECT current_user, has_table_privilege(%s, 'INSERT')", [Incident._meta.db_table])
            assert cur.fetchone() == (app_role, True)


@pytest.mark.parametrize("attribute", ["SUPERUSER", "CREATEDB", "CREATEROLE", "REPLICATION", "BYPASSRLS"])
def test_grant_refuses_an_app_role_that_could_step_around_it(db, attribute):
    role = f"cc_test_app_{secrets.token_hex(4)}"
    _execute(f"CREATE ROLE {role} LOGIN {attribute}")  # rolled back with the test
    with pytest.raises(ImproperlyConfigured, match=attribute):
        dbroles.grant_app_role(role)


def test_grant_refuses_a_member_of_the_owner_role_and_a_role_that_owns_tables(db):
    member, owner_of_things = (f"cc_test_app_{secrets.token_hex(4)}" for _ in range(2))
    _execute(f"CREATE ROLE {member} {ROLE_ATTRIBUTES} IN ROLE {connection.settings_dict['USER']}")
    _execute(f"CREATE ROLE {owner_of_things} {ROLE_ATTRIBUTES}")
    _execute(f"ALTER TABLE incidents_incident OWNER TO {owner_of_things}")
    with pytest.raises(ImproperlyConfigured, match="member"):
        dbroles.grant_app_role(member)
    with pytest.raises(ImproperlyConfigured, match="owns"):
        dbroles.grant_app_role(owner_of_things)
    with pytest.raises(ImproperlyConfigured, match="no database role"):
        dbroles.grant_app_role("cc_no_such_role")


def test_the_owner_url_must_name_the_apps_database():
    env = {
        **os.environ,
        "DATABASE_URL": "postgres://cc_app@127.0.0.1:5432/command_center",
        "DATABASE_OWNER_URL": "postgres://cc_owner@127.0.0.1:5432/elsewhere",
        "DJANGO_SETTINGS_MODULE": "command_center.settings",
    }
    out = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env=env,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
    )
    assert out.returncode != 0 and "must name the same database" in out.stderr
