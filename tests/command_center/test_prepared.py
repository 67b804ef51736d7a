"""Prepared statements on kept connections (command_center/prepared.py): the intake's token read and insert
answer the same prepared as sent as text."""

from __future__ import annotations

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from command_center import codes, prepared, tokens
from command_center.models import Deadline, Org

pytestmark = pytest.mark.django_db


@pytest.fixture
def kept(monkeypatch):
    """The connection as the WSGI server keeps it (CONN_MAX_AGE > 0): statements are prepared."""
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 60)


def on_server() -> set[str]:
    with connection.cursor() as cur:
        cur.execute("SELECT name FROM pg_prepared_statements")
        return {r[0] for r in cur.fetchall()}


def test_placeholders_become_postgresqls():
    assert prepared._convert("SELECT %s, %s WHERE a LIKE 'x%%'") == ("SELECT $1, $2 WHERE a LIKE 'x%'", None, 2)
    assert prepared._convert("SELECT %(a)s, %(b)s, %(a)s") == ("SELECT $1, $2, $1", ["a", "b"], 2)
    with pytest.raises(ValueError):
        prepared._convert("SELECT %s, %(a)s")


def test_prepared_once_per_connection_then_executed(kept):
    rows = []
    with CaptureQueriesContext(connection) as q:
        for n in (1, 2, 3):
            with connection.cursor() as cur:
                prepared.execute(cur, "cc_test_add", "SELECT %(n)s::int + %(m)s::int, '%%'", {"n": n, "m": 10})
                rows.append(cur.fetchone())
    assert rows == [(11, "%"), (12, "%"), (13, "%")]
    sent = [x["sql"].split()[0] for x in q.captured_queries]
    assert sent == ["PREPARE", "EXECUTE", "EXECUTE", "EXECUTE"]
    assert "cc_test_add" in on_server()


def test_a_new_connection_prepares_again(kept):
    with connection.cursor() as cur:
        prepared.execute(cur, "cc_test_one", "SELECT %s::int", [1])
    connections["default"].__dict__["_cc_prepared"] = (object(), set())  # as after Django reconnected
    with CaptureQueriesContext(connection) as q, connection.cursor() as cur:
        cur.execute("DEALLOCATE cc_test_one")  # the new session has none
        prepared.execute(cur, "cc_test_one", "SELECT %s::int", [2])
        assert cur.fetchone() == (2,)
    assert [x["sql"].split()[0] for x in q.captured_queries] == ["DEALLOCATE", "PREPARE", "EXECUTE"]


def test_a_connection_per_request_sends_the_text(monkeypatch):
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 0)
    with CaptureQueriesContext(connection) as q, connection.cursor() as cur:
        prepared.execute(cur, "cc_test_text", "SELECT %s::int", [5])
        assert cur.fetchone() == (5,)
    assert q.captured_queries[0]["sql"] == "SELECT 5::int"


def test_intake_prepared_is_the_intake_as_text(world, kept):
    """The same calls through the API with token auth, prepared: the same answers; a retried call (its
    insert fails on the unique call id inside the transaction) leaves the prepared insert usable."""
    codes.load_defaults()
    Org.objects.filter(pk=world.station_a1.pk).update(lat=30.2900, lon=120.1600)
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION=f"Token {tokens.token_issue(user=world.duty)[1]}")
    body = {"call_id": "P1", "source": "110", "caller_phone": "13800138000", "address": "东湖路12号",
            "lat": 30.2901, "lon": 120.1601, "category": "020500", "level": 3, "narrative": "噪音"}  # fmt: skip
    first = c.post("/api/incidents/", body, format="json")
    assert first.status_code == 201, first.json()
    assert {"cc_token_auth", "cc_ledger", "cc_incident_insert_clock"} <= on_server()
    again = c.post("/api/incidents/", body, format="json")
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    second = c.post("/api/incidents/", {**body, "call_id": "P2"}, format="json")
    assert second.status_code == 201
    ids = [first.json()["id"], second.json()["id"]]
    # stored with each incident, in its statement
    assert Deadline.objects.filter(subject_id__in=ids, kind="incidents.dispatch").count() == 2
    linked = c.post("/api/incidents/", {**body, "call_id": "P3", "repeat_of": first.json()["id"]}, format="json")
    assert linked.status_code == 201 and "cc_incident_insert" in on_server()  # another report: no clock
    assert not Deadline.objects.filter(subject_id=linked.json()["id"]).exists()
    assert int(second.json()["number"]) == int(first.json()["number"]) + 1  # no gap after the retry
    wrong = APIClient()
    wrong.credentials(HTTP_AUTHORIZATION="Token " + "0" * 16 + "." + "0" * 64)
    assert wrong.get("/api/me/").status_code == 401


