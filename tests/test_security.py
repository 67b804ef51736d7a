"""Nobody where they don't belong: every URL pattern refuses an anonymous visitor, except the few that are
public by design (login, health, the site's icon, static files, the API schema and its docs, the language
switch)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

# Public by design. Everything else must answer 401, 403 or a redirect to a login page.
PUBLIC = [
    r"^/login/$",
    r"^/logout/$",  # logging out when not logged in changes nothing
    r"^/healthz$",
    r"^/favicon\.ico$",
    r"^/i18n/",  # the language switch (a cookie)
    r"^/api/auth/token/$",  # exchanging a password for a token
    r"^/api/schema/$",
    r"^/metrics$",  # no login: METRICS_TOKEN's bearer, or the machine itself (tests/command_center/test_metrics.py)
    r"^/api/docs/$",
    r"^/admin/login/$",
    r"^/admin/logout/$",
    r"^/static/",
    r"^/admin/command_center/org/jsi18n/$",  # treebeard's admin: the translation catalog for its script
]


def _sample(pattern: str) -> str:
    """A concrete path for a route or regex pattern: every parameter becomes 1."""
    p = re.sub(r"\\\.\(\?P<format>[^)]*\)/\?", "", pattern)  # DRF's optional format suffix
    p = re.sub(r"\(\?P<\w+>[^)]*\)", "1", p)  # named regex groups
    p = re.sub(r"<(?:\w+:)?\w+>", "1", p)  # route converters
    p = p.replace("^", "").replace("$", "").replace("\\", "")
    p = re.sub(r"[?*+]", "", p)
    return p


def _walk(patterns: list[URLPattern | URLResolver], prefix: str = "") -> Iterator[str]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + _sample(str(entry.pattern)))
        else:
            yield "/" + prefix + _sample(str(entry.pattern))


def all_paths() -> list[str]:
    return sorted(set(_walk(get_resolver().url_patterns)))


def refused(response) -> bool:
    if response.status_code in (401, 403):
        return True
    if response.status_code == 302:
        return "login" in response["Location"]
    return False


@pytest.mark.django_db
def test_every_url_refuses_anonymous_visitors(world):
    client = Client(enforce_csrf_checks=False)
    open_doors = []
    checked = 0
    for path in all_paths():
        if any(re.match(p, path) for p in PUBLIC):
            continue
        for method in ("get", "post"):
            r = getattr(client, method)(path, secure=True)
            checked += 1
            if not refused(r):
                open_doors.append(f"{method.upper()} {path} -> {r.status_code}")
    assert checked > 50  # the walk really covered the site
    assert open_doors == [], "\n".join(open_doors)


@pytest.mark.django_db
def test_the_public_ones_answer(world):
    client = Client()
    assert client.get("/login/", secure=True).status_code == 200
    assert client.get("/healthz", secure=True).status_code in (200, 503)
    assert client.get("/favicon.ico", secure=True).status_code == 200
    assert client.get("/api/schema/", secure=True, HTTP_ACCEPT="application/json").status_code == 200
    assert client.get("/api/docs/", secure=True).status_code == 200
