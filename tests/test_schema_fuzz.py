"""schemathesis against our own OpenAPI schema, with bounded examples: no request, however odd, is a 500.

Every operation of /api/schema/ is called through the WSGI application as a duty officer (token auth), with
a few generated examples each (derandomized, so CI sees the same cases every run). The loop over the
operations is ours: schemathesis's pytest plugin does not run on this pytest.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error

from command_center import codes
from command_center.wsgi import application

EXAMPLES_PER_OPERATION = 6

# Load schemathesis's lazily imported parts now, at collection: pytest rewrites the modules of every plugin
# it finds (schemathesis is one), and CPython 3.11's parser can fail ("AST constructor recursion depth
# mismatch", gh-106905) when that compile happens mid-suite while another thread is compiling too.
schemathesis.openapi.from_dict(
    {
        "openapi": "3.0.3",
        "info": {"title": "warm-up", "version": "1"},
        "paths": {
            "/x/{id}/": {
                "post": {
                    "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                    "requestBody": {"content": {"application/json": {"schema": {"type": "object"}}}},
                    "responses": {"200": {"description": "ok"}},
                }
            }
        },
    }
).get_all_operations().__next__().ok().as_strategy()  # type: ignore[union-attr]


@pytest.fixture(autouse=True)
def keep_the_test_connection() -> Iterator[None]:
    """Called straight through WSGI, Django closes the database connection after each request (the test
    transaction with it). Django's own test client switches that off the same way."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.django_db(transaction=True)  # each request commits on its own, as in production
def test_no_operation_answers_500(world: Any) -> None:
    from command_center import tokens

    codes.load_defaults()
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)
    failures: list[str] = []
    statuses: list[tuple[str, str, int]] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # an invalid schema raises here, failing the test
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def call(case: Any) -> None:
            # A token per case: a case may revoke the caller's tokens (DELETE /api/auth/tokens/…, revoke-all).
            headers = {"Authorization": f"Token {tokens.token_issue(user=world.duty)[1]}"}
            response = case.call(headers=headers, environ_overrides={"wsgi.url_scheme": "https"})
            statuses.append((case.method, case.path, response.status_code))
            try:
                case.validate_response(response, checks=[not_a_server_error])
            except Exception as exc:
                failures.append(f"{case.method} {case.formatted_path}: {response.status_code} {exc}"[:500])

        call()
    assert operations > 30
    assert sum(1 for *_x, code in statuses if code < 300) > 20  # many cases got through to real work
    assert failures == [], "\n".join(failures)


# The shapes that once answered 500 (issue: JSON nested 50,000 deep, a time in year 1, a NUL byte in a query
# parameter), sent to every operation of the schema: into every JSON body, every query parameter and every
# date-time field. None may answer 5xx.
DEEP = "[" * 50_000 + "]" * 50_000
YEAR_ONE = "0001-01-01T00:00:00+08:00"


def _datetime_fields(op: dict[str, Any], components: dict[str, Any]) -> list[str]:
    body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
    ref = body.get("$ref", "")
    schema = components.get(ref.rsplit("/", 1)[-1], {}) if ref else body
    return [k for k, v in schema.get("properties", {}).items() if v.get("format") == "date-time"]


@pytest.mark.django_db
def test_odd_shapes_reach_no_operation_as_a_500(world: Any) -> None:
    import re

    from rest_framework.test import APIClient

    codes.load_defaults()
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(world.duty)
    schema = client.get("/api/schema/?format=json").json()
    components = schema.get("components", {}).get("schemas", {})
    failures: list[str] = []
    sent = 0
    for path, operations in schema["paths"].items():
        url = re.sub(r"\{[^}]+\}", "1", path)
        for method, op in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            tries: list[tuple[str, dict[str, Any], str | None]] = []
            for p in op.get("parameters", []):
                if p["in"] == "query":
                    tries.append((f"{p['name']}=NUL", {p["name"]: "a\x00b"}, None))
                    if p.get("schema", {}).get("format") in ("date-time", "date"):
                        tries.append((f"{p['name']}=year 1", {p["name"]: YEAR_ONE}, None))
            if method in ("post", "put", "patch"):
                tries.append(("deep JSON", {}, DEEP))
                for field in _datetime_fields(op, components):
                    tries.append((f"{field}=year 1", {}, json.dumps({field: YEAR_ONE})))
            for label, query, body in tries:
                sent += 1
                target = url + ("?" + "&".join(f"{k}={quote(v)}" for k, v in query.items()) if query else "")
                if body is None:
                    r = getattr(client, method)(target)
                else:
                    r = client.generic(method.upper(), target, body, content_type="application/json")
                if r.status_code >= 500:
                    failures.append(f"{method.upper()} {path} {label}: {r.status_code}")
    assert sent > 100
    assert failures == [], "\n".join(failures)
