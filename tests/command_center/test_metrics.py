from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from command_center import clocks, heartbeat, metrics
from command_center import redis as kredis
from tests.testapp.models import Widget


def scrape(client, **headers) -> dict[str, dict[tuple, float]]:
    r = client.get("/metrics", **headers)
    assert r.status_code == 200, r.status_code
    assert r["Content-Type"].startswith("text/plain")
    found: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(r.content.decode()):
        for sample in family.samples:
            found.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def test_the_clocks_are_counted_by_kind_from_the_deadline_table(client, world):
    due_soon = timezone.now() + timedelta(minutes=5)
    for k in range(2):
        w = Widget.objects.create(org=world.station_a1, name=f"open{k}")
        clocks.start(w, "testapp.respond", due=due_soon, org=world.station_a1)
    late = Widget.objects.create(org=world.station_a1, name="late")
    clocks.start(late, "testapp.respond", due=timezone.now() - timedelta(seconds=30), org=world.station_a1)
    met = Widget.objects.create(org=world.station_a1, name="met")
    clocks.start(met, "testapp.respond", due=due_soon, org=world.station_a1)
    clocks.meet(met, "testapp.respond")

    found = scrape(client)
    kind = (("kind", "testapp.respond"),)
    assert found["cc_clocks_open"][kind] == 3  # the met one is not running
    assert found["cc_sweeper_lag_seconds"][()] >= 30  # the late one waits for the sweep, as /healthz says
    assert found["cc_scrape_errors"][()] == 0

    assert clocks.sweep() == 1
    found = scrape(client)
    assert found["cc_clocks_open"][kind] == 2
    assert found["cc_clocks_breached"][kind] == 1
    assert found["cc_sweeper_lag_seconds"][()] == 0


def test_requests_are_counted_by_route_and_status_class(client, db):
    client.get("/healthz")
    client.get("/no/such/page/")
    found = scrape(client)
    healthz = [v for labels, v in found["cc_http_requests_total"].items() if ("route", "healthz") in labels]
    assert healthz and sum(healthz) >= 1
    assert any(
        ("route", "<unmatched>") in labels and ("status", "4xx") in labels for labels in found["cc_http_requests_total"]
    )
    assert any(("route", "healthz") in labels for labels in found["cc_http_request_duration_seconds_count"])


def test_queue_depth_sockets_and_heartbeats_come_from_redis(client, db, settings):
    r = kredis.client()
    key = settings.CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"] + "celery"
    r.delete(key)
    r.rpush(key, "a", "b", "c")
    heartbeat.beat(heartbeat.WORKER)
    heartbeat.beat(heartbeat.BEAT)  # the beat holding the lease (beat.py)
    for k in r.scan_iter(match=kredis.key("metrics", "sockets", "*")):
        r.delete(k)
    metrics.socket_opened()
    metrics.socket_opened()
    metrics.socket_closed()
    try:
        metrics.sockets_publish()
        r.set(kredis.key("metrics", "sockets", "other-host.1"), 4, ex=10)  # another ASGI process
        found = scrape(client)
    finally:
        r.delete(key)
        metrics.socket_closed()
        metrics.sockets_publish()
    assert found["cc_celery_queue_length"][(("queue", "celery"),)] == 3
    assert found["cc_board_sockets"][()] == 5
    assert 0 <= found["cc_heartbeat_age_seconds"][(("process", "worker"),)] < 5
    assert (("process", "beat"),) in found["cc_heartbeat_age_seconds"]


def test_with_a_token_only_its_bearer_may_scrape(client, db, settings):
    settings.METRICS_TOKEN = "s3cret-token"
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 404
    assert "cc_scrape_errors" in scrape(client, HTTP_AUTHORIZATION="Bearer s3cret-token")


def test_without_a_token_only_the_machine_itself_may_scrape(client, db, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 404
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200


@pytest.fixture
def tworld(transactional_db):  # the consumer runs on other threads: it needs committed data
    from tests.conftest import build_world

    return build_world()


def test_a_board_socket_counts_while_it_is_open(tworld):
    from tests.command_center.test_realtime import open_board, run_async, session_cookie

    cookie = session_cookie(tworld.duty)
    seen: list[int] = []

    async def go():
        before = metrics._sockets
        comm, hello = await open_board(cookie)
        assert hello["event"] == "hello"
        seen.append(metrics._sockets - before)
        await sync_to_async(metrics.sockets_publish)()
        seen.append(await sync_to_async(metrics._board_sockets)())
        await comm.disconnect()
        seen.append(metrics._sockets - before)

    run_async(go)
    assert seen[0] == 1 and seen[1] >= 1 and seen[2] == 0


def test_push_lag_is_measured_from_the_commit_to_the_sockets(tworld, client):
    """cc_push_lag_seconds: each group message handed to this process's board sockets, timed from its `at`."""
    from command_center import pubsub
    from tests.command_center.test_realtime import open_board, push, run_async, session_cookie

    def lag() -> tuple[float, float]:
        found = scrape(client)
        return found["cc_push_lag_seconds_count"][()], found["cc_push_lag_seconds_sum"][()]

    cookie = session_cookie(tworld.duty)
    count_before, sum_before = lag()

    async def go():
        comm, _hello = await open_board(cookie)
        for n in range(3):
            await push(tworld.station_a1, "thing.changed", {"n": n, "at": "not the envelope's"})
            assert (await comm.receive_json_from(timeout=5))["data"]["n"] == n
        await comm.disconnect()

    run_async(go)
    count_after, sum_after = lag()
    assert count_after - count_before == 3  # one per group message; the city board's group only
    assert 0 <= sum_after - sum_before < 3 * 5  # each was received within the 5-second wait above
    assert pubsub.envelope_at('{"event": "e", "seq": 1, "at": "2026-01-01T00:00:00+00:00", "data": {}}') == 1767225600
    assert pubsub.envelope_at('{"event": "hello"}') is None
