"""The `make run` / `make test` service runner: a killed earlier run must not block the next start."""

import contextlib
import os
import signal
import subprocess
import time

import pytest

from command_center import stack


@pytest.fixture
def run_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(stack, "RUN", tmp_path)
    yield tmp_path
    stack.stop_redis()


def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_redis_starts_over_a_stale_pid_file(run_dir):
    (run_dir / "redis.pid").write_text(str(dead_pid()))
    (run_dir / "redis.port").write_text("6399")
    url, started = stack.start_redis()
    assert started and url.startswith("redis://127.0.0.1:")
    assert stack._ping(int((run_dir / "redis.port").read_text()))


def test_a_pid_file_naming_someone_elses_process_is_not_trusted_nor_killed(run_dir):
    bystander = subprocess.Popen(["sleep", "30"])
    try:
        (run_dir / "redis.pid").write_text(str(bystander.pid))
        (run_dir / "redis.port").write_text("6399")
        _url, started = stack.start_redis()
        assert started
        assert bystander.poll() is None  # still alive
    finally:
        bystander.kill()


def test_a_running_redis_is_adopted_and_a_wedged_one_replaced(run_dir):
    url, started = stack.start_redis()
    again, started_again = stack.start_redis()
    assert started and not started_again and again == url
    # Wedge it (SIGSTOP: the pid is alive, the port does not answer); the next start replaces it.
    pid = int((run_dir / "redis.pid").read_text())
    os.kill(pid, signal.SIGSTOP)
    try:
        _url, started = stack.start_redis()
        assert started
        assert int((run_dir / "redis.pid").read_text()) != pid
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def test_postgres_starts_after_its_server_was_killed(run_dir):
    url, started = stack.start_postgres()
    try:
        assert started and "command_center" in url
        pid = int((run_dir / "pg" / "postmaster.pid").read_text().splitlines()[0])
        os.kill(pid, signal.SIGKILL)  # as a crash or a killed session would leave it
        for _ in range(100):
            if not stack._postgres_running(run_dir / "pg"):
                break
            time.sleep(0.05)
        assert (run_dir / "pg" / "postmaster.pid").exists()  # stale pid file left behind
        url2, started2 = stack.start_postgres()
        assert started2 and url2 == url
        import psycopg2

        host = str(run_dir / "pg")
        with psycopg2.connect(host=host, user="postgres", dbname="command_center") as conn, conn.cursor() as cur:
            cur.execute("SELECT 1")
            assert cur.fetchone() == (1,)
    finally:
        stack.stop_postgres()


def test_make_run_starts_the_simulator_last_unless_turned_off():
    env = {"DATABASE_URL": "postgres://db", "REDIS_URL": "redis://r"}
    plan = stack.children(env, port="8000", ws_port="8001", workers="2")
    assert list(plan) == ["web", "ws", "worker", "beat", "sim"]
    sim = plan["sim"]
    assert sim.argv[1:] == [str(stack.ROOT / "manage.py"), "simulate", "--speed", "1"]  # real time by default
    assert sim.env["DATABASE_URL"] == "postgres://db" and sim.env["REDIS_URL"] == "redis://r"
    # The servers are essential (one exiting stops everything); the demo's simulator is not.
    assert not sim.essential and all(c.essential for name, c in plan.items() if name != "sim")
    fast = stack.children({**env, "SIMULATE_SPEED": "10"}, port="8000", ws_port="8001", workers="2")
    assert fast["sim"].argv[-2:] == ["--speed", "10"]
    for off in ("0", "false", "no", "off"):
        plan = stack.children({**env, "SIMULATE": off}, port="8000", ws_port="8001", workers="2")
        assert list(plan) == ["web", "ws", "worker", "beat"]
