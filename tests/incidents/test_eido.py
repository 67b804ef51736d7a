"""NENA EIDO: an incident out as a document that validates, and in at another center — created once per
tracking id, updated by a later document, refused field by field — and the round trip export → import →
export gives the same document but for what must differ (docs/eido.md)."""

from __future__ import annotations

import copy

import jsonschema
import pytest
from django.contrib.auth.models import User
from django.test import Client, override_settings
from rest_framework.test import APIClient

from command_center import tokens
from command_center.models import Role
from incidents import eido
from incidents.models import Correction, Incident
from tests.factories import make_person

from .conftest import api_as, call

A_DOMAIN, B_DOMAIN = "a.example.cn", "b.example.cn"


def _valid(doc):
    jsonschema.Draft202012Validator(eido.schema()).validate(doc)


@pytest.fixture
def centers(coded):
    """Two centers: county A's desk (where the call is taken) and county B's, which receives it."""
    a = api_as(coded.county_a_duty)
    b_duty = make_person("county_b_duty", coded.county_b, Role.CALL_TAKER, Role.DUTY_OFFICER)
    r = a.post("/api/incidents/", call(narrative="两人在店门口争吵，有推搡"), format="json")
    assert r.status_code == 201, r.content
    return coded, a, api_as(b_duty), Incident.objects.get(pk=r.json()["id"])


def _export(client, pk):
    r = client.get(f"/api/incidents/{pk}/eido/")
    assert r.status_code == 200, r.content
    return r.json()


# What legitimately differs between two centers' documents of one incident: the message's own ids and
# time, the sending system, the agency and the incident's local number (each center numbers its own).
DIFFERS = ("$id", "eidoMessageIdentifier", "lastUpdateTimeStamp", "sendingSystemIdentifier", "agencyComponent")


def _same_part(doc):
    d = copy.deepcopy(doc)
    for key in DIFFERS:
        d.pop(key)
    inc = d["incidentComponent"][0]
    inc.pop("lastUpdateTimeStamp")
    inc.pop("incidentInternalIdentifier")
    return d


def test_round_trip_between_two_centers(centers):
    world, a, b, incident = centers
    with override_settings(EIDO_DOMAIN=A_DOMAIN):
        first = _export(a, incident.pk)
    _valid(first)
    inc = first["incidentComponent"][0]
    assert inc["incidentTrackingIdentifier"] == f"urn:emergency:uid:incidentid:{incident.number}:{A_DOMAIN}"
    assert inc["incidentTypeInternalCode"] == "020500" and inc["incidentTypeCommonRegistryText"] == "Law.PublicOrder"
    assert inc["incidentCommonPriorityNumber"] == 3
    assert (inc["incidentStatusCommonRegistryText"], inc["incidentStatusInternalCode"]) == ("Received", "01")
    assert first["callComponent"][0]["callStartTimeStamp"].endswith("+08:00")
    assert first["notesComponent"][0]["noteText"] == "两人在店门口争吵，有推搡"

    with override_settings(EIDO_DOMAIN=B_DOMAIN):
        r = b.post("/api/eido/", first, format="json")
        assert r.status_code == 201, r.content
        copy_ = Incident.objects.get(pk=r.json()["id"])
        assert copy_.pk != incident.pk and copy_.desk == world.county_b
        assert world.county_b.contains(copy_.org)
        assert copy_.eido_tracking_id == inc["incidentTrackingIdentifier"]
        assert copy_.reported_at == incident.reported_at.replace(microsecond=0)  # EIDO keeps seconds
        second = _export(b, copy_.pk)
    _valid(second)
    assert _same_part(second) == _same_part(first)
    assert second["agencyComponent"][0]["agencyName"] != first["agencyComponent"][0]["agencyName"]

    # The same document again is the same incident, unchanged: 200, no second row, no correction.
    with override_settings(EIDO_DOMAIN=B_DOMAIN):
        again = b.post("/api/eido/", first, format="json")
    assert again.status_code == 200 and again.json()["id"] == copy_.pk
    assert Incident.objects.filter(eido_tracking_id=copy_.eido_tracking_id).count() == 1
    assert not Correction.objects.filter(incident=copy_).exists()


def test_a_later_document_corrects_the_imported_incident(centers):
    _world, a, b, incident = centers
    with override_settings(EIDO_DOMAIN=A_DOMAIN):
        doc = _export(a, incident.pk)
    with override_settings(EIDO_DOMAIN=B_DOMAIN):
        created = b.post("/api/eido/", doc, format="json").json()["id"]
        doc["incidentComponent"][0]["incidentTypeInternalCode"] = "020100"  # 打架斗殴
        doc["incidentComponent"][0]["incidentCommonPriorityNumber"] = 2
        r = b.post("/api/eido/", doc, format="json")
    assert r.status_code == 200 and r.json()["id"] == created
    got = Incident.objects.get(pk=created)
    assert (got.category_id, got.level, got.first_category_id) == ("020100", 2, "020500")
    fields = set(Correction.objects.filter(incident=got).values_list("field", flat=True))
    assert fields == {"category", "level"}
    assert all(incident.org.name in c.reason for c in Correction.objects.filter(incident=got))


