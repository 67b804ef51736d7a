import json
import logging
import signal
import threading
from datetime import datetime, time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from simulation.simulator import Simulator


def _start(value: str) -> datetime:
    """HH:MM (today, local time) or an ISO date and time."""
    try:
        if len(value) <= 5:
            t = time.fromisoformat(value)
            return timezone.localtime().replace(hour=t.hour, minute=t.minute, second=0, microsecond=0)
        dt = datetime.fromisoformat(value)
        return dt if timezone.is_aware(dt) else timezone.make_aware(dt)
    except ValueError as exc:
        raise CommandError(f"--start: {value!r} is neither HH:MM nor an ISO date and time") from exc


class Command(BaseCommand):
    help = (
        "Play a realistic day of calls, dispatches, signatures, arrivals, feedback and callbacks through the "
        "services, on the demo city (demo only). Runs until killed, or for --hours of simulated time."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--speed", type=float, default=1.0, help="simulated seconds per real second (default 1)")
        parser.add_argument("--hours", type=float, default=None, help="stop after this many simulated hours")
        parser.add_argument("--seed", type=int, default=None, help="random seed: the same seed plays the same day")
        parser.add_argument(
            "--rate", type=float, default=6.0, help="calls per minute at the evening peak (default 6; 4 a.m. ≈ 1/5)"
        )
        parser.add_argument("--start", type=_start, default=None, help="simulated start: HH:MM today, or ISO (now)")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEMO_ALLOWED:
            raise CommandError("The simulator writes made-up incidents; it is disabled here (DEMO_ALLOWED=0).")
        verbosity = int(options["verbosity"])
        logging.getLogger("dispatch.simulator").setLevel(
            logging.WARNING if verbosity == 0 else logging.DEBUG if verbosity > 1 else logging.INFO
        )
        try:
            sim = Simulator(
                speed=options["speed"],
                hours=options["hours"],
                seed=options["seed"],
                peak_per_minute=options["rate"],
                start=options["start"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        # Ctrl-C (the whole `make run` process group gets it) and SIGTERM end the day after the action under
        # way: nothing is left half-done, every service call is its own transaction.
        previous = {}
        if threading.current_thread() is threading.main_thread():
            previous = {s: signal.signal(s, lambda *_: sim.stop()) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            stats = sim.run()
        except RuntimeError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
        self.stdout.write(json.dumps({"seed": sim.seed, **stats.as_dict()}, ensure_ascii=False))
