"""What links to a lower app's rows from above, without the lower app importing the higher one.

A 网情 warning (sentiment) becomes a 研判 (intel); the warning's page must show that analysis, yet sentiment
imports no intel (docs/architecture.md). The higher app registers, in its AppConfig.ready, a function that
answers for a batch of the lower app's rows; the lower app asks this registry while it builds its rows.

    # intel/apps.py
    links.provide("sentiment.warning", selectors.analyses_linked_to_warnings)

    # sentiment/selectors.py
    found = links.collect("sentiment.warning", [w.pk for w in rows], user)   # {id: [{kind, id, title, url}]}
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

Link = dict[str, Any]
Provider = Callable[[list[int], Any], "dict[int, list[Link]]"]

_providers: dict[str, list[Provider]] = {}


def provide(model: str, fn: Provider) -> None:
    """`fn(ids, user)` returns, for the rows of `model` ("app_label.modelname") with those ids, the links the
    user may read: dicts with at least `kind`, `id`, `title` and `url`. Registering again is a no-op."""
    found = _providers.setdefault(model, [])
    if fn not in found:
        found.append(fn)


def collect(model: str, ids: Iterable[int], user: Any) -> dict[int, list[Link]]:
    """Every provider's links for the rows, by row id (rows without links are left out)."""
    wanted = list(dict.fromkeys(ids))
    out: dict[int, list[Link]] = {}
    if not wanted:
        return out
    for fn in _providers.get(model, []):
        for pk, rows in fn(wanted, user).items():
            out.setdefault(pk, []).extend(rows)
    return out
