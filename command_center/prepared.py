"""Server-side prepared statements for the few fixed statements every intake sends, on psycopg2.

psycopg2 sends each statement as text, so PostgreSQL parses and plans it every time; for the intake's
token read and insert that was most of the server's time (≈ 0.9 and 0.6 ms of planning, against a fraction
of that running). On a connection kept across requests (CONN_MAX_AGE > 0: the WSGI server) `execute`
prepares the statement once per connection (`PREPARE name AS …`, its own round trip) and from then on sends
`EXECUTE name(…)`. On a connection opened per request (CONN_MAX_AGE=0: the ASGI servers) the PREPARE would
cost more than it saves, and the statement is sent as it is; so it is with `PREPARED_STATEMENTS = False` (a
pooler in transaction mode, such as PgBouncer's, does not keep a session's prepared statements).

Only statements whose plan does not hang on their values belong here (a lookup by primary key, an insert),
or whose generic plan has been checked where it could go wrong: after five executions PostgreSQL may keep a
generic plan, made without the values, for good. The intake's ledger read (incidents/selectors.py) is of the
second kind: written so that each cell is read by its own index whatever the statistics, its generic plan
is checked on a young table with stale statistics (tests/command_center/test_prepared.py) and on a
province's table by `bench/province.py` (`ledger_plan`).

A prepared statement belongs to the session and not to a transaction (a rollback keeps it), so the names
prepared are remembered per underlying psycopg2 connection: a new connection (Django reconnects after an
error or at CONN_MAX_AGE) starts with none. The statements are the caller's own fixed SQL; PostgreSQL
replans a prepared statement by itself when a table it reads changes (a migration).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from django.conf import settings

_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%s|%%")
_prepared: dict[str, tuple[str, list[str] | None, int]] = {}  # name -> (SQL with $n, names in order, count)


def _convert(sql: str) -> tuple[str, list[str] | None, int]:
    """Django's placeholders (`%s`, or `%(name)s`) as PostgreSQL's (`$1`, …): the SQL, the parameter names in
    $n order (None for positional parameters) and how many there are."""
    names: list[str] = []
    count = 0

    def sub(m: re.Match[str]) -> str:
        nonlocal count
        if m.group(0) == "%%":
            return "%"
        if m.group(1) is None:
            count += 1
            return f"${count}"
        if m.group(1) not in names:
            names.append(m.group(1))
        return f"${names.index(m.group(1)) + 1}"

    text = _PLACEHOLDER.sub(sub, sql)
    if names and count:
        raise ValueError("a statement takes positional or named parameters, not both")
    return text, (names or None), (len(names) or count)


def _enabled(db: Any) -> bool:
    return bool(getattr(settings, "PREPARED_STATEMENTS", True)) and db.settings_dict.get("CONN_MAX_AGE") != 0


def execute(cur: Any, name: str, sql: str, params: Sequence[Any] | Mapping[str, Any]) -> None:
    """Run `sql` with `params` on `cur` (a Django cursor), prepared as `name` when its connection is kept (see
    above). `name` stands for this `sql` only, in the whole process."""
    db = cur.db  # this thread's connection (django.db.connection is a proxy shared by the threads)
    if not _enabled(db):
        cur.execute(sql, params)
        return
    if name not in _prepared:
        _prepared[name] = _convert(sql)
    text, names, count = _prepared[name]
    raw = db.connection
    state: tuple[Any, set[str]] | None = db.__dict__.get("_cc_prepared")
    if state is None or state[0] is not raw:
        state = (raw, set())
        db.__dict__["_cc_prepared"] = state
    if name not in state[1]:
        cur.execute(f"PREPARE {name} AS {text}")  # no parameters: psycopg2 leaves its text alone
        state[1].add(name)
    values = [params[n] for n in names] if names is not None else list(params)  # type: ignore[call-overload]
    assert len(values) == count, (name, len(values), count)
    cur.execute(f"EXECUTE {name}({', '.join(['%s'] * count)})" if count else f"EXECUTE {name}", values)
