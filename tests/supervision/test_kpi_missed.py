"""The drill-down to what went wrong: for each rate, the rows that count against it (kpis.MISSED) are the
denominator's rows outside the numerator (higher is better) or the numerator's rows (lower is better);
through the API, `missed=1` lists them with the broken clocks a supervisor may 催办 or 督办 from there."""

from __future__ import annotations

from datetime import date, timedelta

from django.utils import timezone

from command_center import clocks
from dispatch import services
from dispatch.models import DispatchOrder
from supervision import kpis
from tests.dispatch.conftest import api_as, dispatch, make_incident, make_unit
from tests.supervision.test_kpis import month  # noqa: F401  # the generated month, a fixture


def test_the_rows_against_each_rate_complete_its_numerator(coded, month):  # noqa: F811
    first, last = kpis.period_days("month", date(2026, 11, 15))
    scope = kpis.Scope(coded.city, first, last)
    checked = 0
    for k in kpis.KPIS:
        against = kpis.missed(k, scope)
        if k.unit != "rate":
            assert against is None, k.key
            continue
        assert against is not None, k.key
        v = k.compute(scope)
        n = against.count()
        if k.better == "lower":
            assert n == v.numerator, k.key
        elif k.key == "satisfaction_rate":
            assert n == v.denominator - v.numerator, k.key  # one callback per incident
        else:
            assert n == v.denominator - v.numerator, (k.key, n, v)
        checked += 1
    assert checked >= 12


def test_the_late_orders_behind_the_signature_rate_carry_their_broken_clocks(coded):
    car = make_unit(coded.station_a1, ring_minutes=3)
    on_time = dispatch(coded, make_incident(coded), unit=car)
    services.order_sign(order_id=on_time.pk, actor=coded.station_a1_officer)
    late = dispatch(coded, make_incident(coded), org=coded.station_a1)
    DispatchOrder.objects.filter(pk=late.pk).update(sent_at=timezone.now() - timedelta(seconds=45))
    clocks.sweep(now=timezone.now() + timedelta(seconds=61))  # the unsigned order's sign clock breaks
    today = timezone.localdate().isoformat()
    sup = api_as(coded.supervisor)
    body = sup.get(f"/api/kpis/sign_30s_rate/rows/?period=day&date={today}&missed=1").json()
    rows = body["results"] if isinstance(body, dict) else body
    assert [r["id"] for r in rows] == [late.pk]
    [clock] = rows[0]["overdue"]
    assert clock["reminded"] is True and clock["supervised"] is False and clock["label"]  # the sweep reminded
    r = sup.post(f"/api/overdue/{clock['id']}/supervise/", {"note": "30秒签收率偏低，立即签收"}, format="json")
    assert r.status_code == 201, r.content
    again = sup.get(f"/api/kpis/sign_30s_rate/rows/?period=day&date={today}&missed=1").json()
    rows = again["results"] if isinstance(again, dict) else again
    assert rows[0]["overdue"][0]["supervised"] is True
    every = sup.get(f"/api/kpis/sign_30s_rate/rows/?period=day&date={today}").json()
    assert {r["id"] for r in (every["results"] if isinstance(every, dict) else every)} == {on_time.pk, late.pk}


# --- The repeat ledger's and the partners' measures, with their breakdowns ---------------------------------


def test_the_ledger_measures_count_clusters_by_status_and_break_down_by_kind_and_theme(coded):
    from command_center.models import Category
    from incidents.models import RepeatCluster

    today = timezone.localdate()
    made = []
    for n, (kind, theme, status) in enumerate(
        [
            ("recurring", "noise", "open"),
            ("recurring", "noise", "governed"),
            ("recurring", "gambling", "struck_off"),
            ("after_handling", "noise", "struck_off"),
        ]
    ):
        made.append(
            RepeatCluster.objects.create(
                kind=kind,
                theme=theme,
                status=status,
                org=coded.station_a1 if n % 2 else coded.station_b1,
                category=Category.objects.get(code="020500"),
                address=f"东湖路{n}号",
                first_at=timezone.now(),
                last_at=timezone.now(),
                count=3,
            )
        )
    scope = kpis.Scope(coded.city, today, today)
    assert kpis.BY_KEY["clusters_governed_rate"].compute(scope).value == 3 / 4
    assert kpis.BY_KEY["clusters_struck_off_rate"].compute(scope).value == 2 / 4
    assert kpis.BY_KEY["clusters_governed_rate"].compute(kpis.Scope(coded.station_a1, today, today)).value == 1.0
    sup = api_as(coded.supervisor)
    kinds = sup.get(f"/api/kpis/clusters_struck_off_rate/breakdown/?period=day&date={today}&by=kind").json()
    assert [(r["key"], r["numerator"], r["denominator"]) for r in kinds] == [
        ("recurring", 1, 3),
        ("after_handling", 1, 1),
    ]
    assert kinds[0]["name"] == "反复多发"
    themes = sup.get(f"/api/kpis/clusters_governed_rate/breakdown/?period=day&date={today}&by=theme").json()
    assert {r["key"]: (r["numerator"], r["denominator"]) for r in themes} == {"noise": (2, 3), "gambling": (1, 1)}
    r = sup.get(f"/api/kpis/sign_30s_rate/breakdown/?period=day&date={today}&by=kind")
    assert r.status_code == 400 and "by" in r.json()
    rows = sup.get(f"/api/kpis/clusters_governed_rate/rows/?period=day&date={today}&missed=1").json()
    assert [x["id"] for x in (rows["results"] if isinstance(rows, dict) else rows)] == [made[0].pk]


