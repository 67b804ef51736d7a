"""Input that used to answer 500: JSON nested 50,000 deep, a time in year 1, a NUL byte in a query string,
and malformed, binary or deeply nested WebSocket frames. Each is now a 400 (or a closed socket) that says why."""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from command_center import codes, inputs
from incidents.models import Incident

from .test_realtime import open_board, run_async, session_cookie

DEEP = "[" * 50_000 + "]" * 50_000


def api_as(user) -> APIClient:
    c = APIClient()
    c.force_authenticate(user)
    return c


def post_raw(client: APIClient, path: str, body: str):
    return client.generic("POST", path, body, content_type="application/json")


# --- JSON nesting ---------------------------------------------------------------------------------------


def test_the_bounded_decoder():
    assert inputs.loads('{"a": [1, {"b": 2}]}') == {"a": [1, {"b": 2}]}
    inputs.loads("[" * 32 + "]" * 32)
    with pytest.raises(inputs.TooDeep):
        inputs.loads("[" * 33 + "]" * 33)
    with pytest.raises(inputs.TooDeep):
        inputs.loads(DEEP)
    with pytest.raises(ValueError):
        inputs.loads("{nope")


@pytest.mark.parametrize(
    "path", ["/api/incidents/", "/api/directives/", "/api/auth/token/", "/api/units/positions/", "/api/analyses/"]
)
def test_json_nested_50000_deep_is_a_400_on_every_json_endpoint(world, path):
    r = post_raw(api_as(world.duty), path, DEEP)
    assert r.status_code == 400, r.content[:200]
    assert "32" in r.json()["detail"]


def test_json_just_over_the_limit_is_refused_and_under_it_is_read(world):
    codes.load_defaults()
    over = '{"call_id": "x", "address": "a", "category": "020500", "narrative": ' + "[" * 40 + "]" * 40 + "}"
    r = post_raw(api_as(world.duty), "/api/incidents/", over)
    assert (r.status_code == 400 and "nested" in r.json()["detail"].lower()) or "嵌套" in r.json()["detail"]
    assert not Incident.objects.exists()


def test_a_deep_checklist_in_a_multipart_report_is_a_field_error(world):
    from intel.api import JSONListField

    field = JSONListField()
    with pytest.raises(Exception) as caught:
        field.to_internal_value("[" * 100 + "]" * 100)
    assert "32" in str(caught.value)


# --- Times a client states ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "when",
    ["0001-01-01T00:00:00+08:00", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59-05:00", "2001-01-01T00:00:00Z"],
)
def test_reported_at_outside_the_window_is_a_400_with_the_range(world, settings, when):
    codes.load_defaults()
    settings.INPUT_PAST_DAYS, settings.INPUT_FUTURE_S = 30, 300
    body = {"call_id": "T1", "address": "东湖路12号", "category": "020500", "reported_at": when}
    before = timezone.now().replace(microsecond=0)
    r = api_as(world.duty).post("/api/incidents/", body, format="json")
    after = timezone.now()
    assert r.status_code == 400, r.content
    message = r.json()["reported_at"][0]
    # The range, to the second, in the server's zone and saying so: [now − 30 days, now + 300 s] as the
    # request saw it (near midnight the two ends fall on different dates than today's).
    stated = re.findall(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0800", message)
    assert len(stated) == 2, message
    earliest, latest = (datetime.strptime(s, "%Y-%m-%d %H:%M:%S %z") for s in stated)
    assert before - timedelta(days=30) <= earliest <= after - timedelta(days=30), message
    assert before + timedelta(seconds=300) <= latest <= after + timedelta(seconds=300), message


def test_reported_at_inside_the_window_is_taken(world, settings):
    codes.load_defaults()
    settings.INPUT_PAST_DAYS = 2
    when = timezone.now() - timedelta(days=1)
    body = {"call_id": "T2", "address": "东湖路12号", "category": "020500", "reported_at": when.isoformat()}
    assert api_as(world.duty).post("/api/incidents/", body, format="json").status_code == 201
    body = {**body, "call_id": "T3", "reported_at": (timezone.now() - timedelta(days=3)).isoformat()}
    assert api_as(world.duty).post("/api/incidents/", body, format="json").status_code == 400
    ahead = {**body, "call_id": "T4", "reported_at": (timezone.now() + timedelta(minutes=10)).isoformat()}
    assert api_as(world.duty).post("/api/incidents/", ahead, format="json").status_code == 400


def test_a_unit_position_from_year_one_is_a_400(world):
    r = api_as(world.duty).post(
        "/api/units/positions/",
        {"positions": [{"unit": 1, "lat": 30.1, "lon": 120.1, "at": "0001-01-01T00:00:00+08:00"}]},
        format="json",
    )
    assert r.status_code == 400


# --- NUL bytes in query strings -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/incidents/hints/?category=02%00",
        "/api/supervision/overdue/?kind=a%00b",
        "/api/codes/categories/?prefix=%00",
        "/api/incidents/?q=%00",
    ],
)
def test_a_nul_byte_in_a_query_parameter_is_a_400(world, path):
    r = api_as(world.duty).get(path)
    assert (r.status_code == 400 and "NUL" in r.json()["detail"]) or "空字符" in r.json()["detail"]


