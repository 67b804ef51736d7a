"""Callers' numbers: partners (12345) and volunteers read them masked (138****5678) in every list, detail,
page and export that carries one, and cannot unmask them through repeat hints; boards, inboxes and pushes
carry no number for anybody (a push is shared by a whole group; see incidents.services.incident_payload).
Police roles read them in full."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from django.test import Client
from openpyxl import load_workbook

from command_center.models import Category
from incidents import services as incident_services
from tests.conftest import capture_broadcasts
from tests.two_stations import A_PHONES, B_PHONE, TwoStations, _intake, api_as, as_text, build_two_stations

VOLUNTEER_PHONE = "13755556666"
SECOND_DIVERTED = "13911110003"  # the same caller as A's diverted incident, another matter far away


def masked(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:]


def full_numbers(text: str) -> set[str]:
    """Every 11-digit mobile number written out in full in `text`."""
    return set(re.findall(r"(?<!\d)1[3-9]\d{9}(?!\d)", text))


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def two(db) -> TwoStations:
    with capture_broadcasts():
        s = build_two_stations()
        w = s.world
        # A second call from the diverted incident's caller, about another matter far away, diverted too.
        other = _intake(w, s.a, SECOND_DIVERTED, "远郊村口", (30.40, 120.40), 9, category="090000")
        incident_services.incident_divert(incident_id=other.pk, actor=w.duty, partner=w.partner)
        # A hazard reported in the volunteer's community (their area).
        data = incident_services.IntakeData(
            call_id="V-1",
            source="volunteer",
            address="东湖第一社区3幢",
            category=Category.objects.get(code="020500"),
            caller_phone=VOLUNTEER_PHONE,
            org=w.community_a1,
        )
        incident_services.incident_intake(actor=w.duty, data=data)
    return s


def reader(s: TwoStations, who: str) -> Any:
    return {"partner": s.world.partner_agent, "volunteer": s.world.volunteer}[who]


def their_phones(who: str) -> list[str]:
    return [A_PHONES[2], SECOND_DIVERTED] if who == "partner" else [VOLUNTEER_PHONE]


def sheet_text(content: bytes) -> str:
    wb = load_workbook(io.BytesIO(content), read_only=True)
    return "\n".join(str(c) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for c in row if c)


@pytest.mark.parametrize("who", ["partner"])  # a volunteer reads none: test_a_volunteer_reads_no_incident_at_all
def test_masked_roles_read_numbers_masked_in_lists_details_pages_and_exports(two, who):
    s = two
    user = reader(s, who)
    api = api_as(user)
    page = Client()
    page.force_login(user)
    rows = api.get("/api/incidents/").json()["results"]
    assert rows, f"the {who} sees the incidents of their area"
    if who == "partner":  # a partner reads what its diversion needs: no caller at all (test_who_reads.py)
        assert all("caller_phone" not in r for r in rows)
    else:
        assert {r["caller_phone"] for r in rows} == {masked(p) for p in their_phones(who)}
    for r in rows:
        detail = api.get(f"/api/incidents/{r['id']}/")
        assert detail.json().get("caller_phone") == r.get("caller_phone")
        assert full_numbers(as_text(detail.json())) == set()
        html = page.get(f"/incidents/{r['id']}/").content.decode()
        assert (who == "partner" or r["caller_phone"] in html) and full_numbers(html) == set()
    csv_text = api.get("/api/incidents/export/", {"file": "csv"}).content.decode("utf-8-sig")
    header, *table = csv.reader(io.StringIO(csv_text))
    xlsx = sheet_text(api.get("/api/incidents/export/", {"file": "xlsx"}).content)
    assert full_numbers(xlsx) == set() and full_numbers(csv_text) == set()
    if who == "partner":  # no caller column at all
        assert "电话" not in header and len(table) == len(rows)
    else:
        numbers = [row[header.index("电话")] for row in table]
        assert sorted(numbers) == sorted(masked(p) for p in their_phones(who))
        assert all(masked(p) in xlsx for p in their_phones(who))
    listing = page.get("/incidents/").content.decode()
    assert full_numbers(listing) == set()


def test_a_volunteer_reads_no_incident_at_all(two):
    """A volunteer (平安义警) reads no police data beyond their own reports (issue 15, orgs.outside_police):
    not the incident of their community's area, not its number masked, not in an export."""
    s = two
    api = api_as(s.world.volunteer)
    assert api.get("/api/incidents/").json()["results"] == []
    csv_text = api.get("/api/incidents/export/", {"file": "csv"}).content.decode("utf-8-sig")
    assert VOLUNTEER_PHONE not in csv_text and masked(VOLUNTEER_PHONE) not in csv_text
    page = Client()
    page.force_login(s.world.volunteer)
    assert page.get("/incidents/").status_code == 403