def test_the_ledger_read_under_its_generic_plan_finds_what_the_text_finds(world, monkeypatch):
    """The repeat ledger's read at intake, prepared and run under the generic plan PostgreSQL may keep after
    five runs (forced here), finds the same earlier incidents as the statement sent as text: near, at the
    address, both, neither; without a position (no cells) and at a short address (not looked up)."""
    from datetime import timedelta

    from django.utils import timezone

    from command_center.models import Category
    from incidents import selectors, services
    from incidents.models import Incident

    codes.load_defaults()
    cat = Category.objects.get(code="020500")
    t0 = timezone.now() - timedelta(hours=2)
    for k, (address, lat, lon) in enumerate(
        [("东湖路12号", 30.2901, 120.1601), ("东湖路12号", None, None), ("西湖路3号", 30.2903, 120.1604),
         ("南山路8号", 30.3300, 120.2000), ("门口", 30.2902, 120.1602)]
    ):  # fmt: skip
        services.incident_intake(
            actor=world.duty,
            data=services.IntakeData(call_id=f"L{k}", source="110", address=address, category=cat, lat=lat, lon=lon,
                                     caller_phone=f"1380013800{k}", reported_at=t0 + timedelta(minutes=k)),
        )  # fmt: skip
    probes = [("东湖路12号", 30.2901, 120.1601), ("东湖路12号", None, None), ("北街1号", 30.2902, 120.1603),
              ("南山路8号", 30.3301, 120.2001), ("门口", None, None), ("无名路9号", 31.0, 121.0)]  # fmt: skip

    def read(address: str, lat: float | None, lon: float | None) -> list[tuple[int, str]]:
        new = Incident(address_key=selectors.address_key(address), lat=lat, lon=lon, category=cat,
                       cell=selectors.cell_of(lat, lon), reported_at=timezone.now())  # fmt: skip
        return [(h.incident.id, h.kind) for h in selectors.ledger_hints(new)]

    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 0)
    as_text = [read(*p) for p in probes]
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 60)
    with connection.cursor() as cur:
        cur.execute("SET plan_cache_mode = force_generic_plan")
    try:
        generic = [read(*p) for p in probes * 2]  # past five runs
    finally:
        with connection.cursor() as cur:
            cur.execute("RESET plan_cache_mode")
    assert "cc_ledger" in on_server()
    assert generic == as_text * 2
    assert [len(x) for x in as_text] == [4, 2, 3, 1, 0, 0], as_text  # each kind of answer was met


def test_the_ledger_read_keeps_to_the_cell_index_under_a_generic_plan_made_on_stale_statistics(world, kept):
    """A new center: the table's statistics were taken when it held a few calls, then thousands came. A generic
    plan made then (forced here) must still read the cells by their index, not walk the time index over the
    whole window filtering the cells (what `cell = ANY(cells)` got: 3 ms a call on the intake bench's table)."""
    import random
    from datetime import timedelta

    from django.utils import timezone

    from command_center.models import Category
    from incidents import selectors, services
    from incidents.models import Incident

    codes.load_defaults()
    cat = Category.objects.get(code="020500")
    for k in range(3):
        services.incident_intake(
            actor=world.duty,
            data=services.IntakeData(call_id=f"S{k}", source="110", address=f"东湖路{k}号", category=cat,
                                     lat=30.29 + k * 0.001, lon=120.16),
        )  # fmt: skip
    with connection.cursor() as cur:
        cur.execute("ANALYZE incidents_incident")
    src = Incident.objects.first()
    assert src is not None
    rnd = random.Random(3)
    copied = {f.attname: getattr(src, f.attname) for f in Incident._meta.concrete_fields if not f.primary_key}
    now = timezone.now()
    clones = []
    for k in range(3000):
        lat, lon = 30.2 + rnd.random() * 0.15, 120.05 + rnd.random() * 0.2
        clones.append(Incident(**{**copied, "call_id": f"B{k}", "number": f"B{k:08d}", "eido_tracking_id": None,
                                  "lat": lat, "lon": lon, "cell": selectors.cell_of(lat, lon),
                                  "reported_at": now - timedelta(seconds=rnd.randrange(86400))}))  # fmt: skip
    Incident.objects.bulk_create(clones, batch_size=1000)
    _text, names, _count = prepared._convert(selectors._LEDGER_SQL)
    assert names is not None
    new = Incident(address_key=selectors.address_key("东湖路1号"), lat=30.291, lon=120.16, reported_at=now)
    params = selectors.ledger_params(new)
    with connection.cursor() as cur:
        cur.execute("SET plan_cache_mode = force_generic_plan")
        try:
            prepared.execute(cur, "cc_ledger", selectors._LEDGER_SQL, params)
            cur.execute(f"EXPLAIN EXECUTE cc_ledger({', '.join(['%s'] * len(names))})", [params[n] for n in names])
            plan = "\n".join(r[0] for r in cur.fetchall())
        finally:
            cur.execute("RESET plan_cache_mode")
    assert "incident_cell" in plan and "incident_address" in plan, plan
    assert "incident_reported" not in plan and "Seq Scan on incidents_incident" not in plan, plan


@pytest.mark.django_db(transaction=True)
def test_each_thread_prepares_on_its_own_connection(kept):
    """gthread workers: every thread has its own connection, and each prepares what it uses once."""
    import threading

    errors: list[BaseException] = []

    def run() -> None:
        try:
            for n in range(5):
                with connections["default"].cursor() as cur:
                    prepared.execute(cur, "cc_test_thread", "SELECT %s::int * 2", [n])
                    assert cur.fetchone() == (n * 2,)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_a_pooler_in_transaction_mode_turns_them_off_and_server_side_cursors_too():
    """DATABASE_POOL=transaction (PgBouncer): no PREPARE whatever PREPARED_STATEMENTS says, no named cursors."""
    import json
    import os
    import subprocess
    import sys

    from django.conf import settings

    script = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps([s.PREPARED_STATEMENTS, s.DATABASES['default'].get('DISABLE_SERVER_SIDE_CURSORS', False)]))"
    )

    def read(**env: str) -> list[bool]:
        out = subprocess.run(
            [sys.executable, "-c", script],
            env={**os.environ, "DJANGO_SETTINGS_MODULE": "command_center.settings", **env},
            cwd=settings.BASE_DIR,
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(out.stdout.strip().splitlines()[-1])

    assert read(DATABASE_POOL="session", PREPARED_STATEMENTS="1") == [True, False]
    assert read(DATABASE_POOL="transaction", PREPARED_STATEMENTS="1") == [False, True]
