"""Auto-diversion rules (非警务警情自动分流): proposed at intake (a hit), confirmed through the diversion
(which names the rule), sent back by the target (a return); counted per rule in the caller's area. A
community/village receives diversions as a partner agency does, worked by its people with the partner role."""

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from command_center.models import Role
from incidents import services
from incidents.models import Diversion, DiversionProposal, DiversionRule, Incident
from tests.factories import make_person

from .conftest import api_as, call

SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def rules(coded):
    w = coded
    w.streetlight = DiversionRule.objects.create(name="路灯故障转12345", category_prefix="0902", target=w.partner)
    w.night = DiversionRule.objects.create(
        name="夜间噪音转社区",
        category_prefix="0205",
        start=time(22, 0),
        end=time(6, 0),
        place=w.station_a1,
        target=w.community_a1,
        priority=5,
    )
    w.noise = DiversionRule.objects.create(name="噪音转12345", category_prefix="0205", target=w.partner)
    return w


def at(hour):
    return datetime(2026, 12, 4, hour, 30, tzinfo=SH).isoformat()


def test_the_best_rule_is_proposed_at_intake(rules, duty_api):
    r = duty_api.post("/api/incidents/", call(category="090220", reported_at=at(10)), format="json")
    assert r.status_code == 201
    assert r.json()["proposal"] == {
        "rule": rules.streetlight.pk,
        "rule_name": "路灯故障转12345",
        "target": rules.partner.pk,
        "target_name": "12345热线",
        "target_kind": "partner",
    }
    # Noise at night in 东湖's area: the community rule (priority 5); by day the 12345 one.
    night = duty_api.post("/api/incidents/", call(category="020530", reported_at=at(23)), format="json").json()
    assert night["org"] == rules.station_a1.pk and night["proposal"]["rule"] == rules.night.pk
    assert night["proposal"]["target_kind"] == "community"
    day = duty_api.post("/api/incidents/", call(category="020530", reported_at=at(14)), format="json").json()
    assert day["proposal"]["rule"] == rules.noise.pk
    # Elsewhere (西溪's area) at night: not the community's place.
    west = call(category="020530", reported_at=at(23), lat=30.2501, lon=120.1001)
    assert duty_api.post("/api/incidents/", west, format="json").json()["proposal"]["rule"] == rules.noise.pk
    # No rule: nothing proposed, nothing stored.
    none = duty_api.post("/api/incidents/", call(category="010110"), format="json").json()
    assert none["proposal"] is None and not DiversionProposal.objects.filter(incident_id=none["id"]).exists()
    # The detail says it too (the desk reads it back), until the call is diverted or dispatched.
    assert duty_api.get(f"/api/incidents/{night['id']}/").json()["proposal"]["rule"] == rules.night.pk
    # An inactive rule proposes nothing.
    DiversionRule.objects.filter(pk=rules.streetlight.pk).update(active=False)
    from command_center import memo

    memo.forget()
    assert duty_api.post("/api/incidents/", call(category="090220"), format="json").json()["proposal"] is None


def test_confirm_return_and_the_counters(rules, duty_api):
    ids = [duty_api.post("/api/incidents/", call(category="090220"), format="json").json()["id"] for _ in range(3)]
    body = {"partner": rules.partner.pk, "rule": rules.streetlight.pk}
    assert duty_api.post(f"/api/incidents/{ids[0]}/divert/", body, format="json").status_code == 200
    assert duty_api.post(f"/api/incidents/{ids[1]}/divert/", body, format="json").status_code == 200
    # The rule's target, not another org, with the rule.
    wrong = {"partner": rules.community_a1.pk, "rule": rules.streetlight.pk}
    r = duty_api.post(f"/api/incidents/{ids[2]}/divert/", wrong, format="json")
    assert r.status_code == 400 and "rule" in r.json()
    assert duty_api.get(f"/api/incidents/{ids[0]}/").json()["proposal"] is None  # diverted: nothing to confirm

    d = Diversion.objects.get(incident_id=ids[1])
    assert d.rule_id == rules.streetlight.pk
    partner = api_as(rules.partner_agent)
    assert (
        partner.post(f"/api/diversions/{d.pk}/return/", {"reason": "不是路灯，是电力"}, format="json").status_code
        == 200
    )

    stats = {r["id"]: r for r in duty_api.get("/api/diversion-rules/").json()}
    assert (stats[rules.streetlight.pk]["hits"], stats[rules.streetlight.pk]["confirmed"]) == (3, 2)
    assert stats[rules.streetlight.pk]["returned"] == 1
    assert stats[rules.night.pk]["window"] == "22:00–06:00" and stats[rules.night.pk]["place_name"] == "东湖派出所"
    assert (stats[rules.noise.pk]["hits"], stats[rules.noise.pk]["confirmed"]) == (0, 0)
    # Counted over the reader's area: 西溪's officer sees the rules, none of 东湖's hits.
    west = {r["id"]: r for r in api_as(rules.station_b1_officer).get("/api/diversion-rules/").json()}
    assert west[rules.streetlight.pk]["hits"] == 0 and west[rules.streetlight.pk]["confirmed"] == 0


