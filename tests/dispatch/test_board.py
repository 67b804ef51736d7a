"""The live screens' state endpoints (GET /api/board/, /api/board/stats/, /api/board/inbox/) and pages
(/dispatch/board/, /dispatch/inbox/, /dispatch/wall/): shape, the group seq read before the rows, scoping,
alerts, today's measures, and who may open what."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from command_center import clocks, realtime
from command_center.models import Category, Deadline, Role
from dispatch import board, services
from dispatch.models import DispatchOrder, Unit
from incidents import services as incident_services
from incidents.services import IntakeData
from tests.factories import make_person

from .conftest import api_as, dispatch, make_incident, make_unit


def json_safe(data):
    """As the API renders it (datetimes as DRF writes them)."""
    import json

    from rest_framework.renderers import JSONRenderer

    return json.loads(JSONRenderer().render(data))


def group_seq(org) -> int:
    return realtime.current_seq(realtime.org_group(org.pk))


def test_board_state_shape(coded, duty, order, incident, car):
    body = duty.get("/api/board/").json()
    # `watch` is supervision's (command_center.screens): the watch list 盯办.
    # `ended`: the queue's filter was off (issue 12; tests/dispatch/test_queue.py).
    assert set(body) == {"seq", "at", "incidents", "truncated", "ended", "units", "orgs", "alerts", "watch"}
    assert body["seq"] == group_seq(coded.city) and body["truncated"] is False
    row = next(i for i in body["incidents"] if i["id"] == incident.pk)
    assert row["number"] == incident.number and row["state"] == "dispatched" and row["category_name"] == "噪音扰民"
    assert row["org_name"] == "东湖派出所" and "caller_phone" not in row and "caller_name" not in row
    [o] = row["orders"]
    assert o["id"] == order.pk and o["state"] == "sent" and o["unit_call_sign"] == car.call_sign
    assert o["org_name"] == "东湖派出所" and o["overdue"] == [] and o["sign_due_at"]
    kinds = {(c["kind"], c["order"]) for c in row["clocks"]}
    assert kinds == {("dispatch.sign", order.pk), ("incidents.feedback", None)}
    sign = next(c for c in row["clocks"] if c["kind"] == "dispatch.sign")
    assert sign["breached_at"] is None and sign["label"]
    [u] = [u for u in body["units"] if u["id"] == car.pk]
    assert u == json_safe(services.unit_payload(Unit.objects.get(pk=car.pk)))  # the push's shape
    assert {o["name"] for o in body["orgs"]} >= {"东湖派出所", "西溪派出所"} and "12345热线" not in str(body["orgs"])
    assert body["alerts"] == [] and body["watch"] == []


def test_the_seq_is_read_before_any_row(coded, duty, order, monkeypatch):
    """A push committed between the seq read and the row reads is re-applied (harmless); one committed
    before must be in the rows. So the seq comes first: no query has run when it is read."""
    seen: list[int] = []
    real = realtime.current_seq

    def spy(group: str) -> int:
        seen.append(len(ctx.captured_queries))
        return real(group)

    monkeypatch.setattr(realtime, "current_seq", spy)
    with CaptureQueriesContext(connection) as ctx:
        body = board.board_state(coded.duty)
    assert seen and seen[0] <= 1  # at most the person's own row (who is asking) before the seq
    assert all("dispatch_" not in q["sql"] and "incidents_" not in q["sql"] for q in ctx.captured_queries[: seen[0]])
    assert body["seq"] == real(realtime.org_group(coded.city.pk))


def test_a_push_moves_the_seq_the_board_returns(coded, duty, incident, car):
    before = duty.get("/api/board/").json()["seq"]
    from tests.conftest import capture_broadcasts

    with capture_broadcasts() as sent:
        dispatch(coded, incident, unit=car)
    city = [m["seq"] for m in sent if m["group"] == realtime.org_group(coded.city.pk)]
    assert city and duty.get("/api/board/").json()["seq"] == max(city) > before


def test_queue_order_breached_then_running_or_waiting_then_by_level_and_age(coded, duty):
    calm = make_incident(coded, level=3)
    waiting_l2 = make_incident(coded, level=2)
    late = make_incident(coded, level=4)
    o = dispatch(coded, late, org=coded.station_a1)
    assert clocks.sweep(now=o.sent_at + timedelta(seconds=31)) == 1
    ids = [i["id"] for i in duty.get("/api/board/").json()["incidents"]]
    assert ids == [late.pk, waiting_l2.pk, calm.pk]


def test_station_b_sees_nothing_of_station_a(coded, order, incident):
    b_officer = api_as(coded.station_b1_officer)
    inbox = b_officer.get("/api/board/inbox/").json()
    assert inbox["orders"] == [] and inbox["tasks"] == [] and inbox["org"]["name"] == "西溪派出所"
    assert inbox["seq"] == group_seq(coded.station_b1)
    assert b_officer.get("/api/board/").status_code == 403  # a station officer has the inbox, not the board
    [row] = api_as(coded.station_a1_officer).get("/api/board/inbox/").json()["orders"]
    assert row["id"] == order.pk and row["incident"]["number"] == incident.number
    assert row["incident"]["category_name"] == "噪音扰民" and row["incident"]["state"] == "dispatched"
    assert set(row["allowed"]) == {"deliver", "sign", "return", "cancel"}
    assert "13800138000" not in str(row) and "张三" not in str(row)  # never the caller
    # A county's duty officer sees their county only.
    county_a = api_as(coded.county_a_duty).get("/api/board/").json()
    assert [i["id"] for i in county_a["incidents"]] == [incident.pk]
    assert county_a["seq"] == group_seq(coded.county_a)
    other = api_as(make_person_in(coded.county_b))
    body = other.get("/api/board/").json()
    assert body["incidents"] == [] and body["alerts"] == []
    assert {u["org"] for u in body["units"]} <= {coded.station_b1.pk}
    assert "东湖派出所" not in str(body) and incident.number not in str(body)
    stats = other.get("/api/board/stats/").json()
    assert stats["total"] == 0 and stats["open"] == 0 and stats["breaches"]["open"] == 0


def make_person_in(org):
    from command_center.models import Role
    from tests.factories import make_person

    return make_person(f"duty_{org.pk}", org, Role.DUTY_OFFICER)


def test_a_reinforcement_from_another_county_shows_its_incident(coded, incident):
    b_car = make_unit(coded.station_b1)
    o = dispatch(coded, incident, unit=b_car)
    body = api_as(make_person_in(coded.county_b)).get("/api/board/").json()
    [row] = body["incidents"]
    assert row["id"] == incident.pk and [x["id"] for x in row["orders"]] == [o.pk]
    assert {c["kind"] for c in row["clocks"]} == {"dispatch.sign"}  # not the incident's own clock


def test_alerts_breaches_returns_and_repeats(coded, duty, incident, car):
    o = dispatch(coded, incident, unit=car)
    clocks.sweep(now=o.sent_at + timedelta(seconds=31))
    other = make_incident(coded)
    r = dispatch(coded, other, org=coded.station_a1)
    services.order_return(order_id=r.pk, actor=coded.station_a1_officer, reason="不在辖区")
    for k in range(3):
        data = IntakeData(
            call_id=f"REPEAT-{k}",
            source="110",
            address="幸福小区3栋",
            category=Category.objects.get(code="020500"),
            caller_phone=f"1360000000{k}",
            lat=30.2950,
            lon=120.1650,
        )
        incident_services.incident_intake(actor=coded.duty, data=data)
    alerts = duty.get("/api/board/").json()["alerts"]
    kinds = {a["kind"]: a for a in alerts}
    assert set(kinds) == {"breach", "returned", "repeat"}
    breach = kinds["breach"]
    assert breach["key"].startswith("breach:") and breach["clock"] == "dispatch.sign"
    assert breach["order"] == o.pk and breach["incident"]["number"] == incident.number
    assert breach["text"] == car.call_sign
    assert kinds["returned"] == {**kinds["returned"], "key": f"returned:{r.pk}", "order": r.pk}
    assert "不在辖区" in kinds["returned"]["text"]
    repeats = {a["text"]: a for a in alerts if a["kind"] == "repeat"}
    assert repeats["幸福小区3栋"]["count"] >= 2 and repeats["幸福小区3栋"]["key"].startswith("repeat:")
    # Signed late: the breach is met and leaves the strip (the record stays on the clock).
    services.order_sign(order_id=o.pk, actor=coded.station_a1_officer)
    assert "breach" not in {a["kind"] for a in duty.get("/api/board/").json()["alerts"]}
    # Station B's officer sees none of it in their inbox; station A's sees the late order's return.
    assert api_as(coded.station_b1_officer).get("/api/board/inbox/").json()["orders"] == []


def test_stats_counts_of_today(coded, incident, car):
    commander = api_as(coded.commander)
    on_time = dispatch(coded, incident, unit=car)
    services.order_sign(order_id=on_time.pk, actor=coded.station_a1_officer)
    services.order_arrive(order_id=on_time.pk, actor=coded.station_a1_officer)
    late_incident = make_incident(coded, category="010100", level=1)
    late = dispatch(coded, late_incident, org=coded.station_a1)
    DispatchOrder.objects.filter(pk=late.pk).update(sent_at=timezone.now() - timedelta(seconds=45))
    make_incident(coded)  # waiting
    clocks.sweep(now=timezone.now() + timedelta(seconds=31))  # the late order's sign clock breaks
    body = commander.get("/api/board/stats/").json()
    assert body["total"] == 3 and body["open"] == 3
    assert {(c["code"], c["name"], c["count"]) for c in body["by_category"]} == {
        ("010000", "刑事", 1),
        ("020000", "治安", 2),
    }
    assert {s["state"]: s["count"] for s in body["by_state"]} == {"on_scene": 1, "dispatched": 1, "received": 1}
    # The measures (sign within 30 s…) are supervision's, added through screens.WALL: tests/supervision/test_wall.py.
    assert body["breaches"]["open"] == 1 and body["breaches"]["items"][0]["order"] == late.pk
    assert body["units"]["on_scene"] == 1 and body["seq"] == group_seq(coded.city)


@pytest.mark.parametrize("url", ["/api/board/", "/api/board/stats/", "/api/board/inbox/"])
def test_state_endpoints_refuse_the_wrong_roles(coded, url):
    assert api_as(coded.partner_agent).get(url).status_code == 403
    assert api_as(coded.volunteer).get(url).status_code == 403
    from rest_framework.test import APIClient

    assert APIClient().get(url).status_code == 401


def test_pages_by_role(client, coded):
    client.force_login(coded.duty)
    html = client.get("/dispatch/board/").content.decode()
    assert "/api/board/" in html and "vendor/leaflet/leaflet.js" in html and "js/board.js" in html
    assert 'href="/dispatch/board/"' in html and 'href="/dispatch/wall/"' not in html  # nav
    assert client.get("/dispatch/inbox/")["Location"] == "/dispatch/board/"
    assert client.get("/dispatch/wall/").status_code == 200

    client.force_login(coded.commander)
    html = client.get("/dispatch/wall/").content.decode()
    assert "/api/board/stats/" in html and 'href="/dispatch/wall/"' in html and 'href="/dispatch/board/"' in html

    client.force_login(coded.station_a1_officer)
    html = client.get("/dispatch/inbox/").content.decode()
    assert "/api/board/inbox/" in html and 'href="/dispatch/inbox/"' in html and 'href="/dispatch/board/"' not in html
    assert "现场调解" in html  # the feedback form's result codes
    assert client.get("/dispatch/board/")["Location"] == "/dispatch/inbox/"
    assert client.get("/dispatch/wall/")["Location"] == "/dispatch/inbox/"

    client.force_login(coded.partner_agent)
    for url in ("/dispatch/board/", "/dispatch/inbox/", "/dispatch/wall/"):
        assert client.get(url).status_code == 403

    client.logout()
    assert client.get("/dispatch/board/")["Location"].startswith("/login/")


def test_schema_documents_the_state_endpoints(coded, duty):
    paths = duty.get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    for path in ("/api/board/", "/api/board/stats/", "/api/board/inbox/"):
        assert path in paths, path


def test_board_order_rows_have_the_push_shape(coded, order, incident):
    """The board reads orders as plain rows; a push carries services.order_payload: one shape for both."""
    services.order_sign(order_id=order.pk, actor=coded.station_a1_officer)
    rows, _ = board.board_incidents(coded.duty)
    [row] = next(i for i in rows if i["id"] == incident.pk)["orders"]
    extra = {k: row.pop(k) for k in ("org_name", "overdue")}
    assert row == services.order_payload(DispatchOrder.objects.get(pk=order.pk))
    assert extra == {"org_name": "东湖派出所", "overdue": []}


def test_a_broken_clock_leaves_the_board_with_its_cancelled_or_returned_order(coded, duty, incident, car):
    """A breach belongs on the board while somebody can still act on it: once the order is called off or
    sent back, its broken sign clock leaves the alerts and the open breaches; the breach stays recorded."""
    cancelled = dispatch(coded, incident, unit=car)
    returned = dispatch(coded, incident, org=coded.station_a2)
    clocks.sweep(now=returned.sent_at + timedelta(seconds=31))
    assert duty.get("/api/board/stats/").json()["breaches"]["open"] == 2
    services.order_cancel(order_id=cancelled.pk, actor=coded.duty, reason="改派")
    a2 = make_person("a2_officer", coded.station_a2, Role.STATION_OFFICER)
    services.order_return(order_id=returned.pk, actor=a2, reason="无警力")
    board = duty.get("/api/board/").json()
    assert "breach" not in {a["kind"] for a in board["alerts"]}
    assert duty.get("/api/board/stats/").json()["breaches"]["open"] == 0
    sign = Deadline.objects.filter(kind="dispatch.sign", subject_id__in=[cancelled.pk, returned.pk])
    assert sign.count() == 2 and all(d.breached_at and d.cancelled_at for d in sign)
