"""The gazetteer: the loader, search while typing, the nearest address, routing by jurisdiction polygon,
the region check at intake, and the base map."""

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from command_center import memo
from places import selectors
from places.models import Jurisdiction, Place, Street
from places.services import places_load

from ..incidents.conftest import api_as, call


def box(west, south, east, north):
    return {
        "type": "Polygon",
        "coordinates": [[[west, south], [east, south], [east, north], [west, north], [west, south]]],
    }


def features():
    # A1's polygon reaches far west: a point next to B1's station (30.25, 120.10) still belongs to A1.
    return [
        {
            "type": "Feature",
            "geometry": box(120.09, 30.24, 120.17, 30.31),
            "properties": {"layer": "jurisdiction", "org": "990101001"},
        },
        {
            "type": "Feature",
            "geometry": box(120.00, 30.20, 120.09, 30.31),
            "properties": {"layer": "jurisdiction", "org": "西溪派出所"},
        },
        {
            "type": "Feature",
            "geometry": {"type": "LineString", "coordinates": [[120.09, 30.26], [120.17, 30.26]]},
            "properties": {"layer": "street", "name": "东湖路", "from": 1, "to": 101},
        },
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [120.1004, 30.2600]},
            "properties": {"layer": "address", "street": "东湖路", "number": 12},
        },
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [120.1604, 30.2600]},
            "properties": {"layer": "address", "street": "东湖路", "number": 88},
        },
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [120.05, 30.25]},
            "properties": {"layer": "poi", "name": "西溪湿地", "aliases": ["湿地公园"], "category": "park"},
        },
    ]


@pytest.fixture
def gazetteer(coded):
    places_load(features=features())
    yield coded
    memo.forget()


def test_the_loader_is_idempotent_and_updates_by_natural_key(gazetteer, tmp_path):
    f = tmp_path / "city.geojson"
    fs = features()
    fs[3]["geometry"]["coordinates"] = [120.1010, 30.2601]
    f.write_text(json.dumps({"type": "FeatureCollection", "features": fs}, ensure_ascii=False), encoding="utf-8")
    call_command("load_places", str(f))
    call_command("load_places", str(f))
    assert Street.objects.count() == 1 and Place.objects.count() == 3 and Jurisdiction.objects.count() == 2
    assert Place.objects.get(name="东湖路12号").lon == pytest.approx(120.1010)


def test_the_loader_refuses_a_bad_file_and_loads_nothing(coded, tmp_path):
    fs = features()
    fs[1]["properties"]["org"] = "no such org"
    f = tmp_path / "bad.geojson"
    f.write_text(json.dumps({"type": "FeatureCollection", "features": fs}), encoding="utf-8")
    with pytest.raises(CommandError, match="no such org"):
        call_command("load_places", str(f))
    assert not Jurisdiction.objects.exists() and not Street.objects.exists()


def test_the_demo_city_ships_a_gazetteer_that_covers_its_stations(db):
    from command_center import demo as city
    from places import demo

    city.load()
    assert demo.load_demo().startswith("demo places:")
    for name, _code, lat, lon in demo.stations():
        owner = selectors.owning_org(lat, lon)
        assert owner is not None and owner.name == name
    assert Place.objects.filter(kind=Place.Kind.ADDRESS).count() > 500
    memo.forget()


def test_the_demo_streets_and_places_lie_in_the_station_they_are_named_after(db):
    from command_center import demo as city
    from places import demo

    city.load()
    demo.load_demo()
    try:
        for name, _code, _lat, _lon in demo.stations():
            for street in (demo.short(name) + "路", demo.short(name) + "街"):  # 东湖派出所: 东湖路, 东湖街
                stored = list(Place.objects.filter(street__name=street))
                assert len(stored) >= 3, street
                assert {o.name for o in (selectors.owning_org(p.lat, p.lon) for p in stored) if o} == {name}
                assert all(selectors.owning_org(p.lat, p.lon) for p in stored), street
                # A number no address stores, placed along the street by the search: the same station.
                top = selectors.search(f"{street}2号")[0]
                assert top.name == f"{street}2号" and top.id is None and top.org is not None
                assert top.org.name == name, (street, top.org.name)
        for poi, station in [("东湖公园", "东湖派出所"), ("西溪湿地", "西溪派出所"), ("南星桥", "南星派出所")]:
            top = selectors.search(poi)[0]
            assert top.name == poi and top.org is not None and top.org.name == station
        # A database kept from an earlier demo file loses the numbers this one no longer has.
        old = Place.objects.create(
            kind=Place.Kind.ADDRESS,
            name="东湖路393号",
            street=Street.objects.get(name="东湖路"),
            number=393,
            lat=30.19,
            lon=120.2,
        )
        demo.load_demo()
        assert not Place.objects.filter(pk=old.pk).exists()
    finally:
        memo.forget()


