from datetime import timedelta

import pytest
from django.utils import timezone

from command_center import clocks, tasks
from command_center import redis as kredis
from tests.testapp.models import Widget


@pytest.fixture
def no_heartbeat():
    kredis.client().delete(kredis.key(*tasks.HEARTBEAT_KEY))


def test_healthz_ok_when_everything_answers(client, db, no_heartbeat):
    tasks.sweep_deadlines()  # what a worker does every second: sweep and beat the heart
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"database": "ok", "redis": "ok", "worker": "ok", "sweeper": "ok", "sweeper_lag_s": 0.0}


def test_healthz_degraded_without_a_worker(client, db, no_heartbeat):
    r = client.get("/healthz")
    assert r.status_code == 503
    assert r.json()["worker"].startswith("no heartbeat")
    assert r.json()["database"] == "ok"


def test_healthz_reports_a_stale_heartbeat(client, db, settings):
    tasks.beat()
    settings.WORKER_HEARTBEAT_MAX_AGE_S = -1
    r = client.get("/healthz")
    assert r.status_code == 503 and "worker or beat down" in r.json()["worker"]


def test_healthz_reports_a_lagging_sweeper(client, world):
    tasks.beat()
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
