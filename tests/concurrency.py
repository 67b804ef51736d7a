"""Racing threads for the concurrency tests: n calls of fn(k) released together by a barrier, each on its
own database connection (closed after), as n people pressing the same button at once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db import connection


def parallel(n: int, fn: Callable[[int], Any], *, timeout: float = 120) -> list[Any]:
    """The results of fn(0) … fn(n-1) run at once (in completion order); any exception fails the test."""
    barrier = threading.Barrier(n)
    results: list[Any] = []
    errors: list[BaseException] = []

    def run(k: int) -> None:
        try:
            barrier.wait()
            results.append(fn(k))
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    assert not errors, errors
    return results
