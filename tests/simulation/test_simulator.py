"""The simulator (`manage.py simulate`): a day of calls played through the services on the demo city.

The fast mode (`--speed 3600 --hours 1 --seed 1`) plays an hour in seconds, the same way every time; the
tests check what it leaves behind the way an auditor would: every move has its log row, the logs chain,
states and clocks agree, nothing is left live on a closed incident.
"""

from __future__ import annotations

import io
import json
import logging
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import quote

import psycopg2
import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connection

from command_center import codes, memo, realtime
from command_center import demo as city_demo
from command_center.models import Category, Deadline, Org
from dispatch import demo as dispatch_demo
from dispatch.models import DispatchOrder, OrderTransition, Unit, UnitTransition
from incidents import services as incident_services
from incidents.models import Callback, Diversion, Feedback, Incident, IncidentTransition
from places import demo as places_demo
from places import selectors as places_selectors
from simulation.calls import DIVERT, CallMaker, Spot, Station, day_weight
from simulation.simulator import Simulator

ROOT = Path(__file__).resolve().parents[2]
LIVE = ["sent", "delivered", "signed", "arrived"]
STATIONS = [Station(1, "东湖派出所", 30.2900, 120.1600), Station(2, "西溪派出所", 30.2500, 120.1000)]


@pytest.fixture
def demo_city(transactional_db):
    """The demo city as `make run` loads it: code tables, orgs, people, units, today's shifts."""
    codes.load_defaults()
    city, _ = city_demo.load()
    dispatch_demo.load_demo()
    return city


def simulate(*args: str) -> dict:
    out = io.StringIO()
    call_command("simulate", *args, stdout=out, verbosity=0)
    return json.loads(out.getvalue().strip().splitlines()[-1])


def chain_breaks(log_model, subject_ids) -> list[str]:
    """Log rows whose `from` is not the `to` of the row before (per subject, in insertion order)."""
    breaks: list[str] = []
    last: dict[int, str] = {}
    for sid, frm, to, event in (
        log_model.objects.filter(subject_id__in=subject_ids)
        .order_by("id")
        .values_list("subject_id", "from_state", "to_state", "event")
    ):
        if last.get(sid, "") != frm:
            breaks.append(f"{log_model.__name__} {sid}: {last.get(sid)!r} then {frm!r}->{to!r} ({event})")
        last[sid] = to
    return breaks


def last_logged(log_model) -> dict[int, str]:
    out: dict[int, str] = {}
    for sid, to in log_model.objects.order_by("id").values_list("subject_id", "to_state"):
        out[sid] = to
    return out


# --- The calls (pure) -------------------------------------------------------------------------------------


def all_codes() -> set[str]:
    rows = codes.read_csv(codes.FIXTURES / "categories.csv")
    return {r["code"] for r in rows}


def test_a_seed_draws_the_same_calls_and_another_seed_others():
    def day(seed: int) -> list[tuple]:
        maker = CallMaker(random.Random(seed), STATIONS, all_codes())
        return [(round(maker.gap(72000), 6), *_call_key(maker.make())) for _ in range(50)]

    assert day(1) == day(1)
    assert day(1) != day(2)


def _call_key(c) -> tuple:
    return (c.category, c.address, c.caller_phone, c.level, c.lat, c.lon, c.station.id)


def test_calls_follow_the_daily_curve_and_the_published_mix():
    assert day_weight(4 * 3600) < 0.25 * day_weight(20 * 3600)  # quiet at 4 a.m., the peak in the evening
    assert max(range(24), key=lambda h: day_weight(h * 3600)) in (19, 20, 21)
    maker = CallMaker(random.Random(3), STATIONS, all_codes())
    calls = [maker.make() for _ in range(6000)]
    share = Counter(c.category[:2] for c in calls)

    def pct(*prefixes: str) -> float:
        return 100 * sum(share[p] for p in prefixes) / len(calls)

    assert 24 <= pct("03") <= 32  # traffic
    assert 16 <= pct("05") <= 24  # help requests
    assert 8 <= pct("06") <= 13  # disputes
    assert 8 <= pct("01", "02") <= 14  # crime and public order
    assert 15 <= pct("09") <= 22  # non-police, diverted
    assert 8 <= pct("10") <= 13  # other / invalid
    assert {c.type.handling for c in calls if c.category.startswith("09")} == {DIVERT}
    table = all_codes()
    assert all(c.category in table for c in calls)
    # Repeat callers: the same number from the same address, again and again.
    by_phone = Counter((c.caller_phone, c.address) for c in calls if c.regular)
    assert by_phone and by_phone.most_common(1)[0][1] >= 5
    # Every call is placed near a station of the city (within 2 km).
    for c in calls[:500]:
        assert abs(c.lat - c.station.lat) < 0.02 and abs(c.lon - c.station.lon) < 0.025


