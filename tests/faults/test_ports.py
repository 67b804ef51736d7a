"""The fault platforms' ports: free, never handed out twice, and outside the range the kernel gives client
connections (so no connection of the suite's can take a port between its choice and its server binding it)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from .conftest import Platform, _ephemeral_range, free_port


def test_ports_are_free_distinct_and_outside_the_ephemeral_range() -> None:
    low, high = _ephemeral_range()
    ports = [free_port() for _ in range(50)]
    assert len(set(ports)) == 50
    assert all(not low <= p <= high for p in ports)
    for p in ports[:5]:
        with socket.socket() as s:
            s.bind(("127.0.0.1", p))  # free: binding it works


def test_a_failed_launch_says_which_process_died_and_what_it_printed(tmp_path: Path) -> None:
    p = Platform(tmp_path)
    (tmp_path / "web.log").write_text("[ERROR] Connection in use: ('127.0.0.1', 1234)\n")
    p.procs["web"] = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    p.procs["web"].wait()
    p.procs["ws"] = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        text = p.diagnosis()
    finally:
        p.procs["ws"].kill()
        p.procs["ws"].wait()
    assert "--- web: exited 3\n[ERROR] Connection in use" in text
    assert "--- ws: running\n(no log)" in text
    assert f"--- redis on {p.redis_port}\n(no log)" in text
