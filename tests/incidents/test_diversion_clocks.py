"""A diversion's two clocks (受理时限, 办结时限): started at the push by the partner's terms, met, cancelled and
breached as the diversion moves, and carried by its API rows and pushes so screens count them down."""

from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone

from command_center import clocks, realtime
from command_center.models import Deadline
from incidents import services
from incidents.models import DEFAULT_DIVERSION_TERMS, Diversion, DiversionTerms, Incident

from ..conftest import capture_broadcasts
from .conftest import api_as, call

ACCEPT, FINISH = services.CLOCK_DIVERSION_ACCEPT, services.CLOCK_DIVERSION_FINISH


@pytest.fixture
def incident(duty_api):
    return Incident.objects.get(pk=duty_api.post("/api/incidents/", call(), format="json").json()["id"])


def divert(coded, incident, **kw):
    return services.incident_divert(incident_id=incident.pk, actor=coded.duty, partner=coded.partner, **kw)


def clock(d, kind):
    ct = ContentType.objects.get_for_model(Diversion)
    return Deadline.objects.get(subject_type=ct, subject_id=d.pk, kind=kind)


def test_a_push_starts_both_clocks_by_the_default_terms(coded, incident):
    d = divert(coded, incident)
    accept, finish = clock(d, ACCEPT), clock(d, FINISH)
    assert accept.due_at == d.pushed_at + timedelta(minutes=DEFAULT_DIVERSION_TERMS["accept_min"])
    assert finish.due_at == d.pushed_at + timedelta(hours=DEFAULT_DIVERSION_TERMS["finish_h"])
    assert accept.org_id == finish.org_id == coded.partner.pk  # the partner answers for both
    assert {c.kind for c in clocks.open_for(d)} == {ACCEPT, FINISH}
    assert str(clocks.kind(ACCEPT).label) == "受理时限" and str(clocks.kind(FINISH).label) == "办结时限"


def test_a_partner_s_own_terms_set_its_clocks(coded, incident, duty_api):
    DiversionTerms.objects.create(partner=coded.partner, accept_min=10, finish_h=4)
    d = divert(coded, incident)
    assert clock(d, ACCEPT).due_at == d.pushed_at + timedelta(minutes=10)
    assert clock(d, FINISH).due_at == d.pushed_at + timedelta(hours=4)
    # Another partner, without a row, keeps the defaults.
    assert services.diversion_terms(coded.city) == (30, 24)


def test_accept_meets_the_accept_clock_and_complete_the_finish_clock(coded, incident):
    d = divert(coded, incident)
    services.diversion_accept(diversion_id=d.pk, actor=coded.partner_agent)
    assert clock(d, ACCEPT).met_at is not None and clock(d, FINISH).met_at is None
    assert [c.kind for c in clocks.open_for(d)] == [FINISH]
    services.diversion_complete(diversion_id=d.pk, actor=coded.partner_agent, result="已联系物业")
    finish = clock(d, FINISH)
    assert finish.met_at is not None and finish.cancelled_at is None and finish.breached_at is None
    assert not clocks.open_for(d).exists()


def test_a_return_answers_the_push_and_ends_the_finish_clock(coded, incident):
    d = divert(coded, incident)
    services.diversion_return(diversion_id=d.pk, actor=coded.partner_agent, reason="不属于本单位职责")
    accept, finish = clock(d, ACCEPT), clock(d, FINISH)
    assert accept.met_at is not None and accept.cancelled_at is None
    assert finish.cancelled_at is not None and finish.met_at is None
    assert not clocks.unmet().filter(subject_id=d.pk, kind__startswith="incidents.diversion.").exists()
    # The incident waits for the desk again: its dispatch clock runs from the return.
    assert clocks.open_for(Incident.objects.get(pk=incident.pk)).filter(kind="incidents.dispatch").exists()


def test_a_return_after_accepting_leaves_the_met_accept_clock_as_it_was(coded, incident):
    d = divert(coded, incident)
    services.diversion_accept(diversion_id=d.pk, actor=coded.partner_agent)
    accepted_at = clock(d, ACCEPT).met_at
    services.diversion_return(diversion_id=d.pk, actor=coded.partner_agent, reason="需公安处置")
    assert clock(d, ACCEPT).met_at == accepted_at
    assert clock(d, FINISH).cancelled_at is not None


