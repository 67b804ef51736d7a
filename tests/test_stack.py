"""The `make run` / `make test` service runner: a killed earlier run must not block the next start; a child
that dies is started again, and only a crash loop (or Ctrl-C) stops the rest."""

import contextlib
import json
import os
import signal
import subprocess
import time

import psutil
import pytest

from devstack import stack


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
    # The servers are essential (one crash-looping stops everything); the demo's simulator is not.
    assert not sim.essential and all(c.essential for name, c in plan.items() if name != "sim")
    fast = stack.children({**env, "SIMULATE_SPEED": "10"}, port="8000", ws_port="8001", workers="2")
    assert fast["sim"].argv[-2:] == ["--speed", "10"]
    for off in ("0", "false", "no", "off"):
        plan = stack.children({**env, "SIMULATE": off}, port="8000", ws_port="8001", workers="2")
        assert list(plan) == ["web", "ws", "worker", "beat"]


def test_make_run_leaves_debug_off_and_serves_plain_http():
    env = stack.run_env({"DATABASE_URL": "postgres://db"}, ws_port="8001")
    assert "DEBUG" not in env  # the real error pages; Django's debug pages only when the user sets DEBUG=1
    assert env["HTTPS"] == "0"  # http://127.0.0.1: login works without secure cookies or a redirect to https
    assert env["WS_PUBLIC_URL"] == "ws://127.0.0.1:8001" and env["DATABASE_URL"] == "postgres://db"
    mine = stack.run_env({"DEBUG": "1", "HTTPS": "1", "WS_PUBLIC_URL": "wss://x"}, ws_port="8001")
    assert (mine["DEBUG"], mine["HTTPS"], mine["WS_PUBLIC_URL"]) == ("1", "1", "wss://x")  # what the user set wins
    plan = stack.children(env, port="8000", ws_port="8001", workers="2")
    assert all("DEBUG" not in child.env for child in plan.values())


def test_backoff_doubles_to_a_cap_starts_over_after_a_steady_run_and_calls_a_crash_loop():
    b = stack.Backoff()
    # Crashing right after each start: 1, 2, 4, 8, 16 s — then the 6th exit within 2 minutes is a crash loop.
    now, waits = 0.0, []
    for _ in range(5):
        wait = b.exited(now=now, up_for=0.5)
        assert wait is not None
        waits.append(wait)
        now += wait + 0.5
    assert waits == [1, 2, 4, 8, 16] and b.restarts == 5
    assert now < 120 and b.exited(now=now, up_for=0.5) is None

    slow = stack.Backoff()
    now, waits = 0.0, []
    for _ in range(8):  # crashing every 40 s: never 6 exits within 2 minutes, the wait stops at 30 s
        now += 40
        wait = slow.exited(now=now, up_for=10)
        assert wait is not None
        waits.append(wait)
    assert waits == [1, 2, 4, 8, 16, 30, 30, 30]
    assert slow.exited(now=now + 100, up_for=60) == 1  # up a minute: the next crash starts over


def test_backoff_is_a_pure_function_of_the_clock_given():
    a, b = stack.Backoff(), stack.Backoff()
    assert [a.exited(now=t, up_for=1) for t in (5, 6, 9)] == [b.exited(now=t, up_for=1) for t in (5, 6, 9)]


def _sh(script: str) -> list[str]:
    return ["sh", "-c", script]


def _pids(run_dir) -> dict[str, int]:
    return {row["name"]: row["pid"] for row in json.loads((run_dir / stack.CHILDREN).read_text())}


