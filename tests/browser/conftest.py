"""Browser tests run against the live server (tests/conftest.py `asgi_live_server`), a child process with
connections of its own to the test database. After each transactional test pytest-django flushes the tables
with one TRUNCATE; a request the closed page left running in the server (a last poll, a socket's goodbye)
could still hold row locks then, and the TRUNCATE and that request deadlocked once (the next test then found
the last one's rows). So, before the flush, wait until no other connection to the test database is busy."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

QUIET_WAIT_S = 10


@pytest.fixture(autouse=True)
def _live_server_quiet(request: Any) -> Iterator[None]:
    if "asgi_live_server" not in request.fixturenames:
        yield
        return
    # Requested here, so set up before this fixture and flushed only after this one's teardown has run.
    request.getfixturevalue("_django_db_helper")
    yield
    from django.db import connection

    deadline = time.monotonic() + QUIET_WAIT_S
    while time.monotonic() < deadline:
        with connection.cursor() as cur:
            cur.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND state IN ('active', 'idle in transaction')"
            )
            row = cur.fetchone()
        if not row or row[0] == 0:
            return
        time.sleep(0.1)
