import time
from datetime import timedelta

import pytest
from django.utils import timezone

from command_center import clocks, heartbeat, tasks
from command_center import redis as kredis
from tests.testapp.models import Widget


@pytest.fixture
def no_heartbeat():
    kredis.client().delete(kredis.key("heartbeat", heartbeat.WORKER))


def test_healthz_ok_when_everything_answers(client, db, no_heartbeat):
    tasks.sweep_deadlines()  # what a worker does every half second: sweep and beat the heart
    heartbeat.beat(heartbeat.WS)  # what a daphne process does every second (asgi.py)
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {
        "database": "ok",
        "redis": "ok",
        "worker": "ok",
        "sweeper": "ok",
        "ws": "ok",
        "sweeper_lag_s": 0.0,
    }


def test_healthz_degraded_without_a_worker(client, db, no_heartbeat):
    r = client.get("/healthz")
    assert r.status_code == 503
    assert r.json()["worker"].startswith("no heartbeat")
    assert r.json()["database"] == "ok"


def test_healthz_reports_a_stale_heartbeat(client, db, settings):
    heartbeat.beat(heartbeat.WORKER)
    settings.WORKER_HEARTBEAT_MAX_AGE_S = -1
    r = client.get("/healthz")
    assert r.status_code == 503 and "worker or beat down" in r.json()["worker"]


def test_a_dead_worker_shows_within_seconds_and_a_long_sweep_keeps_beating(world, settings):
    # Six sweeps missed, 3 s at least: a worker `make run` restarts (in about 4 s) shows while it is gone.
    assert settings.WORKER_HEARTBEAT_MAX_AGE_S == 3.0
    for k in range(5):
        w = Widget.objects.create(org=world.station_a1, name=f"w{k}")
        clocks.start(w, "testapp.respond", due=timezone.now() - timedelta(seconds=1), org=world.station_a1)
    kredis.client().delete(kredis.key("heartbeat", heartbeat.WORKER))
    assert clocks.sweep(batch=2) == 5  # a storm, in small: three batches in one sweep
    age = heartbeat.age(heartbeat.WORKER)  # the sweep beat between its batches: a busy worker is not a dead one
    assert age is not None and age < 1


def test_healthz_reports_the_websocket_server_gone(client, db, settings):
    tasks.sweep_deadlines()
    heartbeat.beat(heartbeat.WS)
    assert client.get("/healthz").json()["ws"] == "ok"
    settings.WS_HEARTBEAT_MAX_AGE_S = -1  # as if the last beat were older than the limit: daphne died
    r = client.get("/healthz")
    assert r.status_code == 503
    assert r.json()["ws"].startswith("last heartbeat") and "WebSocket server (daphne) down" in r.json()["ws"]


def test_an_asgi_process_beats_for_the_websocket_server(db):
    import command_center.asgi  # noqa: F401  (what daphne imports: it starts the heartbeat thread)

    kredis.client().delete(kredis.key("heartbeat", heartbeat.WS))
    deadline = time.monotonic() + 5
    while heartbeat.age(heartbeat.WS) is None and time.monotonic() < deadline:
        time.sleep(0.1)
    age = heartbeat.age(heartbeat.WS)
    assert age is not None and age < 1.5


def test_healthz_reports_a_lagging_sweeper(client, world):
    heartbeat.beat(heartbeat.WORKER)
    w = Widget.objects.create(org=world.station_a1, name="w")
    clocks.start(w, "testapp.respond", due=timezone.now() - timedelta(seconds=30), org=world.station_a1)
    r = client.get("/healthz")
    assert r.status_code == 503
    assert r.json()["sweeper"].startswith("lagging") and r.json()["sweeper_lag_s"] >= 30


def test_healthz_reports_redis_down(client, db, settings):
    kredis.client.cache_clear()
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    try:
        r = client.get("/healthz")
    finally:
        kredis.client.cache_clear()
    assert r.status_code == 503
    assert r.json()["redis"].startswith("unreachable")


def test_healthz_needs_no_login(client, db):
    assert client.get("/healthz").status_code in (200, 503)