def test_search_ranks_a_prefix_first_and_gives_point_and_station(gazetteer):
    r = api_as(gazetteer.duty).get("/api/places/search/", {"q": "东湖路 12"})
    assert r.status_code == 200
    top = r.json()[0]
    assert top["name"] == "东湖路12号" and top["kind"] == "address"
    assert (top["lat"], top["lon"]) == (30.26, 120.1004)
    assert top["station"]["id"] == gazetteer.station_a1.pk


def test_search_finds_an_alias_and_places_an_unstored_number_along_the_street(gazetteer):
    api = api_as(gazetteer.duty)
    assert api.get("/api/places/search/", {"q": "湿地公园"}).json()[0]["name"] == "西溪湿地"
    top = api.get("/api/places/search/", {"q": "东湖路51号"}).json()[0]
    assert top["name"] == "东湖路51号" and top["id"] is None
    assert top["lon"] == pytest.approx(120.13, abs=1e-3) and top["lat"] == pytest.approx(30.26)


def test_search_and_reverse_refuse_bad_parameters_by_field(gazetteer):
    api = api_as(gazetteer.duty)
    assert set(api.get("/api/places/search/").json()) == {"q"}
    assert set(api.get("/api/places/search/", {"q": "x", "limit": "0"}).json()) == {"limit"}
    assert set(api.get("/api/places/search/", {"q": "x", "qq": "1"}).json()) == {"qq"}
    assert set(api.get("/api/places/reverse/", {"lat": "north", "lon": "200"}).json()) == {"lat", "lon"}


def test_the_gazetteer_needs_a_login(gazetteer, client):
    assert client.get("/api/places/search/", {"q": "东湖"}).status_code in (401, 403)
    assert client.get("/api/places/map/").status_code in (401, 403)


def test_reverse_gives_the_nearest_address_and_the_owning_station(gazetteer):
    r = api_as(gazetteer.duty).get("/api/places/reverse/", {"lat": 30.2605, "lon": 120.1600})
    assert r.status_code == 200
    assert r.json()["name"] == "东湖路88号" and r.json()["station"]["id"] == gazetteer.station_a1.pk
    far = api_as(gazetteer.duty).get("/api/places/reverse/", {"lat": 10.0, "lon": 10.0})
    assert far.status_code == 404


def test_intake_routes_to_the_polygon_that_holds_the_point_not_the_nearest_station(gazetteer):
    # Right next to B1's station, inside A1's polygon.
    r = api_as(gazetteer.duty).post("/api/incidents/", call(lat=30.2510, lon=120.1010), format="json")
    assert r.status_code == 201, r.json()
    assert r.json()["org"] == gazetteer.station_a1.pk


def test_without_a_polygon_intake_falls_back_to_the_nearest_station(coded):
    r = api_as(coded.duty).post("/api/incidents/", call(lat=30.2510, lon=120.1010), format="json")
    assert r.json()["org"] == coded.station_b1.pk


def test_intake_refuses_a_point_outside_the_region_saying_why(gazetteer):
    r = api_as(gazetteer.duty).post("/api/incidents/", call(lat=31.5, lon=121.5), format="json")
    assert r.status_code == 400
    assert "不在本指挥中心辖区范围内" in r.json()["lat"][0]  # zh-hans is the default language


def test_region_bounds_from_settings(coded, settings):
    settings.REGION_BOUNDS = [30.0, 120.0, 30.5, 120.5]
    memo.forget()
    assert selectors.in_region(30.2, 120.2) and not selectors.in_region(29.9, 120.2)
    r = api_as(coded.duty).post("/api/incidents/", call(lat=120.2, lon=30.2), format="json")
    assert r.status_code == 400 and "lat" in r.json()


def test_the_base_map_is_geojson_of_streets_and_jurisdictions(gazetteer):
    body = api_as(gazetteer.duty).get("/api/places/map/").json()
    assert body["type"] == "FeatureCollection"
    layers = sorted(f["properties"]["layer"] for f in body["features"])
    assert layers == ["jurisdiction", "jurisdiction", "street"]


def test_search_without_pg_trgm_falls_back_to_like(gazetteer, monkeypatch):
    # The embedded PostgreSQL of `make run` ships no pg_trgm: the migration creates nothing, search uses LIKE.
    monkeypatch.setattr(selectors, "has_trigrams", lambda: False)
    assert [c.name for c in selectors.search("东湖路12")][:1] == ["东湖路12号"]
    assert [c.name for c in selectors.search("湿地")] == ["西溪湿地"]
    assert selectors.search("  ") == []


def test_a_short_key_matches_by_substring_and_a_typo_by_similarity(gazetteer):
    assert selectors.has_trigrams()  # this server ships pg_trgm
    assert "西溪湿地" in [c.name for c in selectors.search("湿地")]
    assert "东湖路12号" in [c.name for c in selectors.search("东胡路12号")]  # 湖 typed as 胡