def test_a_nul_byte_on_a_page_is_a_400_too(world):
    c = Client()
    c.force_login(world.duty)
    assert c.get("/incidents/?q=%00").status_code == 400


# --- WebSocket frames -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ({"bytes_data": b"\x00\x01\x02binary"}, 1003),
        ({"text_data": "{not json"}, 1007),
        ({"text_data": DEEP}, 1007),
        ({"text_data": "[" * 40 + "]" * 40}, 1007),
        ({"text_data": '{"type": "ping", "pad": "' + "x" * 10_000 + '"}'}, 1007),
    ],
    ids=["binary", "malformed", "deep", "over-the-limit", "oversized"],
)
def test_a_bad_websocket_frame_closes_the_socket_with_a_log_line(tworld, caplog, frame, code):
    cookie = session_cookie(tworld.station_a1_officer)
    closed: list[int] = []

    async def go():
        comm, _hello = await open_board(cookie)
        await comm.send_to(**frame)
        out = await comm.receive_output(timeout=5)
        assert out["type"] == "websocket.close"
        closed.append(out["code"])
        await comm.wait()

    with caplog.at_level(logging.WARNING, logger="command_center.consumers"):
        run_async(go)
    assert closed == [code]
    lines = [r for r in caplog.records if r.name == "command_center.consumers"]
    assert lines and all(r.exc_info is None for r in lines)
    assert "Traceback" not in caplog.text


def test_a_good_frame_still_gets_its_pong(tworld):
    cookie = session_cookie(tworld.station_a1_officer)

    async def go():
        comm, _hello = await open_board(cookie)
        await comm.send_json_to({"type": "ping"})
        assert (await comm.receive_json_from(timeout=5))["event"] == "pong"
        await comm.disconnect()

    run_async(go)


@pytest.fixture
def tworld(transactional_db):
    from tests.conftest import build_world

    return build_world()


def test_every_api_view_reads_json_through_the_bounded_parser():
    """A view that names its own parsers must name ours: DRF's own JSONParser recurses without a bound."""
    from django.urls import URLPattern, URLResolver, get_resolver
    from rest_framework.parsers import JSONParser as DRFJSONParser

    def views(resolver):
        for p in resolver.url_patterns:
            if isinstance(p, URLResolver):
                yield from views(p)
            elif isinstance(p, URLPattern) and hasattr(p.callback, "cls"):
                yield p.callback.cls

    unbounded = sorted(
        {
            cls.__name__
            for cls in views(get_resolver())
            for parser in cls.parser_classes
            if issubclass(parser, DRFJSONParser) and not issubclass(parser, inputs.JSONParser)
        }
    )
    assert unbounded == []
