"""Kubernetes probes of a web or ws pod, read from its own GET /healthz (command_center/health.py).

    python deploy/k8s/probe.py live    # the server answers /healthz at all (200 or 503): else restart it
    python deploy/k8s/probe.py ready   # this pod can serve: its database and Redis answer

/healthz is the whole platform's health: it is 503 while a worker, beat or the WebSocket server is down.
That is for monitoring, not for routing: taking every web pod out of the Service because the worker died
would turn one part's outage into all of it, and restarting web for a database blip only adds a cold
start to the blip. So liveness asks that the process answers, whatever it says; readiness asks that the
parts this pod itself needs (database, redis) are ok in the answer. Standard library only: no Django.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
from typing import Any

# This pod's own server, over plain HTTP (settings: /healthz is exempt from the HTTPS redirect), with the
# first of ALLOWED_HOSTS as the Host header (Django answers 400 to one it does not allow).
TIMEOUT_S = float(os.environ.get("PROBE_TIMEOUT_S", "4"))
READY_PARTS = ("database", "redis")


def fetch(port: int, host_header: str | None = None) -> tuple[int, dict[str, Any]] | None:
    """(status, body) of GET /healthz, or None when nothing answered in time."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/healthz")
    if host_header:
        request.add_header("Host", host_header)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as answer:
            return answer.status, _json(answer.read())
    except urllib.error.HTTPError as answer:
        return answer.code, _json(answer.read())
    except (OSError, ValueError):
        return None


def _json(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def live(answer: tuple[int, dict[str, Any]] | None) -> bool:
    """Alive: /healthz answered with its report (200 all ok, 503 something somewhere is not)."""
    return answer is not None and answer[0] in (200, 503) and "database" in answer[1]


def ready(answer: tuple[int, dict[str, Any]] | None) -> bool:
    """Ready: the report says this pod's database and Redis are ok."""
    return answer is not None and all(answer[1].get(part) == "ok" for part in READY_PARTS)


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[1] not in ("live", "ready"):
        print("usage: probe.py live|ready", file=sys.stderr)
        return 2
    port = int(os.environ.get("PORT", "8000"))
    hosts = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "").split(",") if h.strip() and h.strip() != "*"]
    host = hosts[0].lstrip(".") if hosts else None
    answer = fetch(port, host)
    ok = live(answer) if argv[1] == "live" else ready(answer)
    if not ok:
        print(f"{argv[1]}: {answer!r}", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
