"""`python -m devstack run | test | bench | env | stop`: the commands behind `make run`, `make test`,
`make bench`, `make migrations` and `make stop`."""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

from .bench import cmd_bench
from .stack import (
    PY,
    ROOT,
    RUN,
    Child,
    Supervisor,
    children,
    clear_orphans,
    embedded_roles,
    manage,
    run_env,
    say,
    services,
    start_postgres,
    start_redis,
    stop_postgres,
    stop_redis,
)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1):
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


def _announce(url: str, env: dict[str, str], demo: str, plan: dict[str, Child]) -> None:
    say("")
    say(f"Command Center is up: {url}   (health: {url}healthz, API docs: {url}api/docs/)")
    say(f"WebSockets (/ws/): {env['WS_PUBLIC_URL']}")
    for line in demo.splitlines():
        if line.startswith("demo logins"):
            say(line)
    if "sim" in plan:
        say(f"Simulator: a live day of calls at {plan['sim'].argv[-1]}x real time (SIMULATE=0 turns it off)")
    say("Ctrl-C stops everything; data stays in .run/ for next time.")


def cmd_run(args: argparse.Namespace) -> int:
    """HTTP on PORT through gunicorn (WSGI, the fastest way this project serves pages and the API:
    bench/intake.py), WebSockets on WS_PORT (PORT + 1) through daphne (ASGI), a Celery worker and beat, and
    the simulator (SIMULATE=0 leaves it out). A child that exits is started again (Supervisor); Ctrl-C,
    SIGTERM or SIGHUP (a closed terminal) stops them all."""
    port = os.environ.get("PORT", "8000")
    ws_port = os.environ.get("WS_PORT", str(int(port) + 1))
    workers = os.environ.get("WEB_WORKERS", str(2 * (os.cpu_count() or 1)))
    with services() as env:
        if not os.environ.get("DATABASE_URL"):
            # The embedded PostgreSQL: migrate as the owner, run as the app role (dbroles.py). A DATABASE_URL
            # of the user's is used as it is, with their DATABASE_OWNER_URL if they set one.
            env["DATABASE_URL"], env["DATABASE_OWNER_URL"] = embedded_roles(env["DATABASE_URL"])
        env = run_env(env, ws_port=ws_port)
        # Static files are served from the sources (no collectstatic); whitenoise warns when this is missing.
        Path(env.get("STATIC_ROOT") or ROOT / ".run" / "static").mkdir(parents=True, exist_ok=True)
        manage(env, "migrate", "--noinput")  # as DATABASE_OWNER_URL's role when set; then grants the app role
        env.pop("DATABASE_OWNER_URL", None)  # nothing after the migrate knows the owner's URL
        manage(env, "load_codes")
        demo = subprocess.run(
            [PY, str(ROOT / "manage.py"), "load_demo"], env=env, cwd=ROOT, check=True, capture_output=True, text=True
        ).stdout
        print(demo, end="")
        # The request counters of every web and ws process add up at /metrics (command_center/metrics.py):
        # each writes its own files there, emptied at each start so a previous run's do not linger.
        if not env.get("PROMETHEUS_MULTIPROC_DIR"):
            shutil.rmtree(RUN / "prometheus", ignore_errors=True)
            (RUN / "prometheus").mkdir(parents=True)
            env["PROMETHEUS_MULTIPROC_DIR"] = str(RUN / "prometheus")
        # Started only now: the simulator needs the migrated schema, the code tables and the demo city.
        plan = children(env, port=port, ws_port=ws_port, workers=workers)
        clear_orphans()
        stopping = False

        def stop(signum: int, frame: object) -> None:
            nonlocal stopping
            stopping = True

        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, stop)
        supervisor = Supervisor(plan)
        supervisor.start(list(plan))
        url = f"http://127.0.0.1:{port}/"
        up, code = False, 0
        while not stopping:
            why = supervisor.tend()
            if why:
                say(why)
                code = 1
                break
            if not up and _answers(url + "login/"):
                up = True
                _announce(url, env, demo, plan)
            time.sleep(0.5)
        supervisor.stop()
        say(f"stopped {', '.join(plan)}")
        return code


def cmd_test(args: argparse.Namespace) -> int:
    with services() as env:
        env.setdefault("PYTHONUNBUFFERED", "1")
        # A DJANGO_SETTINGS_MODULE in the environment names production's settings; tests have their own.
        env["DJANGO_SETTINGS_MODULE"] = "tests.settings"
        return subprocess.run([PY, "-m", "pytest", *args.pytest_args], env=env, cwd=ROOT).returncode


def cmd_env(args: argparse.Namespace) -> int:
    """Print shell exports for the services (they are left running): eval "$(python -m devstack env)"."""
    RUN.mkdir(exist_ok=True)
    db = os.environ.get("DATABASE_URL") or start_postgres()[0]
    rd = os.environ.get("REDIS_URL") or start_redis()[0]
    print(f"export DATABASE_URL='{db}' REDIS_URL='{rd}'")
    return 0


def cmd_stop(args: argparse.Namespace) -> int:
    stop_redis()
    stop_postgres()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack")
    sub = parser.add_subparsers(dest="cmd", required=True)
    run = sub.add_parser("run", help="migrate, load codes and demo, start web, ws, worker, beat and the simulator")
    run.set_defaults(fn=cmd_run)
    t = sub.add_parser("test", help="run pytest with the services")
    t.add_argument("pytest_args", nargs=argparse.REMAINDER)
    t.set_defaults(fn=cmd_test)
    b = sub.add_parser("bench", help="run every bench/*.py, or the ones named; merge into bench/results.json")
    b.add_argument("names", nargs="*", help="benches to run (day, intake, …); all when none")
    b.add_argument("--quick", action="store_true", help="small sizes; results go to bench/results-quick.json")
    b.set_defaults(fn=cmd_bench)
    sub.add_parser("env", help="start the services and print their URLs as shell exports").set_defaults(fn=cmd_env)
    sub.add_parser("stop", help="stop the embedded services").set_defaults(fn=cmd_stop)
    args = parser.parse_args()
    return int(args.fn(args))
