import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.db import transaction
from django.test import Client

from command_center import realtime
from command_center import redis as kredis
from command_center.asgi import application
from command_center.consumers import CLOSE_RESYNC
from command_center.pubsub import BoardChannelLayer
from tests.conftest import capture_broadcasts


def test_pushes_go_out_only_after_commit(world):
    with capture_broadcasts() as sent:
        with transaction.atomic():
            realtime.broadcast_on_commit(world.station_a1, "thing.changed", {"id": 1})
            assert sent == []  # nothing inside the transaction
        assert sent == []  # callbacks run when the outermost block is done
    assert [m["group"] for m in sent] == [f"org.{o.pk}" for o in (world.city, world.county_a, world.station_a1)]
    assert all(m["event"] == "thing.changed" and m["data"] == {"id": 1} for m in sent)


def test_nothing_is_pushed_after_a_rollback(world):
    with capture_broadcasts() as sent:
        with pytest.raises(RuntimeError), transaction.atomic():
            realtime.broadcast_on_commit(world.station_a1, "thing.changed", {"id": 1})
            raise RuntimeError("service failed")
        with transaction.atomic():
            realtime.broadcast_on_commit(world.station_b1, "other.changed", {"id": 2})
    assert {m["event"] for m in sent} == {"other.changed"}


def test_seq_increases_per_group_and_envelopes_are_complete(world):
    with capture_broadcasts() as sent:
        realtime.broadcast_on_commit(world.station_a1, "a", {"n": 1})
        realtime.broadcast_on_commit(world.station_a1, "b", {"n": 2})
        realtime.broadcast_on_commit(world.station_a2, "c", {"n": 3})
    by_group: dict[str, list[int]] = {}
    for m in sent:
        assert set(m) == {"group", "event", "seq", "at", "data"}
        by_group.setdefault(m["group"], []).append(m["seq"])
    city = f"org.{world.city.pk}"
    assert by_group[city] == sorted(by_group[city]) and len(set(by_group[city])) == 3
    assert by_group[city][-1] == realtime.current_seq(city)
    station = f"org.{world.station_a1.pk}"
    assert by_group[station][1] == by_group[station][0] + 1


def test_payloads_are_made_json_safe(world):
    from datetime import datetime

    with capture_broadcasts() as sent:
        realtime.broadcast_on_commit(world.city, "t", {"at": datetime(2026, 1, 1, tzinfo=UTC)})
    assert sent[0]["data"] == {"at": "2026-01-01T00:00:00Z"}


def run_async(fn) -> None:
    """Run an async test body on a fresh loop in its own thread: Playwright's sync API may own this thread's."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, fn()).result()


# --- The WebSocket ---
# The socket tests run the consumer on other threads, so they need committed data: transactional tests.


@pytest.fixture
def tworld(transactional_db):
    from tests.conftest import build_world

    return build_world()


async def open_board(cookie: bytes) -> tuple[WebsocketCommunicator, dict]:
    """Connect as the cookie's person and read the hello; returns (communicator, hello)."""
    comm = communicator(cookie)
    connected, _ = await comm.connect()
    assert connected
    return comm, await comm.receive_json_from(timeout=5)


async def push(org, event, data) -> None:
    await sync_to_async(_commit_push)(org, event, data)


def session_cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


def communicator(cookie: bytes | None = None) -> WebsocketCommunicator:
    headers = [(b"origin", b"http://testserver"), (b"host", b"testserver")]
    if cookie:
        headers.append((b"cookie", cookie))
    return WebsocketCommunicator(application, "/ws/board/", headers=headers)


@pytest.mark.django_db(transaction=True)
def test_websocket_refuses_anonymous():
    async def go():
        comm = communicator()
        connected, _ = await comm.connect()
        assert not connected
        await comm.disconnect()

    run_async(go)


def test_websocket_refuses_a_foreign_origin(tworld):
    cookie = session_cookie(tworld.duty)

    async def go():
        comm = WebsocketCommunicator(
            application, "/ws/board/", headers=[(b"origin", b"http://evil.example"), (b"cookie", cookie)]
        )
        connected, _ = await comm.connect()
        assert not connected

    run_async(go)


def test_websocket_joins_the_org_group_and_receives_pushes_from_below(tworld):
    w = tworld
    cookie = session_cookie(w.county_a_duty)

    async def go():
        comm, hello = await open_board(cookie)
        assert hello["event"] == "hello" and hello["data"]["org"]["id"] == w.county_a.pk
        # A change at a station of this county reaches the county's board, after commit, with the next seq.
        await push(w.station_a1, "thing.changed", {"id": 7})
        msg = await comm.receive_json_from(timeout=5)
        assert msg["event"] == "thing.changed" and msg["data"] == {"id": 7}
        assert msg["seq"] == hello["seq"] + 1
        # A change in the other county does not.
        await push(w.station_b1, "thing.changed", {"id": 8})
        assert await comm.receive_nothing(timeout=0.5)
        await comm.disconnect()

    run_async(go)


def test_an_idle_board_socket_stays_connected(tworld):
    """Regression: redis-py's default 5 s read timeout killed a socket idle for 5 s (channels_redis blocks 5 s)."""
    cookie = session_cookie(tworld.station_a1_officer)

    async def go():
        comm, _hello = await open_board(cookie)
        assert await comm.receive_nothing(timeout=7, interval=0.5)
        await push(tworld.station_a1, "after.idle", {})
        assert (await comm.receive_json_from(timeout=5))["event"] == "after.idle"
        await comm.disconnect()

    run_async(go)


def _commit_push(org, event, data):
    with transaction.atomic():
        realtime.broadcast_on_commit(org, event, data)


