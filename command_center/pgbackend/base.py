"""Django's PostgreSQL backend, but a kept connection's health check looks at its socket first.

`CONN_HEALTH_CHECKS` makes Django check a kept connection before a request's first query, so a request
after a PostgreSQL restart finds a dead connection replaced instead of failing. Django checks by sending
`SELECT 1`: one round trip to the server on every request, which on the intake path was a sixth of the
statements and a wait for the server to be scheduled.

An idle connection has nothing to read. When the server goes away — restarted, the backend terminated,
the pooler restarted — the socket turns readable: the server's last message (a FATAL "terminating
connection") or the end of the stream. So: nothing to read and libpq not in error means usable, with no
round trip. Anything to read (a dead socket, or a rare message a live server sends unasked, a NOTIFY or a
parameter change) falls back to Django's `SELECT 1`, which tells the two apart. A server that vanished
without closing its sockets (its host lost) is caught by neither check before the query times out.
"""

from __future__ import annotations

import select

from django.db.backends.postgresql import base
from psycopg2 import extensions


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        conn = self.connection
        if conn is None or conn.closed:
            return False
        if conn.info.transaction_status != extensions.TRANSACTION_STATUS_IDLE:
            return bool(super().is_usable())  # in a transaction, or libpq already knows it is broken
        try:
            readable, _, _ = select.select([conn.fileno()], [], [], 0)
        except (OSError, ValueError):  # the socket is gone
            return False
        return True if not readable else bool(super().is_usable())