def test_a_community_receives_and_works_a_diversion(rules, duty_api):
    grid = make_person("grid", rules.community_a1, Role.PARTNER)  # 社区网格员
    i = duty_api.post("/api/incidents/", call(category="020530", reported_at=at(23)), format="json").json()
    r = duty_api.post(
        f"/api/incidents/{i['id']}/divert/", {"partner": rules.community_a1.pk, "rule": rules.night.pk}, format="json"
    )
    assert r.status_code == 200 and r.json()["state"] == "diverted"
    d = Diversion.objects.get(incident_id=i["id"])
    assert d.partner_id == rules.community_a1.pk
    community = api_as(grid)
    inbox = community.get("/api/diversions/inbox/").json()
    assert inbox["acts"] is True and [x["id"] for x in inbox["diversions"]] == [d.pk]
    # It reads the incident as a partner does: what the diversion needs, no caller, no police handling.
    seen = community.get(f"/api/incidents/{i['id']}/").json()
    assert seen["diversion"]["id"] == d.pk and "timeline" not in seen and "caller_phone" not in seen
    assert community.post(f"/api/diversions/{d.pk}/accept/").status_code == 200
    assert (
        community.post(f"/api/diversions/{d.pk}/complete/", {"result": "已上门劝导"}, format="json").status_code == 200
    )
    assert Incident.objects.get(pk=i["id"]).state == "closed"
    # The station's officer over the community may not act for it (not its partner role).
    d2 = services.incident_divert(
        incident_id=duty_api.post("/api/incidents/", call(category="020530"), format="json").json()["id"],
        actor=rules.duty,
        partner=rules.community_a1,
    )
    assert api_as(rules.station_a1_officer).post(f"/api/diversions/{d2.pk}/accept/").status_code == 403
    # A community outside the desk's area is not the desk's to divert to (西城's desk, 东城's community).
    west_duty = make_person("west_duty", rules.county_b, Role.DUTY_OFFICER)
    mine = api_as(west_duty).post("/api/incidents/", call(category="020530", lat=30.2501, lon=120.1001), format="json")
    r = api_as(west_duty).post(
        f"/api/incidents/{mine.json()['id']}/divert/", {"partner": rules.community_a1.pk}, format="json"
    )
    assert r.status_code == 400 and "partner" in r.json()
    # A police org that is neither partner nor community is refused.
    r = duty_api.post(f"/api/incidents/{i['id'] + 1}/divert/", {"partner": rules.station_a1.pk}, format="json")
    assert r.status_code == 400 and "partner" in r.json()


def test_the_rules_page_and_the_incident_page_show_the_rule(rules, duty_api, client):
    i = duty_api.post("/api/incidents/", call(category="090220"), format="json").json()
    client.force_login(rules.duty)
    page = client.get(f"/incidents/{i['id']}/").content.decode()
    # The incident page offers the proposal as its own one-click form, naming the rule and its target.
    assert (
        "divert-proposal" in page
        and "路灯故障转12345" in page
        and f'name="rule" value="{rules.streetlight.pk}"' in page
    )
    assert "东湖第一社区" in page  # a community of the desk's area among the divert targets
    duty_api.post(f"/api/incidents/{i['id']}/divert/", {"partner": rules.partner.pk, "rule": rules.streetlight.pk})
    page = client.get("/incidents/diversion-rules/").content.decode()
    assert "路灯故障转12345" in page and '<td class="n hits">1</td><td class="n confirmed">1</td>' in page
    assert "22:00–06:00" in page
    client.force_login(rules.station_a1_officer)
    assert client.get("/incidents/diversion-rules/").status_code == 403


def test_a_volunteer_of_a_community_reads_none_of_its_diversions(rules, duty_api, client):
    """The community's grid worker works its diversions; its volunteer (平安义警, the same org, no other role)
    reads no incident, no diversion, and no incident list (orgs.outside_police)."""
    i = duty_api.post("/api/incidents/", call(category="020530", reported_at=at(23)), format="json").json()
    d = services.incident_divert(incident_id=i["id"], actor=rules.duty, partner=rules.community_a1)
    volunteer = api_as(rules.volunteer)
    assert volunteer.get(f"/api/incidents/{i['id']}/").status_code == 404
    listed = volunteer.get("/api/incidents/")
    assert listed.status_code in (200, 403) and (listed.status_code == 403 or listed.json()["results"] == [])
    inbox = volunteer.get("/api/diversions/inbox/")
    assert inbox.status_code == 403 or d.pk not in [x["id"] for x in inbox.json()["diversions"]]
    assert volunteer.post(f"/api/diversions/{d.pk}/accept/").status_code in (403, 404)
    client.force_login(rules.volunteer)
    assert client.get("/incidents/").status_code == 403
    assert client.get(f"/incidents/{i['id']}/").status_code == 404
