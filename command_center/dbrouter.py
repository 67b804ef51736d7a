"""Reads of the analytics paths on a read replica, when one is configured; everything else on `default`.

`DATABASE_REPLICA_URL` (optional) adds the `replica` alias and sets settings.READ_REPLICA to it. A read path
that can bear the replica's lag (the KPIs, the hotspots, the report's sections) enters `use_replica()`;
inside it `db_for_read` answers the replica, outside it (and with no replica configured) `default`. Writes
always go to `default`, even inside `use_replica()`, and migrations run on `default` only.

Only pure reads belong inside: a QuerySet built there and evaluated after the block reads `default`, and a
`select_for_update` there would reach a standby that refuses it.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any, ParamSpec, TypeVar

from django.conf import settings

DEFAULT = "default"
REPLICA = "replica"

_reading: ContextVar[bool] = ContextVar("command_center_use_replica", default=False)

P = ParamSpec("P")
R = TypeVar("R")


@contextlib.contextmanager
def use_replica() -> Iterator[None]:
    """Reads inside go to the replica (if one is configured)."""
    token = _reading.set(True)
    try:
        yield
    finally:
        _reading.reset(token)


def reads_replica(func: Callable[P, R]) -> Callable[P, R]:
    """`func`'s reads go to the replica (if one is configured): use_replica() as a decorator."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with use_replica():
            return func(*args, **kwargs)

    return wrapper


def read_alias() -> str:
    """The alias a read goes to here and now."""
    replica = getattr(settings, "READ_REPLICA", None)
    return replica if replica and _reading.get() else DEFAULT


class ReplicaRouter:
    """settings.DATABASE_ROUTERS: reads by read_alias(), writes and migrations on default."""

    def db_for_read(self, model: type, **hints: Any) -> str:
        return read_alias()

    def db_for_write(self, model: type, **hints: Any) -> str:
        return DEFAULT

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        # Both aliases are the same database (one a copy of the other).
        if {obj1._state.db, obj2._state.db} <= {DEFAULT, REPLICA, None}:
            return True
        return None

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool:
        return db == DEFAULT
