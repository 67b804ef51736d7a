"""The kept connection's health check (command_center/pgbackend): no round trip while the connection is
alive; a connection whose server backend was terminated is found dead and replaced before a query fails."""

from __future__ import annotations

import select
import time
from collections.abc import Iterator
from typing import Any

import psycopg2
import pytest
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper


class CountingConnection:
    """The psycopg2 connection, counting the cursors opened on it (Django's health check opens one)."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.cursors = 0

    def cursor(self, *args: Any, **kwargs: Any) -> Any:
        self.cursors += 1
        return self.raw.cursor(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)


@pytest.fixture
def kept() -> Iterator[BaseDatabaseWrapper]:
    """A connection of its own, kept between requests as gunicorn's workers keep theirs."""
    conn = connections.create_connection("default")
    conn.settings_dict["CONN_MAX_AGE"] = 60
    conn.ensure_connection()
    yield conn
    conn.close()


def terminate(conn: BaseDatabaseWrapper) -> None:
    pid = conn.connection.info.backend_pid
    s = conn.settings_dict
    other = psycopg2.connect(dbname=s["NAME"], user=s["USER"], host=s["HOST"] or None, port=s["PORT"] or None)
    try:
        other.autocommit = True
        with other.cursor() as cur:
            cur.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        other.close()
    deadline = time.monotonic() + 10
    while not select.select([conn.connection.fileno()], [], [], 0.1)[0]:
        assert time.monotonic() < deadline, "the terminated backend's socket never turned readable"


@pytest.mark.django_db
def test_a_live_kept_connection_is_checked_without_a_query(kept: BaseDatabaseWrapper) -> None:
    assert kept.vendor == "postgresql" and type(kept).__module__ == "command_center.pgbackend.base"
    counting = CountingConnection(kept.connection)
    kept.connection = counting
    try:
        assert kept.is_usable()
        assert counting.cursors == 0, "a live connection is checked by its socket, not by SELECT 1"
    finally:
        kept.connection = counting.raw


@pytest.mark.django_db
def test_a_terminated_backend_is_found_and_replaced_before_the_query(kept: BaseDatabaseWrapper) -> None:
    before = kept.connection.info.backend_pid
    terminate(kept)
    assert not kept.is_usable()
    # a new request: the check runs before its first query, closes the dead connection, and the query runs
    kept.close_if_unusable_or_obsolete()
    with kept.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        (after,) = cur.fetchone()
    assert after != before


@pytest.mark.django_db
def test_something_to_read_on_a_live_connection_falls_back_to_select_1(kept: BaseDatabaseWrapper) -> None:
    """A message the server sends unasked (here a NOTIFY on a channel this connection listens to) makes the
    socket readable on a live connection: the check asks the server, and the connection is kept."""
    raw = kept.connection
    raw.autocommit = True
    with raw.cursor() as cur:
        cur.execute("LISTEN cc_health_probe")
        cur.execute("NOTIFY cc_health_probe")
    s = kept.settings_dict
    other = psycopg2.connect(dbname=s["NAME"], user=s["USER"], host=s["HOST"] or None, port=s["PORT"] or None)
    try:
        other.autocommit = True
        with other.cursor() as cur:
            cur.execute("NOTIFY cc_health_probe")
    finally:
        other.close()
    deadline = time.monotonic() + 10
    while not select.select([raw.fileno()], [], [], 0.1)[0]:
        assert time.monotonic() < deadline
    counting = CountingConnection(raw)
    kept.connection = counting
    try:
        assert kept.is_usable()
        assert counting.cursors == 1, "something to read: Django's SELECT 1 decides"
    finally:
        kept.connection = raw