def test_a_station_with_gazetteer_addresses_names_them_and_one_without_gets_made_up_streets():
    spots = {1: [Spot("东湖路9号", 30.2962, 120.15), Spot("东湖公园", 30.2996, 120.1727)]}
    maker = CallMaker(random.Random(2), STATIONS, all_codes(), spots=spots)
    calls = [maker.make() for _ in range(400)] + [maker.duplicate(maker.make())]
    east = [c for c in calls if c.station.id == 1]
    west = [c for c in calls if c.station.id == 2]
    assert east and west
    assert {(c.address, c.lat, c.lon) for c in east} == {(s.name, s.lat, s.lon) for s in spots[1]}
    assert not any(c.address in ("东湖路9号", "东湖公园") for c in west)
    assert all(abs(c.lat - 30.25) < 0.02 and abs(c.lon - 120.10) < 0.025 for c in west)


def test_evening_brings_several_times_the_calls_of_the_small_hours():
    def count(start_s: float) -> int:
        maker = CallMaker(random.Random(5), STATIONS, all_codes(), peak_per_minute=6)
        t, n = 0.0, 0
        while True:
            t += maker.gap(start_s + t)
            if t > 3600:
                return n
            n += 1

    night, evening = count(3.5 * 3600), count(19.5 * 3600)
    assert 3 * night < evening
    assert 280 <= evening <= 420  # ≈ 6 a minute at the peak


# --- An hour through the services ---------------------------------------------------------------------


def test_an_hour_through_the_services_leaves_consistent_states_logs_and_clocks(demo_city):
    city_group = realtime.org_group(demo_city.pk)
    seq_before = realtime.current_seq(city_group)
    initial = dict(Unit.objects.values_list("id", "position_at"))

    stats = simulate("--speed", "3600", "--hours", "1", "--seed", "1", "--start", "19:00", "--rate", "2")

    assert stats["errors"] == 0 and stats["refused"] == {} and stats["retries"] == 0
    incidents = Incident.objects.all()
    assert incidents.count() == stats["calls"] == stats["done"]["intake"] > 60
    states = Counter(incidents.values_list("state", flat=True))
    assert states["closed"] > 10 and states["invalid"] > 0 and states["diverted"] + states["closed"] > 0
    assert Diversion.objects.exists() and Callback.objects.exists() and Feedback.objects.exists()
    orders = Counter(DispatchOrder.objects.values_list("state", flat=True))
    assert orders["done"] > 5 and orders["signed"] + orders["arrived"] + orders["done"] > 10

    # Every incident went through the services: an intake row first, every move logged, the logs chain,
    # and the state is the last row's.
    ids = list(incidents.values_list("id", flat=True))
    assert not chain_breaks(IncidentTransition, ids)
    logged = last_logged(IncidentTransition)
    assert {i.pk: i.state for i in incidents} == {i: logged[i] for i in ids}
    assert IncidentTransition.objects.filter(event="intake", from_state="").count() == len(ids)
    for state, event in [("invalid", "invalidate"), ("diverted", "divert"), ("merged", "merge")]:
        for i in incidents.filter(state=state):
            assert i.transitions.filter(event=event).exists(), (i.number, state)

    # Orders and units likewise: sent by the desk, signed by an officer of the addressed station.
    order_ids = list(DispatchOrder.objects.values_list("id", flat=True))
    assert not chain_breaks(OrderTransition, order_ids)
    logged = last_logged(OrderTransition)
    assert {o.pk: o.state for o in DispatchOrder.objects.all()} == {o: logged[o] for o in order_ids}
    for t in OrderTransition.objects.filter(event="sign").select_related("subject", "actor__person"):
        assert t.actor is not None and t.actor.person.org_id == t.subject.org_id
        assert t.actor.groups.filter(name="station_officer").exists()
    assert not chain_breaks(UnitTransition, list(Unit.objects.values_list("id", flat=True)))

    # Closed means closed: a closing log row and time, feedback (unless a partner finished it), and no
    # order left live behind it.
    for i in incidents.filter(state="closed"):
        assert i.closed_at is not None
        assert i.transitions.filter(to_state="closed").exists()
        assert i.feedback.exists() or i.diversions.filter(state="done").exists()
    assert not DispatchOrder.objects.filter(
        incident__state__in=["closed", "invalid", "merged", "scene_cleared"], state__in=LIVE
    ).exists()
    # A unit is busy exactly while it has a live order.
    for u in Unit.objects.all():
        live = DispatchOrder.objects.filter(unit=u, state__in=LIVE).count()
        assert live == (1 if u.status in ("en_route", "on_scene") else 0), (u.call_sign, u.status, live)

    # Clocks agree with the states: signatures met their sign clock, finished orders their report-back
    # clock; a closed incident has no running feedback clock and a callback clock until it is called back.
    ct_order, ct_incident = (ContentType.objects.get_for_model(m) for m in (DispatchOrder, Incident))
    running = Deadline.objects.filter(met_at__isnull=True, cancelled_at__isnull=True)
    signed = DispatchOrder.objects.filter(signed_at__isnull=False).values_list("id", flat=True)
    assert not running.filter(subject_type=ct_order, kind="dispatch.sign", subject_id__in=signed).exists()
    done = DispatchOrder.objects.filter(state="done").values_list("id", flat=True)
    assert not running.filter(subject_type=ct_order, subject_id__in=done).exists()
    closed = incidents.filter(state="closed")
    assert not running.filter(subject_type=ct_incident, kind="incidents.feedback", subject_id__in=closed).exists()
    for i in closed:
        callback_clock = Deadline.objects.get(subject_type=ct_incident, subject_id=i.pk, kind="incidents.callback")
        assert (callback_clock.met_at is not None) == Callback.objects.filter(incident=i).exists()
    ended = DispatchOrder.objects.filter(state__in=["returned", "cancelled"]).values_list("id", flat=True)
    assert not running.filter(subject_type=ct_order, subject_id__in=ended).exists()

    # Invalid calls were invalidated and non-police ones diverted, never dispatched.
    invalid = incidents.filter(category__code__startswith="10").exclude(category__code__startswith="1004")
    assert invalid.exists() and not DispatchOrder.objects.filter(incident__in=invalid).exists()
    assert set(invalid.values_list("state", flat=True)) <= {"invalid", "received", "merged"}
    diverted = incidents.filter(category__code__startswith="09")
    assert diverted.exists() and not DispatchOrder.objects.filter(incident__in=diverted).exists()
    assert set(diverted.values_list("state", flat=True)) <= {"received", "diverted", "closed", "self_handled"}

    # Units drove (positions reported in batches) and the boards were told after each commit.
    moved = [uid for uid, at in Unit.objects.values_list("id", "position_at") if at != initial[uid]]
    assert stats["done"]["positions"] > 10 and len(moved) > 5
    assert realtime.current_seq(city_group) > seq_before + stats["calls"]