def test_websocket_is_read_only_but_answers_ping(tworld):
    w = tworld
    cookie = session_cookie(w.station_a1_officer)

    async def go():
        comm, _hello = await open_board(cookie)
        await comm.send_json_to({"type": "ping"})
        assert (await comm.receive_json_from(timeout=5))["event"] == "pong"
        await comm.send_json_to({"type": "group_add", "group": f"org.{w.city.pk}"})  # ignored
        assert await comm.receive_nothing(timeout=0.3)
        await comm.disconnect()

    run_async(go)
    assert get_channel_layer() is not None


def test_many_pushes_reach_several_boards_in_order(tworld):
    """The fan-out (realtime._fan_out): one commit's pushes reach every member of every group, in order."""
    w = tworld
    county, station = session_cookie(w.county_a_duty), session_cookie(w.station_a1_officer)

    def commit_many():
        with transaction.atomic():
            for n in range(20):
                realtime.broadcast_on_commit(w.station_a1, "burst", {"n": n})

    async def go():
        boards = [await open_board(cookie) for cookie in (county, county, station)]
        await sync_to_async(commit_many)()
        for comm, hello in boards:
            got = [await comm.receive_json_from(timeout=5) for _ in range(20)]
            assert [m["data"]["n"] for m in got] == list(range(20))
            assert [m["seq"] for m in got] == list(range(hello["seq"] + 1, hello["seq"] + 21))
            await comm.disconnect()

    run_async(go)


def test_a_lost_message_shows_as_a_seq_gap(tworld, monkeypatch):
    """Numbers are given out whether or not a message arrives: the next one that does shows the gap, and the
    screen reloads (tests/browser/test_dispatch.py step 8 follows a page through that reload)."""
    w = tworld
    cookie = session_cookie(w.station_a1_officer)
    real = BoardChannelLayer.group_channel_name

    async def go():
        comm, hello = await open_board(cookie)
        await push(w.station_a1, "first", {})
        # The second push is numbered and published, but on a channel nobody hears: lost on the way.
        monkeypatch.setattr(BoardChannelLayer, "group_channel_name", lambda self, group: real(self, group) + ".void")
        await push(w.station_a1, "lost", {})
        monkeypatch.setattr(BoardChannelLayer, "group_channel_name", real)
        await push(w.station_a1, "third", {})
        got = [await comm.receive_json_from(timeout=5) for _ in range(2)]
        assert [(m["event"], m["seq"] - hello["seq"]) for m in got] == [("first", 1), ("third", 3)]
        assert await comm.receive_nothing(timeout=0.3)
        await comm.disconnect()

    run_async(go)


def test_a_socket_that_falls_capacity_behind_is_closed_and_its_screen_reloads(tworld, monkeypatch):
    """A socket's feed holds what arrives while it connects (nothing may overtake its hello), at most
    `capacity` messages: past that the socket is closed (4000) and what it held dropped; the screen
    reconnects and its hello carries the seq to reload from."""
    w = tworld
    cookie = session_cookie(w.station_a1_officer)
    layer = get_channel_layer()
    old = layer.capacity
    layer.capacity = 3
    real_seq = realtime.current_seq

    def busy_connect(group):  # the connect's last step waits while 10 pushes arrive (a loaded server)
        _commit_many_pushes(w.station_a1, 10)
        time.sleep(0.5)
        return real_seq(group)

    async def go():
        monkeypatch.setattr(realtime, "current_seq", busy_connect)
        comm = communicator(cookie)
        assert (await comm.connect())[0]
        hello = await comm.receive_json_from(timeout=5)
        monkeypatch.setattr(realtime, "current_seq", real_seq)
        assert await comm.receive_output(timeout=5) == {"type": "websocket.close", "code": CLOSE_RESYNC}
        await comm.disconnect()
        again, hello2 = await open_board(cookie)
        assert hello2["seq"] == hello["seq"]  # the reload starts from everything committed
        await push(w.station_a1, "next", {})  # and the new socket's feed runs
        assert (await again.receive_json_from(timeout=5))["seq"] == hello2["seq"] + 1
        await again.disconnect()

    try:
        run_async(go)
    finally:
        layer.capacity = old


def test_a_lost_subscription_closes_the_sockets_and_they_reconnect(tworld):
    """Pub/sub drops what is published while a subscriber is disconnected (and Redis may come back empty):
    when the process's subscriber connection breaks, every socket is closed so its screen reloads."""
    w = tworld
    cookie = session_cookie(w.county_a_duty)

    async def go():
        boards = [await open_board(cookie) for _ in range(2)]
        conn = get_channel_layer()._get_layer()._shards[0]._pubsub.connection
        host, port = conn._writer.get_extra_info("sockname")[:2]
        await sync_to_async(kredis.client().client_kill_filter)(_type="pubsub", addr=f"{host}:{port}")
        for comm, _hello in boards:
            assert await comm.receive_output(timeout=5) == {"type": "websocket.close", "code": CLOSE_RESYNC}
            await comm.disconnect()
        comm, hello = await open_board(cookie)
        await push(w.station_a1, "after.reconnect", {})
        msg = await comm.receive_json_from(timeout=5)
        assert (msg["event"], msg["seq"]) == ("after.reconnect", hello["seq"] + 1)
        await comm.disconnect()

    run_async(go)


def _commit_many_pushes(org, n):
    # One send (one script) for all n: a consumer reading between separate sends could keep up with a
    # 3-message queue, which would make the overflow depend on timing.
    with transaction.atomic():
        realtime.broadcast_many_on_commit((org, "many", {"k": k}) for k in range(n))
