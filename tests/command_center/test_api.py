import pytest
from rest_framework.test import APIClient

from command_center.models import Category


@pytest.fixture
def api():
    return APIClient()


def test_token_auth_round_trip(api, world):
    r = api.post("/api/auth/token/", {"username": "station1", "password": "pw-12345"}, format="json")
    assert r.status_code == 200 and r.json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {r.json()['token']}")
    me = api.get("/api/me/").json()
    assert me["username"] == "station1"
    assert me["org"] == {"id": world.station_a1.pk, "name": "东湖派出所", "level": "station"}
    assert me["roles"] == ["station_officer"]


def test_token_with_bad_credentials_is_a_400_with_a_message(api, world):
    r = api.post("/api/auth/token/", {"username": "station1", "password": "wrong"}, format="json")
    assert r.status_code == 400 and r.json()["non_field_errors"]
    r = api.post("/api/auth/token/", {"username": "station1"}, format="json")
    assert r.status_code == 400 and "password" in r.json()


def test_api_refuses_anonymous(api, db):
    for url in ["/api/me/", "/api/orgs/", "/api/codes/categories/"]:
        assert api.get(url).status_code in (401, 403), url


def test_orgs_are_scoped_and_carry_parents(api, world):
    api.force_authenticate(world.county_a_duty)
    rows = api.get("/api/orgs/").json()["results"]
    assert [r["name"] for r in rows] == ["东城分局", "东湖派出所", "东湖第一社区", "新华派出所"]
    by_name = {r["name"]: r for r in rows}
    assert by_name["东湖派出所"]["parent"] == world.county_a.pk
    assert by_name["东城分局"]["parent"] == world.city.pk  # the parent id, even if not itself visible
    assert set(rows[0]) >= {"id", "name", "level", "kind", "parent"}


def test_orgs_for_the_city_are_the_whole_tree(api, world):
    api.force_authenticate(world.duty)
    r = api.get("/api/orgs/", {"level": "station"}).json()
    assert r["count"] == 3


def test_categories_read_api(api, world):
    top = Category.objects.create(code="010000", name="刑事", level=1)
    Category.objects.create(code="010100", name="盗窃", level=2, parent=top)
    api.force_authenticate(world.station_a1_officer)
    rows = api.get("/api/codes/categories/").json()
    assert rows == [
        {"code": "010000", "name": "刑事", "name_en": "", "level": 1, "parent": None, "initials": "xs"},
        {"code": "010100", "name": "盗窃", "name_en": "", "level": 2, "parent": "010000", "initials": "dq"},
    ]
    assert [r["code"] for r in api.get("/api/codes/categories/", {"level": 2}).json()] == ["010100"]


def test_schema_and_docs_are_served(api, world):
    api.force_authenticate(world.duty)
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    assert "/api/codes/categories/" in schema.json()["paths"]
    docs = api.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content and b"//cdn" not in docs.content  # vendored, no CDN


def test_a_value_the_database_cannot_hold_is_a_400_not_a_500(api, world):
    """Found by schemathesis: a date with a +18:19 offset in year 172 reached PostgreSQL as a filter."""
    api.force_authenticate(world.duty)
    r = api.get("/api/orders/", {"sent_before": "0172-11-02T00:37:51+18:19"})
    assert r.status_code == 400 and "out of range" in r.json()["detail"]