def test_on_the_demo_gazetteer_a_call_names_an_address_the_search_finds_routed_to_its_polygon(demo_city):
    places_demo.load_demo()
    try:
        stats = simulate("--speed", "3600", "--hours", "0.25", "--seed", "5", "--start", "20:00", "--rate", "3")
        assert stats["errors"] == 0 and stats["calls"] > 15
        named_after = 0
        for i in Incident.objects.select_related("org"):
            # What the call-taker types finds the place itself, first, at the incident's point...
            top = places_selectors.search(i.address)[0]
            assert top.name == i.address and (top.lat, top.lon) == pytest.approx((i.lat, i.lon), abs=1e-6)
            # ...and the incident went to the station whose polygon holds it.
            assert i.lat is not None and i.lon is not None and i.org is not None
            assert top.org is not None
            assert i.org_id == top.org.pk, (i.address, i.org.name, top.org.name)
            assert places_selectors.owning_org(i.lat, i.lon) == i.org
            if i.address.startswith(i.org.name.removesuffix("派出所")):  # 东湖路… at 东湖派出所
                named_after += 1
        assert named_after > 0
    finally:
        memo.forget()


def test_the_same_seed_plays_the_same_day(demo_city):
    def played() -> tuple[dict, list[tuple]]:
        stats = simulate("--speed", "3600", "--hours", "0.25", "--seed", "7", "--start", "20:00", "--rate", "3")
        rows = list(
            Incident.objects.order_by("id").values_list("category_id", "level", "address", "state", "org__name")
        )
        return stats, rows

    first = played()
    # Afresh, as a new `make run` on an empty database would start.
    call_command("flush", interactive=False, verbosity=0)
    codes.load_defaults()
    city_demo.load()
    dispatch_demo.load_demo()
    second = played()
    assert first[0]["calls"] > 15
    assert {k: v for k, v in first[0].items() if k != "max_lag_s"} == {
        k: v for k, v in second[0].items() if k != "max_lag_s"
    }
    assert first[1] == second[1]