def test_our_own_tracking_id_updates_our_incident(centers):
    """A document naming one of our incidents (our domain, its number) corrects it, never copies it."""
    _world, a, _b, incident = centers
    doc = _export(a, incident.pk)
    doc["locationComponent"][0]["civicAddressText"] = "东湖路14号"
    r = a.post("/api/eido/", doc, format="json")
    assert r.status_code == 200 and r.json()["id"] == incident.pk
    assert Incident.objects.get(pk=incident.pk).address == "东湖路14号"
    assert Incident.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d["incidentComponent"][0].update(incidentTypeInternalCode="999999"), "incidentTypeInternalCode"),
        (lambda d: d["incidentComponent"][0].update(incidentCommonPriorityNumber=7), "incidentCommonPriorityNumber"),
        (lambda d: d["incidentComponent"][0].pop("incidentTrackingIdentifier"), "incidentComponent.0"),
        (lambda d: d["callComponent"][0].update(callTypeInternalCode="fax"), "callTypeInternalCode"),
        (lambda d: d["callComponent"][0].update(callStartTimeStamp="2026-01-01 08:00"), "callStartTimeStamp"),
        (lambda d: d["callComponent"][0].update(callStartTimeStamp="2026-13-45T08:00:00+08:00"), "callStartTimeStamp"),
        (
            lambda d: d["incidentComponent"][0].update(
                incidentTrackingIdentifier="urn:emergency:uid:incidentid:a\x00:b"
            ),
            "incidentTrackingIdentifier",
        ),
        # The intake's own checks, under the document's paths: the window a stated time must lie in.
        (lambda d: d["callComponent"][0].update(callStartTimeStamp="2020-01-01T08:00:00+08:00"), "callStartTimeStamp"),
        (lambda d: d["locationComponent"][0].update(civicAddressText=""), "civicAddressText"),
        (lambda d: d["locationComponent"][0]["locationByValue"].update(coordinates=[120.1, 95]), "coordinates"),
        (lambda d: d["incidentComponent"][0].update(locationReference="$ref:nowhere"), "locationReference"),
    ],
)
def test_bad_documents_are_refused_field_by_field(centers, change, field):
    _world, a, b, incident = centers
    with override_settings(EIDO_DOMAIN=A_DOMAIN):
        doc = _export(a, incident.pk)
    change(doc)
    before = Incident.objects.count()
    with override_settings(EIDO_DOMAIN=B_DOMAIN):
        r = b.post("/api/eido/", doc, format="json")
    assert r.status_code == 400, r.content
    assert any(field in key for key in r.json()), r.json()
    assert Incident.objects.count() == before


def test_who_may_import_and_export(centers):
    world, a, _b, incident = centers
    with override_settings(EIDO_DOMAIN=A_DOMAIN):
        doc = _export(a, incident.pk)
    with override_settings(EIDO_DOMAIN=B_DOMAIN):
        # A station officer reads the incident's detail but does not take other centers' incidents in.
        r = api_as(world.station_b1_officer).post("/api/eido/", doc, format="json")
        assert r.status_code == 403
    assert api_as(world.station_b1_officer).get(f"/api/incidents/{incident.pk}/eido/").status_code == 404
    assert api_as(world.partner_agent).get(f"/api/incidents/{incident.pk}/eido/").status_code == 404
    assert api_as(world.station_a1_officer).get(f"/api/incidents/{incident.pk}/eido/").status_code == 200
    assert Incident.objects.count() == 1


def test_an_api_token_of_the_desk_imports(centers):
    """Another center's system posts with a token of a person of the receiving desk."""
    world, a, _b, incident = centers
    with override_settings(EIDO_DOMAIN=A_DOMAIN):
        doc = _export(a, incident.pk)
    _row, token = tokens.token_issue(user=User.objects.get(username="county_b_duty"), name="EIDO from A")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    with override_settings(EIDO_DOMAIN=B_DOMAIN):
        r = client.post("/api/eido/", doc, format="json")
    assert r.status_code == 201, r.content
    assert Incident.objects.get(pk=r.json()["id"]).desk == world.county_b


@pytest.mark.django_db(transaction=True)
def test_concurrent_imports_of_one_document_make_one_incident():
    from command_center import codes
    from tests.concurrency import parallel
    from tests.conftest import build_world

    w = build_world()
    codes.load_defaults()
    taken = api_as(w.county_a_duty).post("/api/incidents/", call(), format="json").json()["id"]
    with override_settings(EIDO_DOMAIN=A_DOMAIN):
        doc = _export(api_as(w.county_a_duty), taken)
    b_duty = make_person("county_b_duty", w.county_b, Role.DUTY_OFFICER)

    def take(k):
        with override_settings(EIDO_DOMAIN=B_DOMAIN):
            r = api_as(b_duty).post("/api/eido/", doc, format="json")
        return r.status_code, r.json()["id"]

    results = parallel(6, take)
    assert sorted(code for code, _ in results) == [200] * 5 + [201]
    assert len({i for _, i in results}) == 1
    assert Incident.objects.filter(desk=w.county_b).count() == 1


def test_the_incident_page_links_its_eido_and_says_where_it_came_from(centers):
    _world, a, b, incident = centers
    with override_settings(EIDO_DOMAIN=A_DOMAIN):
        doc = _export(a, incident.pk)
    with override_settings(EIDO_DOMAIN=B_DOMAIN):
        copy_ = b.post("/api/eido/", doc, format="json").json()["id"]
    page = Client()
    page.force_login(User.objects.get(username="county_b_duty"))
    html = page.get(f"/incidents/{copy_}/").content.decode()
    assert f"/api/incidents/{copy_}/eido/" in html and "导出为 NENA EIDO" in html
    assert doc["incidentComponent"][0]["incidentTrackingIdentifier"] in html