def test_police_read_numbers_in_full(two):
    s = two
    duty = api_as(s.world.duty)
    rows = duty.get("/api/incidents/", {"page_size": 500}).json()["results"]
    assert {A_PHONES[0], B_PHONE, VOLUNTEER_PHONE} <= {r["caller_phone"] for r in rows}
    assert A_PHONES[0] in duty.get("/api/incidents/export/", {"file": "csv"}).content.decode("utf-8-sig")
    station = api_as(s.world.station_a1_officer)
    assert station.get(f"/api/incidents/{s.incident.pk}/").json()["caller_phone"] == A_PHONES[0]


def test_the_partner_s_inbox_carries_no_number_at_all(two):
    s = two
    partner = api_as(s.world.partner_agent)
    inbox = partner.get("/api/diversions/").json()
    assert len(inbox["results"]) == 2
    for d in inbox["results"]:
        assert partner.get(f"/api/diversions/{d['id']}/").status_code == 200
    page = Client()
    page.force_login(s.world.partner_agent)
    html = page.get("/partner/").content.decode()
    text = as_text(inbox) + html
    assert "****" not in as_text(inbox) and full_numbers(text) == set()
    # Acting on a diversion answers with the diversion, still without a number.
    accepted = partner.post(f"/api/diversions/{s.diversion.pk}/accept/", {}, format="json")
    assert accepted.status_code == 200 and full_numbers(as_text(accepted.json())) == set()


@pytest.mark.parametrize("who", ["partner", "volunteer"])
def test_repeat_hints_never_match_a_number_for_a_masked_reader(two, who):
    """A match on a typed number would unmask it: 10,000 guesses of the hidden digits, one of them hits."""
    s = two
    api = api_as(reader(s, who))
    for phone in their_phones(who):
        assert api.get("/api/incidents/hints/", {"phone": phone}).json() == []
    # Nor does a detail's own hint list tell them which incidents share a caller.
    for r in api.get("/api/incidents/").json()["results"]:
        hints = api.get(f"/api/incidents/{r['id']}/").json().get("hints", [])  # a partner gets none
        assert [h for h in hints if h["kind"] == "same_caller"] == []
    # A call-taker's hints do match the number.
    duty = api_as(s.world.duty)
    hits = duty.get("/api/incidents/hints/", {"phone": SECOND_DIVERTED}).json()
    assert {h["kind"] for h in hits} == {"same_caller"} and len(hits) == 2


def test_no_push_and_no_screen_state_carries_a_number(db, settings, tmp_path):
    """Every push of both stations' business (to every group: stations, county, city, the partner's), and
    the boards', inboxes' and big screen's state for every screen role: no number, full or masked."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    with capture_broadcasts() as pushed:
        s = build_two_stations()
    assert {m["group"] for m in pushed} >= {f"org.{s.world.partner.pk}", f"org.{s.a.pk}", f"org.{s.b.pk}"}
    phones = [*A_PHONES, B_PHONE]
    for m in pushed:
        text = as_text(m["data"])
        assert full_numbers(text) == set() and not any(masked(p) in text for p in phones), m
    for user in (s.world.duty, s.world.commander, s.world.county_a_duty, s.world.station_a1_officer, s.b_chief):
        api = api_as(user)
        for path in ("/api/board/", "/api/board/inbox/", "/api/board/stats/"):
            r = api.get(path)
            if r.status_code == 403:
                continue
            text = as_text(r.json())
            assert full_numbers(text) == set() and "****" not in text, (user, path)
