"""考评 (issue 13): a scheme as data, versioned; scores per station per month from the measures and from
supervision's record, ranked among stations, with the 红榜 / 黑榜 and the rule that made them; a station
sees its own score, its rank and why — every deduction names its cause."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from command_center import clocks
from command_center.models import Category
from dispatch import services as dispatch_services
from dispatch.models import DispatchOrder
from incidents import services as incident_services
from supervision import kpis, scores
from supervision.models import Score, ScoreScheme, SupervisionOrder
from tests.dispatch.conftest import make_incident, make_unit
from tests.factories import make_person
from tests.intel.conftest import api_as

pytestmark = pytest.mark.django_db


@pytest.fixture
def scheme(coded):
    return ScoreScheme.objects.create(
        name="月度考评",
        version=1,
        weights={"sign_30s_rate": 60, "repeat_rate": 40},
        deductions={"supervision": {"1": 5, "2": 10}, "reminder": 1},
        bonuses={"sign_30s_rate": {"at_least": 1.0, "points": 3}},
        red_top=1,
        black_bottom=1,
    )


def month_of_orders(coded):
    """A1: two orders signed in 10 s; A2: one signed in 10 s, one in 60 s; B1: one never signed, late. Every
    call from another caller at another address (no repeats)."""
    from command_center.models import Role

    made: dict[int, list[DispatchOrder]] = {}
    officers = {
        coded.station_a1.pk: coded.station_a1_officer,
        coded.station_a2.pk: make_person("station_a2_officer", coded.station_a2, Role.STATION_OFFICER),
        coded.station_b1.pk: coded.station_b1_officer,
    }
    n = 0
    for station, delays in ((coded.station_a1, [10, 10]), (coded.station_a2, [10, 60]), (coded.station_b1, [None])):
        for delay in delays:
            n += 1
            i, _ = incident_services.incident_intake(
                actor=coded.duty,
                data=incident_services.IntakeData(
                    call_id=f"SCORE-{n}", source="110", address=f"第{n}大街{n}号", org=station,
                    category=Category.objects.get(code="020500"), caller_phone=f"1380000000{n}",
                ),
            )  # fmt: skip
            o = dispatch_services.order_dispatch(
                incident_id=i.pk, actor=coded.duty, unit_id=make_unit(station, at=None).pk
            )
            if delay is not None:
                dispatch_services.order_sign(order_id=o.pk, actor=officers[station.pk])
            # Sent two minutes ago: the unsigned one is late, not still inside its 30 s.
            sent = timezone.now() - timedelta(minutes=2)
            signed = {} if delay is None else {"signed_at": sent + timedelta(seconds=delay)}
            DispatchOrder.objects.filter(pk=o.pk).update(sent_at=sent, **signed)
            o.refresh_from_db()
            made.setdefault(station.pk, []).append(o)
    return made


def test_scores_rank_the_stations_and_every_part_says_why(coded, scheme):
    made = month_of_orders(coded)
    late = made[coded.station_b1.pk][0]
    # B1's order was never signed: the sweep reminds (催办), a supervisor raises 督办 by hand.
    clocks.sweep(now=timezone.now() + timedelta(minutes=1))
    overdue = api_as(coded.supervisor).get("/api/overdue/", {"kind": "dispatch.sign"}).json()["results"]
    dl = next(d for d in overdue if d["org"] == coded.station_b1.pk)
    api_as(coded.supervisor).post(f"/api/overdue/{dl['id']}/supervise/", {"note": "立即签收"}, format="json")
    today = timezone.localdate()

    rows = {s.org_id: s for s in scores.compute_scores(period="month", anchor=today)}
    a1, a2, b1 = rows[coded.station_a1.pk], rows[coded.station_a2.pk], rows[coded.station_b1.pk]
    # A1: 60 × 100 % + 40 × (1 − 0 % repeats) + bonus 3 = 103; A2: 60 × 50 % + 40 = 70.
    assert float(a1.total) == 103.0 and float(a2.total) == 70.0
    # B1: 0 % signed; no repeats; one 督办 (level 1: −5) and one reminder (−1).
    assert float(b1.total) == 40 - 5 - 1
    assert [a1.rank, a2.rank, b1.rank] == [1, 2, 3] and a1.of == 3
    deductions = [p for p in b1.parts if p["kind"] == "deduction"]
    assert {p["key"] for p in deductions} == {"supervision", "reminder"}
    sup = next(p for p in deductions if p["key"] == "supervision")
    assert sup["points"] == -5 and sup["cause"]["id"] == SupervisionOrder.objects.get().pk
    assert sup["cause"]["title"] == late.incident.number and sup["cause"]["url"] == f"/incidents/{late.incident_id}/"
    # Running it again replaces, never doubles.
    scores.compute_scores(period="month", anchor=today)
    assert Score.objects.filter(org__level="station").count() == 3


def test_measures_with_nothing_to_count_share_their_points_out(coded, scheme):
    first, last = kpis.period_days("month", timezone.localdate())
    parts = scores.score_parts(scheme, kpis.Scope(coded.station_a1, first, last))
    assert [p["points"] for p in parts] == [0.0, 0.0]  # nothing happened: nothing earned, nothing lost
    make_incident(coded, org=coded.station_a1, position=None)  # one incident, no repeat: repeats measured
    parts = scores.score_parts(scheme, kpis.Scope(coded.station_a1, first, last))
    by = {p["key"]: p for p in parts}
    assert by["sign_30s_rate"]["value"] is None and by["repeat_rate"]["points"] == 100.0  # 40 × 100/40


def test_the_api_shows_a_station_its_own_score_and_rank_and_the_lists_rule(coded, scheme):
    month_of_orders(coded)
    sup = api_as(coded.supervisor)
    today = timezone.localdate().isoformat()
    assert (
        api_as(coded.station_a1_officer)
        .post("/api/scores/compute/", {"period": "month", "date": today}, format="json")
        .status_code
        == 403
    )
    r = sup.post("/api/scores/compute/", {"period": "month", "date": today}, format="json")
    assert r.status_code == 201 and r.json()["computed"] == 3
    body = sup.get("/api/scores/", {"period": "month", "date": today}).json()
    assert [x["org_name"] for x in body["results"]] == ["东湖派出所", "新华派出所", "西溪派出所"]
    assert [x["list"] for x in body["results"]] == ["red", "", "black"]
    assert "红榜 前 1 名" in body["rule"] and body["scheme"]["version"] == 1
    mine = api_as(coded.station_b1_officer)
    own = mine.get("/api/scores/", {"period": "month", "date": today}).json()["results"]
    assert len(own) == 1 and own[0]["rank"] in (2, 3) and own[0]["of"] == 3
    detail = mine.get(f"/api/scores/{own[0]['id']}/").json()
    assert detail["parts"] and all("points" in p for p in detail["parts"])
    other = Score.objects.exclude(pk=own[0]["id"]).first()
    assert other is not None
    assert mine.get(f"/api/scores/{other.pk}/").status_code == 404


def test_a_scheme_edited_in_the_admin_is_a_new_version_and_old_scores_keep_theirs(coded, scheme, client):
    month_of_orders(coded)
    scores.compute_scores(period="month", anchor=timezone.localdate())
    from django.contrib.auth.models import User

    admin = User.objects.create_superuser("root", "root@example.org", "pw-12345")
    client.force_login(admin)
    r = client.post(
        f"/admin/supervision/scorescheme/{scheme.pk}/change/",
        {
            "name": "月度考评", "active": "on", "weights": '{"sign_30s_rate": 100}', "deductions": "{}",
            "bonuses": "{}", "red_top": "3", "black_bottom": "1",
        },
    )  # fmt: skip
    assert r.status_code == 302, r.context["adminform"].form.errors if r.context else r.content[:400]
    versions = list(ScoreScheme.objects.order_by("version").values_list("version", "active"))
    assert versions == [(1, False), (2, True)]
    assert set(Score.objects.values_list("scheme__version", flat=True)) == {1}
    active = scores.active_scheme()
    assert active is not None and active.version == 2


def test_a_confirmed_finding_is_deducted_and_names_its_cause(coded, scheme):
    from django.contrib.contenttypes.models import ContentType

    from incidents.models import Incident
    from supervision.models import Finding

    scheme.deductions = {"finding": 2}
    scheme.save()
    i = make_incident(coded, org=coded.station_a1, position=None)
    ct = ContentType.objects.get_for_model(Incident)
    for state in ("confirmed", "dismissed", "open"):
        Finding.objects.create(
            rule="closed_without_arrival", subject_type=ct, subject_id=i.pk, bucket=state, org=coded.station_a1,
            detail="无到场记录", found_at=timezone.now(), state=state,
        )  # fmt: skip
    first, last = kpis.period_days("month", timezone.localdate())
    parts = scores.score_parts(scheme, kpis.Scope(coded.station_a1, first, last))
    (found,) = [p for p in parts if p["key"] == "finding"]  # only the confirmed one counts
    assert found["points"] == -2 and found["cause"]["title"] == i.number and found["cause"]["url"].endswith(f"/{i.pk}/")