def _wait(check, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_the_supervisor_restarts_a_dead_child_keeps_the_rest_and_records_the_new_pid(run_dir, capsys):
    # `steady` keeps its grandchild (a gunicorn worker, say) in its process group; `flaky` dies when told.
    flag = run_dir / "die"
    plan = {
        "steady": stack.Child(_sh("sleep 60 & wait"), {}),
        "flaky": stack.Child(_sh(f"while [ ! -e {flag} ]; do sleep 0.05; done; exit 3"), {}),
    }
    sup = stack.Supervisor(plan)
    sup.backoff["flaky"].first = 0.2
    sup.start(list(plan))
    try:
        first = _pids(run_dir)
        steady = sup.procs["steady"]
        flag.touch()
        _wait(lambda: sup.tend() is None and "flaky" in sup.due)
        assert "flaky exited with 3; restarting in 0.2 s (restart 1)" in capsys.readouterr().err
        assert _pids(run_dir) == {"steady": first["steady"]}  # the record names what runs
        flag.unlink()
        _wait(lambda: sup.tend() is None and "flaky" in sup.procs)
        assert _pids(run_dir)["flaky"] != first["flaky"] and sup.procs["flaky"].poll() is None
        assert sup.procs["steady"] is steady and steady.poll() is None  # the others ran on
    finally:
        grandchildren = [p.pid for p in psutil.Process(steady.pid).children(recursive=True)]
        sup.stop()
    assert not (run_dir / stack.CHILDREN).exists()
    assert steady.returncode is not None and len(grandchildren) == 1
    _wait(lambda: not any(_alive(pid) for pid in grandchildren))  # what a child started went with it


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE  # a zombie waits for init to reap it
    except psutil.NoSuchProcess:
        return False


def test_a_crash_loop_of_a_server_stops_everything_and_of_the_simulator_only_itself(run_dir, capsys):
    plan = {
        "web": stack.Child(_sh("sleep 60"), {}),
        "sim": stack.Child(_sh("exit 1"), {}, essential=False),
    }
    sup = stack.Supervisor(plan)
    sup.backoff["sim"].first = sup.backoff["sim"].most = 0.01
    sup.start(list(plan))
    try:
        _wait(
            lambda: sup.tend() is None and sup.backoff["sim"].restarts == 5 and not sup.due and "sim" not in sup.procs
        )
        assert "sim exited 6 times within 120 s (crash loop); it stays off" in capsys.readouterr().err
        assert list(sup.procs) == ["web"] and _pids(run_dir).keys() == {"web"}
        sup.plan = {**plan, "sim": stack.Child(_sh("exit 1"), {})}  # the same, were it essential
        sup.backoff["sim"] = stack.Backoff(first=0.01, most=0.01, loop_restarts=0)
        sup.start(["sim"])
        why = None
        deadline = time.monotonic() + 10
        while why is None and time.monotonic() < deadline:
            why = sup.tend()
            time.sleep(0.02)
        assert why == "sim exited 1 times within 120 s (crash loop); stopping everything"
    finally:
        sup.stop()


def test_make_run_gives_the_database_to_an_owner_role_and_runs_the_app_as_a_role_that_owns_nothing(run_dir):
    import psycopg2

    def sql(user, query):
        with contextlib.closing(psycopg2.connect(host=host, user=user, dbname="command_center")) as conn:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(query)
                return cur.fetchall() if cur.description else None

    url, _started = stack.start_postgres()
    host = str(run_dir / "pg")
    try:
        # As a `make run` from before the split left it: everything belongs to postgres.
        sql("postgres", "CREATE TABLE old_log (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY)")
        sql("postgres", "CREATE SEQUENCE old_seq")
        sql("postgres", "CREATE FUNCTION cc_append_only() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN END$$")
        app_url, owner_url = stack.embedded_roles(url)
        assert stack.embedded_roles(url) == (app_url, owner_url)  # again: nothing to do, no error
        assert app_url.startswith("postgres://cc_app@") and app_url.endswith("/command_center")
        assert owner_url.startswith("postgres://cc_owner@") and owner_url.endswith("/command_center")
        roles = sql(
            "postgres",
            "SELECT rolname, rolcanlogin, rolsuper OR rolcreatedb OR rolcreaterole OR rolreplication OR rolbypassrls "
            "FROM pg_roles WHERE rolname IN ('cc_owner', 'cc_app') ORDER BY rolname",
        )
        assert roles == [("cc_app", True, False), ("cc_owner", True, False)]
        owners = sql(
            "postgres",
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database() "
            "UNION ALL SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'public' "
            "UNION ALL SELECT pg_get_userbyid(relowner) FROM pg_class "
            "WHERE relname IN ('old_log', 'old_log_id_seq', 'old_seq') "
            "UNION ALL SELECT pg_get_userbyid(proowner) FROM pg_proc WHERE proname = 'cc_append_only'",
        )
        assert owners == [("cc_owner",)] * 6
        assert sql("cc_app", "SELECT current_user") == [("cc_app",)]  # logs in over the socket
    finally:
        stack.stop_postgres()
