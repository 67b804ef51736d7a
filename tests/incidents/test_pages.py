"""The incident pages, through Django's client: who may open them, what they show, and that stored
injection strings come back escaped."""

import pytest

from incidents.models import Incident

from .conftest import api_as, call


@pytest.fixture
def stored(duty_api):
    return Incident.objects.get(pk=duty_api.post("/api/incidents/", call(), format="json").json()["id"])


def test_intake_page_for_call_takers_only(client, coded):
    client.force_login(coded.duty)
    html = client.get("/incidents/intake/").content.decode()
    assert "接警" in html and 'name="caller_phone"' in html and "vendor/leaflet/leaflet.js" in html
    client.force_login(coded.partner_agent)
    assert client.get("/incidents/intake/").status_code == 403


def test_list_filters_and_links_export(client, coded, stored):
    client.force_login(coded.duty)
    html = client.get("/incidents/", {"state": "received"}).content.decode()
    assert stored.number in html and "/api/incidents/export/?file=xlsx" in html
    assert stored.number not in client.get("/incidents/", {"state": "closed"}).content.decode()


def test_detail_shows_allowed_actions_and_timeline(client, coded, stored):
    client.force_login(coded.duty)
    html = client.get(f"/incidents/{stored.pk}/").content.decode()
    assert stored.number in html and "已接警" in html
    assert f"/api/incidents/{stored.pk}/divert/" in html and f"/api/incidents/{stored.pk}/clear-scene/" not in html


def test_other_stations_get_404(client, coded, stored):
    client.force_login(coded.station_b1_officer)
    assert client.get(f"/incidents/{stored.pk}/").status_code == 404
    assert stored.number not in client.get("/incidents/").content.decode()


def test_injection_strings_render_escaped(client, coded, duty_api):
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    i = duty_api.post("/api/incidents/", call(address=evil, narrative=evil), format="json").json()
    client.force_login(coded.duty)
    for url in ("/incidents/", f"/incidents/{i['id']}/"):
        html = client.get(url).content.decode()
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html


def test_partner_inbox_shows_only_what_was_diverted_to_them(client, coded, stored):
    api_as(coded.duty).post(f"/api/incidents/{stored.pk}/divert/", {"partner": coded.partner.pk}, format="json")
    client.force_login(coded.partner_agent)
    html = client.get("/partner/").content.decode()
    # The page is the live inbox's shell (static/js/partnerinbox.js); its rows come from the inbox API.
    assert "data-partner-inbox" in html and "待受理" in html
    rows = client.get("/api/diversions/inbox/").json()["diversions"]
    assert [r["incident"]["number"] for r in rows] == [stored.number]
    client.force_login(coded.station_a1_officer)
    assert client.get("/partner/").status_code == 403