def test_a_broken_finish_clock_leaves_the_open_lists_on_a_return(coded, incident):
    d = divert(coded, incident)
    services.diversion_accept(diversion_id=d.pk, actor=coded.partner_agent)
    clocks.sweep(now=d.pushed_at + timedelta(hours=25))
    assert clock(d, FINISH).breached_at is not None
    assert clocks.overdue(Diversion, [d.pk]) == {d.pk: [FINISH]}
    services.diversion_return(diversion_id=d.pk, actor=coded.partner_agent, reason="超出职责")
    finish = clock(d, FINISH)
    assert finish.cancelled_at is not None and finish.breached_at is not None  # the breach stays recorded
    assert clocks.overdue(Diversion, [d.pk]) == {}


def test_void_cancels_both_clocks_also_a_broken_one(coded, incident):
    d = divert(coded, incident)
    clocks.sweep(now=d.pushed_at + timedelta(minutes=31))
    assert clock(d, ACCEPT).breached_at is not None
    with transaction.atomic():
        services.diversion_clock_step(d, "void")
    accept, finish = clock(d, ACCEPT), clock(d, FINISH)
    assert accept.cancelled_at is not None and accept.met_at is None
    assert finish.cancelled_at is not None and finish.breached_at is None
    assert not clocks.unmet().filter(subject_id=d.pk, kind__in=[ACCEPT, FINISH]).exists()


def test_every_step_of_the_diversion_table_says_what_it_does_to_the_clocks():
    from incidents.transitions import DIVERSION

    events = {e for moves in DIVERSION.values() for e in moves}
    assert events == set(services.DIVERSION_CLOCK_STEPS)


def test_the_real_sweep_breaches_a_late_accept_and_tells_the_partner_and_the_desk(coded, incident):
    d = divert(coded, incident)
    ct = ContentType.objects.get_for_model(Diversion)
    Deadline.objects.filter(subject_type=ct, subject_id=d.pk, kind=ACCEPT).update(
        due_at=timezone.now() - timedelta(seconds=1)
    )
    with capture_broadcasts() as sent:
        assert clocks.sweep() == 1
    accept = clock(d, ACCEPT)
    assert accept.breached_at is not None and accept.pushed_at is not None
    assert clock(d, FINISH).breached_at is None
    breached = [m for m in sent if m["event"] == "deadlines.breached"]
    groups = sorted(m["group"] for m in breached)
    i = Incident.objects.select_related("org").get(pk=incident.pk)
    lineage = {realtime.org_group(o.pk) for o in i.org.lineage()} | {
        realtime.org_group(o.pk) for o in coded.partner.lineage()
    }
    # The partner's group, the command center over it, and the incident's area (its station and county):
    # each group once, the city too though it is in both lineages.
    assert groups == sorted(lineage) and len(groups) == len(set(groups))
    assert realtime.org_group(coded.county_a.pk) in groups or i.org_id == coded.city.pk
    for m in breached:
        (dl,) = m["data"]["deadlines"]
        assert dl["kind"] == ACCEPT and dl["subject"] == {"type": "incidents.diversion", "id": d.pk}
        assert dl["label"] == "受理时限" and dl["breached_at"]
    # A late acceptance still meets it, late.
    services.diversion_accept(diversion_id=d.pk, actor=coded.partner_agent)
    accept = clock(d, ACCEPT)
    assert accept.met_at is not None and accept.breached_at is not None


def test_a_late_partner_shows_on_the_incident_s_desk_board_after_a_reload(coded, incident):
    """The partner answers for the clock (it sits under the city), but the county desk whose incident it is
    lists the breach on its board's strip, named by the incident and the partner — not only live."""
    d = divert(coded, incident)
    ct = ContentType.objects.get_for_model(Diversion)
    Deadline.objects.filter(subject_type=ct, subject_id=d.pk, kind=ACCEPT).update(
        due_at=timezone.now() - timedelta(seconds=1)
    )
    with capture_broadcasts():
        clocks.sweep()
    i = Incident.objects.get(pk=incident.pk)
    desk = coded.county_a_duty if i.org.path.startswith(coded.county_a.path) else coded.duty
    alerts = api_as(desk).get("/api/board/").json()["alerts"]
    (late,) = [a for a in alerts if a["kind"] == "breach" and a["clock"] == ACCEPT]
    assert late["incident"] == {"id": i.pk, "number": i.number} and late["text"] == coded.partner.name
    # Another county's desk hears nothing of it.
    other = api_as(coded.station_b1_officer).get("/api/board/")
    assert other.status_code != 200 or not [a for a in other.json()["alerts"] if a["clock"] == ACCEPT]


# --- What the API and the pushes say ----------------------------------------------------------------------


