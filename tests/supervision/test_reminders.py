"""Escalation, breach by breach: a reminder (催办) on the first, a 督办 order on the next, one level up on
each further one; the reminders inbox and the orders list, scoped."""

from datetime import timedelta

from command_center import clocks
from command_center.models import Deadline
from intel import services
from supervision.models import Reminder, SupervisionOrder
from tests.conftest import capture_broadcasts
from tests.intel.conftest import api_as, task_of

MIN = timedelta(minutes=1)


def test_the_first_breach_reminds_the_station_and_the_issuers_board(coded, red):
    t = task_of(red, coded.station_a1)
    at = red.issued_at + 11 * MIN
    with capture_broadcasts() as sent:
        assert clocks.sweep(now=at) == 2  # both stations' sign clocks
    r = Reminder.objects.get(task=t)
    assert r.level == 1 and r.recipient == coded.station_a1 and r.created_at == at
    assert r.deadline.kind == "intel.task.sign"
    assert "湖滨商圈安保" in r.text and "签收指令" in r.text and r.text.startswith("催办")
    pushes = [m for m in sent if m["event"] == "reminder.created" and m["data"]["id"] == r.pk]
    # The station, its county and the city (the issuer's board): each group once.
    assert sorted(m["group"] for m in pushes) == sorted(
        f"org.{o.pk}" for o in (coded.city, coded.county_a, coded.station_a1)
    )
    assert {m["event"] for m in sent} >= {"deadlines.breached", "task.overdue", "reminder.created"}
    assert not SupervisionOrder.objects.exists()
    # The escalation clock runs: red gives 30 minutes to act after a reminder.
    esc = clocks.open_for(t).get(kind="intel.task.escalate")
    assert esc.due_at == at + timedelta(minutes=30)


def test_still_nothing_after_the_reminder_raises_a_supervision_order_one_level_at_a_time(coded, red):
    t = task_of(red, coded.station_a1)
    start = red.issued_at
    clocks.sweep(now=start + 11 * MIN)
    with capture_broadcasts() as sent:
        clocks.sweep(now=start + 42 * MIN)  # the escalation clock
    order = SupervisionOrder.objects.get(task=t)
    assert (order.level.code, order.level.name) == ("1", "一般督办") and order.org == coded.station_a1
    assert order.deadline.kind == "intel.task.escalate"
    assert {m["event"] for m in sent} >= {"supervision.ordered", "reminder.created"}
    l2 = Reminder.objects.get(task=t, level=2)
    assert l2.deadline == order.deadline and l2.text.startswith("一般督办")
    # Each further breach: the next level, until the highest.
    clocks.sweep(now=start + 73 * MIN)
    clocks.sweep(now=start + 104 * MIN)
    clocks.sweep(now=start + 135 * MIN)
    ranks = list(SupervisionOrder.objects.filter(task=t).order_by("created_at").values_list("level__rank", flat=True))
    assert ranks == [1, 2, 3, 4]
    assert not clocks.open_for(t).filter(kind="intel.task.escalate").exists()  # the top: no further clock
    assert Reminder.objects.filter(task=t).count() == 5  # one reminder, then one per order


def test_acting_after_the_reminder_stops_the_escalation(coded, red):
    t = task_of(red, coded.station_a1)
    clocks.sweep(now=red.issued_at + 11 * MIN)
    services.task_sign(task_id=t.pk, actor=coded.station_a1_officer)
    assert not clocks.open_for(t).filter(kind="intel.task.escalate").exists()
    clocks.sweep(now=red.issued_at + 60 * MIN)
    assert not SupervisionOrder.objects.filter(task=t).exists()
    # The report clock breaking later is the second breach: a 督办 at once.
    clocks.sweep(now=red.issued_at + timedelta(hours=25))
    order = SupervisionOrder.objects.get(task=t)
    assert order.level.rank == 1 and order.deadline.kind == "intel.task.report"
    assert Reminder.objects.filter(task=t).count() == 2


def test_a_closed_task_is_not_chased(coded, red):
    from tests.intel.conftest import walk_to_reported

    t = task_of(red, coded.station_a1)
    walk_to_reported(coded, t)
    services.task_approve(task_id=t.pk, actor=coded.supervisor)
    clocks.sweep(now=red.issued_at + timedelta(days=3))
    assert not Reminder.objects.filter(task=t).exists()
    assert not Deadline.objects.filter(subject_id=t.pk, breached_at__isnull=False, kind__startswith="intel.").exists()


def test_the_reminders_inbox_is_scoped_and_acknowledged_by_the_recipient(coded, red):
    a1, b1 = task_of(red, coded.station_a1), task_of(red, coded.station_b1)
    clocks.sweep(now=red.issued_at + 11 * MIN)
    mine = api_as(coded.station_a1_officer).get("/api/reminders/").json()
    assert [r["task"]["id"] for r in mine["results"]] == [a1.pk]
    assert mine["results"][0]["clock"] == "intel.task.sign" and mine["results"][0]["level"] == 1
    board = api_as(coded.duty).get("/api/reminders/").json()
    assert sorted(r["task"]["id"] for r in board["results"]) == sorted([a1.pk, b1.pk])
    assert api_as(coded.duty).get("/api/reminders/", {"recipient": coded.county_b.pk}).json()["count"] == 1
    assert api_as(coded.duty).get("/api/reminders/", {"level": 2}).json()["count"] == 0
    rid = mine["results"][0]["id"]
    assert api_as(coded.station_b1_officer).get(f"/api/reminders/{rid}/").status_code == 404
    assert api_as(coded.station_b1_officer).post(f"/api/reminders/{rid}/acknowledge/", {}).status_code == 404
    assert api_as(coded.county_a_duty).post(f"/api/reminders/{rid}/acknowledge/", {}).status_code == 403
    r = api_as(coded.station_a1_officer).post(f"/api/reminders/{rid}/acknowledge/", {}, format="json")
    assert r.status_code == 200 and r.json()["acknowledged_by"]["username"] == "station1"
    assert api_as(coded.station_a1_officer).get("/api/reminders/", {"acknowledged": "false"}).json()["count"] == 0


def test_the_supervision_orders_list(coded, red):
    clocks.sweep(now=red.issued_at + 11 * MIN)
    clocks.sweep(now=red.issued_at + 42 * MIN)
    rows = api_as(coded.duty).get("/api/supervision-orders/").json()["results"]
    assert len(rows) == 2 and {r["level_name"] for r in rows} == {"一般督办"}
    mine = api_as(coded.station_b1_officer).get("/api/supervision-orders/").json()["results"]
    assert [r["org"] for r in mine] == [coded.station_b1.pk]
    assert api_as(coded.duty).get("/api/supervision-orders/", {"open": "true"}).json()["count"] == 2


def test_without_supervision_levels_a_breach_still_reminds(coded, red):
    from command_center.models import SupervisionLevel

    SupervisionLevel.objects.all().delete()
    clocks.sweep(now=red.issued_at + 11 * MIN)
    clocks.sweep(now=red.issued_at + 42 * MIN)
    assert Reminder.objects.filter(level=1).count() == 2 and not SupervisionOrder.objects.exists()
    # The escalation clocks broke cleanly: not retried as poison rows.
    assert Deadline.objects.filter(kind="intel.task.escalate", breached_at__isnull=False, attempts=0).count() == 2