def test_diversions_finished_on_time_by_partner(coded):
    from command_center.models import Role
    from incidents import services as incident_services
    from incidents.models import Diversion
    from tests.factories import make_org, make_person

    other = make_org(coded.city, name="供电热线", level="city", kind="partner")
    today = timezone.localdate()
    done, late, returned, running, elsewhere = (
        incident_services.incident_divert(incident_id=make_incident(coded).pk, actor=coded.duty, partner=p)
        for p in (coded.partner, coded.partner, coded.partner, coded.partner, other)
    )
    other_agent = make_person("other_agent", other, Role.PARTNER)
    for d in (done, late, elsewhere):
        agent = coded.partner_agent if d.partner == coded.partner else other_agent
        incident_services.diversion_accept(diversion_id=d.pk, actor=agent)
    incident_services.diversion_complete(diversion_id=done.pk, actor=coded.partner_agent, result="已处理")
    incident_services.diversion_return(diversion_id=returned.pk, actor=coded.partner_agent, reason="非本单位职责")
    # `late`'s finish clock is past due and unmet; `running`'s still runs (undecided); `returned`'s called off.
    from command_center.models import Deadline

    Deadline.objects.filter(kind="incidents.diversion.finish", subject_id=late.pk).update(
        due_at=timezone.now() - timedelta(minutes=1)
    )
    k = kpis.BY_KEY["diversion_finished_on_time_rate"]
    v = k.compute(kpis.Scope(coded.city, today, today))
    assert (v.numerator, v.denominator) == (1, 2)
    assert Diversion.objects.get(pk=running.pk).finished_at is None
    sup = api_as(coded.supervisor)
    rows = sup.get(f"/api/kpis/diversion_accepted_rate/breakdown/?period=day&date={today}&by=partner").json()
    assert {r["name"]: (r["numerator"], r["denominator"]) for r in rows} == {"12345热线": (2, 4), "供电热线": (1, 1)}
    missed = sup.get(f"/api/kpis/diversion_finished_on_time_rate/rows/?period=day&date={today}&missed=1").json()
    assert [x["id"] for x in (missed["results"] if isinstance(missed, dict) else missed)] == [late.pk]


def test_the_ledger_ranking_groups_by_child_as_each_childs_own_figure(coded):
    from command_center.models import Category
    from incidents.models import RepeatCluster

    today = timezone.localdate()
    for n, (org, status) in enumerate(
        [(coded.station_a1, "open"), (coded.station_a1, "governed"), (coded.station_b1, "struck_off")]
    ):
        RepeatCluster.objects.create(
            kind="recurring", theme="noise", status=status, org=org, category=Category.objects.get(code="020500"),
            address=f"西湖路{n}号", first_at=timezone.now(), last_at=timezone.now(), count=2,
        )  # fmt: skip
    scope = kpis.Scope(coded.city, today, today)
    _, children = kpis.rankings(scope)
    for key in ("clusters_governed_rate", "clusters_struck_off_rate"):
        k = kpis.BY_KEY[key]
        ranked = dict(kpis.ranking(k, scope))
        for org, figures in children.items():
            own = k.compute(kpis.Scope(org, today, today))
            assert (figures[key].numerator, figures[key].denominator) == (own.numerator, own.denominator), key
            assert (ranked[org].numerator, ranked[org].denominator) == (own.numerator, own.denominator), key
    assert any(f["clusters_governed_rate"].denominator for f in children.values())