def test_the_api_rows_and_the_inbox_carry_the_clocks(coded, incident):
    d = divert(coded, incident)
    clocks.sweep(now=d.pushed_at + timedelta(minutes=31))
    partner = api_as(coded.partner_agent)
    (row,) = partner.get("/api/diversions/").json()["results"]
    by_kind = {c["kind"]: c for c in row["clocks"]}
    assert set(by_kind) == {ACCEPT, FINISH}
    assert by_kind[ACCEPT]["breached_at"] and by_kind[ACCEPT]["label"] == "受理时限"
    assert by_kind[FINISH]["breached_at"] is None and by_kind[FINISH]["met_at"] is None
    assert by_kind[FINISH]["due_at"] == partner.get(f"/api/diversions/{d.pk}/").json()["clocks"][1]["due_at"]
    assert row["allowed"] == ["accept", "return", "void"] and row["partner_name"] == coded.partner.name

    inbox = partner.get("/api/diversions/inbox/").json()
    assert inbox["acts"] is True and isinstance(inbox["seq"], int) and inbox["at"]
    assert [r["id"] for r in inbox["diversions"]] == [d.pk]
    assert inbox["diversions"][0]["clocks"] == row["clocks"]
    assert api_as(coded.duty).get("/api/diversions/inbox/").json()["acts"] is False

    r = partner.post(f"/api/diversions/{d.pk}/accept/").json()
    by_kind = {c["kind"]: c for c in r["clocks"]}
    assert by_kind[ACCEPT]["met_at"] and by_kind[ACCEPT]["breached_at"]  # accepted, late
    assert by_kind[FINISH]["met_at"] is None


def test_the_inbox_keeps_what_ended_today_and_drops_what_ended_before(coded, incident, duty_api):
    d = divert(coded, incident)
    services.diversion_return(diversion_id=d.pk, actor=coded.partner_agent, reason="不归我管")
    partner = api_as(coded.partner_agent)
    assert [r["state"] for r in partner.get("/api/diversions/inbox/").json()["diversions"]] == ["returned"]
    Diversion.objects.filter(pk=d.pk).update(finished_at=timezone.now() - timedelta(days=2))
    assert partner.get("/api/diversions/inbox/").json()["diversions"] == []


def test_the_pushes_of_a_diversion_carry_its_clocks(coded, incident):
    with capture_broadcasts() as sent:
        d = divert(coded, incident)
    (pushed,) = [
        m for m in sent if m["event"] == "diversion.pushed" and m["group"] == realtime.org_group(coded.partner.pk)
    ]
    assert {c["kind"] for c in pushed["data"]["clocks"]} == {ACCEPT, FINISH}
    assert all(c["due_at"] and c["breached_at"] is None for c in pushed["data"]["clocks"])
    assert "narrative" not in pushed["data"] and "caller_phone" not in pushed["data"]
    with capture_broadcasts() as sent:
        services.diversion_accept(diversion_id=d.pk, actor=coded.partner_agent)
    updated = [m for m in sent if m["event"] == "diversion.updated"]
    groups = [m["group"] for m in updated]
    assert len(groups) == len(set(groups))  # the city, in both lineages, hears it once
    assert realtime.org_group(coded.partner.pk) in groups
    (accept,) = [c for c in updated[0]["data"]["clocks"] if c["kind"] == ACCEPT]
    assert accept["met_at"] is not None


# --- The terms are data: edited in the admin ---------------------------------------------------------------


def test_a_partner_s_terms_are_set_in_the_admin_and_time_the_next_push(coded, incident, client):
    from django.contrib.auth.models import User

    client.force_login(User.objects.create_superuser("root", password="pw-12345"))
    assert client.get("/admin/incidents/diversionterms/").status_code == 200
    add = client.get("/admin/incidents/diversionterms/add/").content.decode()
    # Only partner agencies are offered.
    assert coded.partner.name in add and coded.station_a1.name not in add
    r = client.post(
        "/admin/incidents/diversionterms/add/", {"partner": coded.partner.pk, "accept_min": 5, "finish_h": 2}
    )
    assert r.status_code == 302, r.content.decode()[:2000]
    assert (
        client.post(
            "/admin/incidents/diversionterms/add/", {"partner": coded.partner.pk, "accept_min": 0, "finish_h": 2}
        ).status_code
        == 200
    )  # refused: at least a minute (and one row per partner)
    d = divert(coded, incident)
    assert clock(d, ACCEPT).due_at == d.pushed_at + timedelta(minutes=5)
    assert clock(d, FINISH).due_at == d.pushed_at + timedelta(hours=2)
    assert "12345热线: 5 min / 2 h" in client.get("/admin/incidents/diversionterms/").content.decode()
