"""A `make run` killed with SIGKILL starts cleanly the next time, with all its data there.

Runs the real runner (`python -m devstack run`, what `make run` calls) with embedded
PostgreSQL and Redis in a directory of its own (CC_RUN_DIR), and kills it: first the runner alone with
SIGKILL (its web, ws, worker and beat are orphaned and keep the ports), then with SIGHUP (a closed terminal).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import psutil
import pytest

from .conftest import ROOT, free_port

pytestmark = [pytest.mark.faults, pytest.mark.timeout(600)]


def http(method: str, url: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Token {token}"
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


class Run:
    def __init__(self, run_dir: Path, port: int):
        self.port, self.run_dir = port, run_dir
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_", "DJANGO_"))},
            "CC_RUN_DIR": str(run_dir),
            "PORT": str(port),
            "WS_PORT": str(port + 1),
            "SIMULATE": "0",
            "WEB_WORKERS": "2",
            "DEMO_PASSWORD": "fault-demo-123",
            "REDIS_PREFIX": "ccfaultsrun",
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.ups = self.log().count("Command Center is up")
        log = (self.run_dir / "runner.log").open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "devstack", "run"],
            env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    def healthy(self, timeout: float = 180) -> bool:
        """This start (not an orphan of the last one) said it is up, and the platform is healthy."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                return False
            if self.log().count("Command Center is up") <= self.ups:
                time.sleep(1)
                continue
            with contextlib.suppress(OSError):
                if http("GET", f"http://127.0.0.1:{self.port}/healthz")[0] == 200:
                    return True
            time.sleep(1)
        return False

    def close(self) -> None:
        """Stop the runner (Ctrl-C), then whatever a killed one left: its children lead process groups of their
        own, and outlive it. Then the embedded services."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(30)
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(10)
        clear = "from devstack import stack; stack.clear_orphans()"
        subprocess.run([sys.executable, "-c", clear], env=self.env, cwd=ROOT, check=False, timeout=60)
        subprocess.run([sys.executable, "-m", "devstack", "stop"], env=self.env, cwd=ROOT, check=False)

    def log(self) -> str:
        path = self.run_dir / "runner.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def token(self) -> str:
        status, body = http(
            "POST",
            f"http://127.0.0.1:{self.port}/api/auth/token/",
            {"username": "duty", "password": "fault-demo-123"},
        )
        assert status == 200, body
        return str(body["token"])


def test_a_killed_make_run_starts_cleanly_with_its_data(tmp_path: Path) -> None:
    run_dir = ROOT / ".run" / "faults" / f"run{os.getpid()}"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    os.chmod(run_dir, 0o755)  # noqa: S103  # pgserver's own user must reach its data dir
    run = Run(run_dir, free_port())
    try:
        run.start()
        assert run.healthy(), run.log()[-3000:]
        token = run.token()
        status, first = http(
            "POST",
            f"http://127.0.0.1:{run.port}/api/incidents/",
            {"call_id": "before-kill", "source": "110", "address": "东湖路12号", "category": "020500"},
            token,
        )
        assert status == 201, first

        # 1. SIGKILL the runner alone: web, ws, worker and beat live on as orphans, holding the ports.
        assert run.proc is not None
        run.proc.kill()
        run.proc.wait(10)
        assert http("GET", f"http://127.0.0.1:{run.port}/healthz")[0] in (200, 503)  # the orphans still answer
        run.start()
        assert run.healthy(), run.log()[-3000:]
        assert "left running" in run.log()
        token = run.token()
        status, body = http("GET", f"http://127.0.0.1:{run.port}/api/incidents/{first['id']}/", token=token)
        assert status == 200 and body["number"] == first["number"]

        # 2. A closed terminal (SIGHUP): the runner stops everything it started; nothing is left but the data.
        assert run.proc is not None
        rows = json.loads((run_dir / "children.json").read_text())
        run.proc.send_signal(signal.SIGHUP)
        assert run.proc.wait(60) == 0
        for row in rows:
            with contextlib.suppress(psutil.NoSuchProcess):
                assert psutil.Process(row["pid"]).status() == psutil.STATUS_ZOMBIE, row
        run.start()
        assert run.healthy(), run.log()[-3000:]
        assert run.log().count("left running") == 1  # only after the SIGKILL of 1
        token = run.token()
        status, body = http("GET", f"http://127.0.0.1:{run.port}/api/incidents/{first['id']}/", token=token)
        assert status == 200 and body["number"] == first["number"]
        status, _second = http(
            "POST",
            f"http://127.0.0.1:{run.port}/api/incidents/",
            {"call_id": "after-kill", "source": "110", "address": "东湖路12号", "category": "020500"},
            token,
        )
        assert status == 201
    finally:
        run.close()
        shutil.rmtree(run_dir, ignore_errors=True)