def test_a_later_run_takes_on_what_an_earlier_one_left_open(demo_city):
    simulate("--speed", "3600", "--hours", "0.25", "--seed", "3", "--start", "20:00", "--rate", "3")
    first = set(Incident.objects.values_list("id", flat=True))
    live = ["sent", "delivered", "signed"]
    # The orders the first run left waiting (by id: the second run may send new ones for the same incidents,
    # and one sent in its last minutes is rightly still on its way when it stops).
    left = list(DispatchOrder.objects.filter(incident__in=first, state__in=live).values_list("id", flat=True))
    waiting = DispatchOrder.objects.filter(pk__in=left, state__in=live)
    assert left and Unit.objects.filter(status="en_route").exists()
    closed_before = Incident.objects.filter(state="closed").count()
    stats = simulate("--speed", "3600", "--hours", "0.5", "--seed", "4", "--start", "02:00", "--rate", "0.1")
    assert stats["errors"] == 0 and stats["refused"] == {}
    # Half an hour later the orders the first run left waiting have been signed and their units arrived
    # (or were called off), through the services; incidents it left went on to closing.
    assert not waiting.exists(), list(waiting.values_list("id", "state"))
    assert Incident.objects.filter(pk__in=first, state="closed").count() > closed_before
    assert not chain_breaks(IncidentTransition, list(first))
    assert not chain_breaks(OrderTransition, list(DispatchOrder.objects.values_list("id", flat=True)))


# --- Refusals, outages, stopping ------------------------------------------------------------------------


def test_a_refused_action_is_logged_and_skipped(demo_city, caplog):
    sim = Simulator(seed=1)
    sim._setup()
    incident, _ = incident_services.incident_intake(actor=sim.desk, data=_call())
    with caplog.at_level(logging.WARNING, logger="dispatch.simulator"):
        got = sim.act("close", incident_services.incident_close, incident_id=incident.pk, actor=sim.desk)
    assert got is None
    assert sim.stats.refused["close"] == 1 and sim.stats.done["close"] == 0
    assert "close refused (InvalidTransition" in caplog.text
    assert Incident.objects.get(pk=incident.pk).state == "received"


@pytest.mark.faults
def test_a_database_outage_is_retried_with_back_off(demo_city, caplog):
    sim = Simulator(seed=1, backoff=(0.05, 0.2))
    sim._setup()
    data = _call()
    # The server drops the simulator's connection (a restart, a failover, a network cut).
    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        pid = cur.fetchone()[0]
    s = connection.settings_dict
    admin = psycopg2.connect(
        host=s["HOST"] or None,
        port=s["PORT"] or None,
        user=s["USER"],
        password=s["PASSWORD"] or None,
        dbname="postgres",
    )
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute("SELECT pg_terminate_backend(%s)", [pid])
    admin.close()
    with caplog.at_level(logging.WARNING, logger="dispatch.simulator"):
        got = sim.act("intake", incident_services.incident_intake, actor=sim.desk, data=data)
    assert got is not None
    incident = got[0]
    assert incident is not None and Incident.objects.filter(pk=incident.pk).exists()
    assert sim.stats.retries >= 1 and sim.stats.done["intake"] == 1
    assert "database or Redis unavailable" in caplog.text


def test_stop_ends_a_run_without_an_end(demo_city):
    sim = Simulator(seed=1, speed=60)
    timer = threading.Timer(1.0, sim.stop)
    timer.start()
    t0 = time.monotonic()
    stats = sim.run()
    assert time.monotonic() - t0 < 10
    assert stats.errors == 0


@pytest.mark.faults
def test_the_command_stops_cleanly_on_ctrl_c(demo_city):
    """As `make run` stops it: SIGINT (or SIGTERM) ends the day after the action under way, exit 0."""
    s = connection.settings_dict
    # The test database, also when it is the embedded server's unix socket (a directory as the host).
    auth = quote(s["USER"], safe="") + (f":{quote(s['PASSWORD'], safe='')}" if s["PASSWORD"] else "")
    where = quote(s["HOST"] or "127.0.0.1", safe="") + (f":{s['PORT']}" if s["PORT"] else "")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": f"postgres://{auth}@{where}/{s['NAME']}",
    }
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "simulate", "--speed", "60", "--seed", "2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not Incident.objects.exists():
            time.sleep(0.2)
        assert Incident.objects.exists(), "the simulator took no call within a minute"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert json.loads(out.strip().splitlines()[-1])["calls"] >= 1


def test_the_simulator_refuses_to_run_in_production(settings):
    from django.core.management.base import CommandError

    settings.DEMO_ALLOWED = False
    with pytest.raises(CommandError, match="DEMO_ALLOWED"):
        call_command("simulate", "--hours", "1")


def _call() -> incident_services.IntakeData:
    station = Org.objects.get(name="东湖派出所")
    return incident_services.IntakeData(
        call_id=f"T{time.time_ns()}",
        source="110",
        address="东湖路1号",
        category=Category.objects.get(pk="020500"),
        lat=station.lat,
        lon=station.lon,
    )
