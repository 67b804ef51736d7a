"""Board clients that behave like the live screens (static/js/live.js), many to a process, for benches that
watch a whole day (bench/day.py): each follows `/ws/board/` with a session cookie, loads its screen's state
over REST on connect and on every `seq` gap (`GET /api/board/`, or `/api/board/inbox/` for a station
officer), buffers the pushes that arrive while it loads and applies those after the state's `seq`, pings
every 20 s, and reconnects when the socket drops.

What they receive is kept compactly (a day is millions of messages: one latency and three small indexes
per message) and summarised in the process before it is handed back: commit-to-receipt latency (the
envelope's `at`, stamped on commit by the process that pushed, to the client's clock on receipt — the
same machine clock) overall, by event, by level and by simulated hour; how late each `deadlines.breached`
reached a board after the deadline's due time; gaps, reloads and reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from array import array
from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

from _common import http_json, summary


def _iso(ts: str) -> float:
    return datetime.fromisoformat(ts).timestamp()


class Received:
    """What the boards received, compactly (a day is millions of messages): one latency and three small
    indexes per message, summarised at the end."""

    def __init__(self) -> None:
        self.ms = array("f")
        self.event = array("B")
        self.level = array("B")
        self.hour = array("h")
        self.events: list[str] = []
        self.levels: list[str] = []
        self.per_second: Counter[int] = Counter()
        self.breach_s = array("f")  # due → a deadlines.breached message on a board (first receipt)

    def add(self, ms: float, event: str, level: str, hour: int, t: float) -> None:
        if event not in self.events:
            self.events.append(event)
        if level not in self.levels:
            self.levels.append(level)
        self.ms.append(ms)
        self.event.append(self.events.index(event))
        self.level.append(self.levels.index(level))
        self.hour.append(hour)
        self.per_second[int(t)] += 1

    def summary(self) -> dict[str, Any]:
        # Grouped into arrays, not lists: a day is millions of numbers.
        by_event: dict[int, array[float]] = defaultdict(lambda: array("f"))
        by_level: dict[int, array[float]] = defaultdict(lambda: array("f"))
        by_hour: dict[int, array[float]] = defaultdict(lambda: array("f"))
        for ms, e, lv, h in zip(self.ms, self.event, self.level, self.hour, strict=True):
            by_event[e].append(ms)
            by_level[lv].append(ms)
            by_hour[h].append(ms)
        return {
            "commit_to_receipt_ms": summary(self.ms),
            "by_event": {self.events[e]: summary(v) for e, v in sorted(by_event.items(), key=lambda x: -len(x[1]))},
            "by_level": {self.levels[lv]: summary(v) for lv, v in by_level.items()},
            "by_hour_p99": {h: round(summary(v)["p99"], 1) for h, v in sorted(by_hour.items())},
            "messages": len(self.ms),
            "messages_per_s_peak": max(self.per_second.values(), default=0),
            "breach_due_to_board_s": summary(self.breach_s),
        }


def boards_process(specs: list[dict[str, Any]], http_port: int, ws_url: str, clock: Any, ready: Any,
                   stop_evt: Any, out: Any) -> None:  # fmt: skip
    out.put(asyncio.run(_boards(specs, http_port, ws_url, clock, ready, stop_evt)))


async def _boards(
    specs: list[dict[str, Any]], http_port: int, ws_url: str, clock: Any, ready: Any, stop_evt: Any
) -> dict[str, Any]:
    import websockets

    rec = Received()
    origin = f"http://127.0.0.1:{http_port}"
    gate = asyncio.Semaphore(10)  # handshakes and state loads at a time while connecting
    loaded = 0
    counts: Counter[str] = Counter()
    reload_ms: list[float] = []
    opened: list[Any] = []

    def hour_of(t: float) -> int:
        wall0, speed, start_s = clock[0], clock[1], clock[2]
        if wall0 == 0 or t < wall0:
            return -1
        return int((start_s + (t - wall0) * speed) // 3600)

    async def board(spec: dict[str, Any]) -> None:
        """One screen: follow the socket, load the state on connect and on every gap (static/js/live.js)."""
        nonlocal loaded
        cookie = {"Cookie": f"sessionid={spec['session']}"}
        last: list[int | None] = [None]
        loading = [False]
        buffer: list[dict[str, Any]] = []
        seen_breach: set[int] = set()
        first = [True]
        loads: list[asyncio.Future[None]] = []

        def reload(why: str) -> None:
            loading[0] = True  # from now on pushes wait in the buffer until the state is in
            buffer.clear()
            counts[f"reloads_{why}"] += 1
            loads.append(asyncio.ensure_future(load()))

        async def load() -> None:
            nonlocal loaded
            t0 = time.perf_counter()
            while True:
                try:
                    async with gate if first[0] else contextlib.nullcontext():
                        status, state = await http_json(http_port, "GET", spec["screen"], headers=cookie)
                except (OSError, TimeoutError, asyncio.IncompleteReadError):
                    status, state = 0, None
                if status == 200 and isinstance(state, dict):
                    break
                counts["reload_failures"] += 1
                if stop_evt.is_set():
                    return
                await asyncio.sleep(3)
            reload_ms.append((time.perf_counter() - t0) * 1000)
            if first[0]:
                first[0] = False
                loaded += 1
            last[0] = int(state["seq"])
            pending = sorted(buffer, key=lambda m: m.get("seq") or 0)
            buffer.clear()
            loading[0] = False
            for env in pending:
                receive(env)

        def receive(env: dict[str, Any]) -> None:
            if loading[0]:
                buffer.append(env)
                return
            seq = env.get("seq")
            if not isinstance(seq, int) or last[0] is None or seq <= last[0]:
                return
            if seq > last[0] + 1:  # something was lost on the way
                counts["gaps"] += 1
                reload("gap")
                return
            last[0] = seq

        backoff = 1.0
        while not stop_evt.is_set():
            async with gate:
                try:
                    ws = await websockets.connect(ws_url, additional_headers={**cookie, "Origin": origin},
                                                  max_size=None, ping_interval=None)  # fmt: skip
                except (OSError, websockets.WebSocketException):
                    counts["connect_failures"] += 1
                    ws = None
            if ws is None:
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            backoff = 1.0
            opened.append(ws)
            ping = asyncio.ensure_future(pinger(ws))
            try:
                while True:
                    try:
                        raw = await ws.recv()
                    except websockets.ConnectionClosed:
                        break
                    t = time.time()
                    msg = json.loads(raw)
                    event = msg.get("event", "")
                    if event == "hello":
                        reload("connect")
                        continue
                    if event == "pong":
                        continue
                    if msg.get("at"):
                        rec.add((t - _iso(msg["at"])) * 1000, event, spec["level"], hour_of(t), t)
                    if event == "deadlines.breached":
                        for d in (msg.get("data") or {}).get("deadlines", []):
                            if d.get("id") not in seen_breach and d.get("due_at"):
                                seen_breach.add(d["id"])
                                rec.breach_s.append(t - _iso(d["due_at"]))
                    receive(msg)
            finally:
                ping.cancel()
            if not stop_evt.is_set():
                counts["disconnects"] += 1  # the screen reconnects (and reloads on the next hello)
                await asyncio.sleep(backoff)

    async def pinger(ws: Any) -> None:  # as the screens do: a ping every 20 s
        import websockets

        with contextlib.suppress(websockets.ConnectionClosed):
            while True:
                await asyncio.sleep(20)
                await ws.send(json.dumps({"type": "ping"}))

    tasks = [asyncio.ensure_future(board(s)) for s in specs]
    while loaded < len(specs):
        await asyncio.sleep(0.2)
        failed = [t for t in tasks if t.done() and t.exception()]
        if failed:
            raise RuntimeError(f"a board failed to connect: {failed[0].exception()!r}")
    ready.set()
    while not stop_evt.is_set():
        await asyncio.sleep(0.2)
    await asyncio.gather(*(ws.close() for ws in opened), return_exceptions=True)
    await asyncio.gather(*tasks, return_exceptions=True)
    return {
        **rec.summary(),
        "boards": len(specs),
        "gaps": counts["gaps"],
        "reloads_on_gap": counts["reloads_gap"],
        "reloads_on_connect": counts["reloads_connect"],
        "reload_failures": counts["reload_failures"],
        "disconnects": counts["disconnects"],
        "connect_failures": counts["connect_failures"],
        "reload_ms": summary(reload_ms),
    }
