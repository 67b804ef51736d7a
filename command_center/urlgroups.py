"""The API's URL patterns grouped by their first segment, so resolving a path tries only its own group.

Django resolves a path by trying every pattern in order, and a miss inside an include raises and collects
what it tried; `/api/` holds about 160 routes (each app's router), and `/api/incidents/` came after the
gazetteer's and dispatch's (resolving it took 57 µs; grouped, 39 µs: README, "Levers of the second round").
`by_first_segment` takes the same patterns and returns one include per first path segment
(`incidents`, `directives`, `auth`, …), each matched by a string comparison that consumes nothing, holding
that segment's patterns in their original order. A path resolves to the view it resolved to before: only
patterns that could never match it (another first segment) are skipped.

A pattern whose first segment is not a literal (a converter or a regex group there) cannot be grouped; then
the patterns are returned as they were (`grouped` says which). Includes are opened only when they add no
prefix, namespace or arguments (the apps' `path("", include("app.urls"))`); reversing is unchanged, as
the groups add nothing to a URL.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from django.urls import URLPattern, URLResolver
from django.urls.resolvers import RegexPattern, RoutePattern

_LITERAL = re.compile(r"[A-Za-z0-9_-]+")


class FirstSegment(RoutePattern):
    """Matches a path whose first segment is `segment` (followed by `/`, `.` or the end), consuming nothing.
    Its text is empty, as the include it stands for: a match's `route` (the metrics' label) is unchanged."""

    def __init__(self, segment: str) -> None:
        super().__init__("", is_endpoint=False)
        self.segment = segment
        self._len = len(segment)

    def match(self, path: str) -> tuple[str, tuple[Any, ...], dict[str, Any]] | None:
        if path.startswith(self.segment) and (len(path) == self._len or path[self._len] in "/."):
            return path, (), {}
        return None


def _leaves(patterns: Sequence[URLPattern | URLResolver]) -> list[URLPattern | URLResolver] | None:
    """The patterns with every plain include (no prefix, namespace or arguments) opened, in order."""
    out: list[URLPattern | URLResolver] = []
    for p in patterns:
        plain = (
            isinstance(p, URLResolver)
            and isinstance(p.pattern, RoutePattern)
            and str(p.pattern) == ""
            and p.namespace is None
            and p.app_name is None
            and not p.default_kwargs
        )
        if plain:
            inner = _leaves(p.url_patterns)  # type: ignore[union-attr]
            if inner is None:
                return None
            out.extend(inner)
        else:
            out.append(p)
    return out


def first_segment(p: URLPattern | URLResolver) -> str | None:
    """The literal first segment every path `p` matches begins with, or None when it is not a literal."""
    if isinstance(p.pattern, RoutePattern):
        text = str(p.pattern)
    elif isinstance(p.pattern, RegexPattern):
        text = str(p.pattern).removeprefix("^")
    else:
        return None
    m = _LITERAL.match(text)
    if m is None:
        return None
    rest = text[m.end() :]
    # the segment must end there: a "/", an escaped "." (a format suffix), or the end of the pattern
    if rest.startswith(("/", "\\.", "$")) or rest == "":
        return m.group(0)
    return None


def by_first_segment(patterns: Sequence[URLPattern | URLResolver]) -> list[URLPattern | URLResolver]:
    leaves = _leaves(patterns)
    if leaves is None:
        return list(patterns)
    groups: dict[str, list[URLPattern | URLResolver]] = {}
    for p in leaves:
        seg = first_segment(p)
        if seg is None:
            return list(patterns)
        groups.setdefault(seg, []).append(p)
    return [URLResolver(FirstSegment(seg), group) for seg, group in groups.items()]


def grouped(patterns: Sequence[URLPattern | URLResolver]) -> bool:
    return all(isinstance(p, URLResolver) and isinstance(p.pattern, FirstSegment) for p in patterns)
