"""The demo city's gazetteer (fixtures/demo_city.geojson), loaded by `load_demo` after the demo orgs.

The file is data like any city's; `build()` made it from the demo stations' coordinates and stays here so
it can be made again when the demo city changes (`python -c "import places.demo as d; d.write()"` inside
`manage.py shell`): each station's jurisdiction is its Voronoi cell clipped to the city's box. Streets
agree with the stations, as a city's do: each station's own 路 (west–east) and 街 (south–north) are named
after it and run through it, inside its jurisdiction (东湖派出所 owns 东湖路 and 东湖街), and a few long
avenues cross the city and several jurisdictions (an address on one belongs to whichever station's polygon
holds its number). House numbers come every 50 m or so, odd on one side, even on the other; a stored
address every eighth number. The POIs stand in the jurisdiction their names suggest (西溪湿地 in 西溪's).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from shapely.geometry import LineString, MultiPoint, Point, box, mapping
from shapely.ops import voronoi_diagram

from command_center import demo as city

from .models import Place
from .services import places_load

FILE = Path(__file__).parent / "fixtures" / "demo_city.geojson"
# The city's box (lon/lat): every demo station lies well inside it.
WEST, SOUTH, EAST, NORTH = 120.05, 30.17, 120.27, 30.34
METRES_PER_DEG = 111_320.0
HOUSE_M = 50.0  # street frontage per house number
INSET = 0.001  # a station's own streets stop this far (about 100 m) inside its jurisdiction
COS_LAT = math.cos(math.radians((SOUTH + NORTH) / 2))
# Long avenues, south–north across the city (named after no station), at longitudes between the stations'
# own 街 so no two streets share a line.
AVENUES = [
    ("解放街", 120.075),
    ("延安街", 120.110),
    ("中山街", 120.140),
    ("建国街", 120.155),
    ("凤起街", 120.205),
    ("庆春街", 120.235),
    ("体育场街", 120.255),
]
# (name, aliases, category, the station it stands in, metres east and north of the station)
POIS = [
    ("市第一人民医院", ["一院", "人民医院"], "hospital", "新华派出所", -350, 300),
    ("示范市火车站", ["火车站", "城站"], "station", "紫阳派出所", 250, 500),
    ("西溪湿地", ["湿地公园"], "park", "西溪派出所", -900, -400),
    ("银泰百货湖滨店", ["湖滨银泰"], "mall", "湖滨派出所", 300, 250),
    ("示范市实验小学", ["实验小学"], "school", "文新派出所", 300, -300),
    ("南星桥", [], "bridge", "南星派出所", 400, -350),
    ("东湖公园", [], "park", "东湖派出所", 500, 400),
    ("市体育中心", ["体育馆"], "venue", "城东派出所", -400, 300),
]


def stations() -> list[tuple[str, str, float, float]]:
    """(name, region code, lat, lon) of the demo stations, as command_center.demo places them."""
    out = []
    for _cname, ccode, clat, clon, names in city.COUNTIES:
        for i, sname in enumerate(names, start=1):
            slat, slon = clat + 0.012 * ((i % 2) * 2 - 1) * i / 2, clon + 0.015 * (i - 2.5)
            out.append((sname, f"{ccode}{i:03d}", slat, slon))
    return out


def short(station_name: str) -> str:
    """东湖派出所 → 东湖: what the station's streets are named after."""
    return station_name.removesuffix("派出所")


def _feature(geom: Any, **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "geometry": mapping(geom), "properties": props}


def _metres(line: LineString) -> float:
    (x0, y0), (x1, y1) = line.coords[0], line.coords[-1]
    return math.hypot((x1 - x0) * COS_LAT, y1 - y0) * METRES_PER_DEG


def _street(name: str, line: LineString, inside: Any = None) -> list[dict[str, Any]]:
    """A street from west to east (or south to north) with its house numbers and every eighth address,
    odd numbers north (east) of the line, even ones south (west); with `inside`, only addresses it covers."""
    last = max(9, int(_metres(line) / HOUSE_M) | 1)
    out = [_feature(line, layer="street", name=name, **{"from": 1, "to": last})]
    west_east = abs(line.coords[0][1] - line.coords[-1][1]) < 1e-9
    for n in range(1, last + 1, 8):
        pt = line.interpolate((n - 1) / (last - 1), normalized=True)
        side = 0.0002 if n % 2 else -0.0002
        pt = Point(round(pt.x, 6), round(pt.y + side, 6)) if west_east else Point(round(pt.x + side, 6), round(pt.y, 6))
        if inside is None or inside.covers(pt):
            out.append(_feature(pt, layer="address", street=name, number=n))
    return out


def _offset(lat: float, lon: float, east_m: float, north_m: float) -> tuple[float, float]:
    return round(lat + north_m / METRES_PER_DEG, 6), round(lon + east_m / (METRES_PER_DEG * COS_LAT), 6)


def build() -> dict[str, Any]:
    features = []
    frame = box(WEST, SOUTH, EAST, NORTH)
    sts = stations()
    cells = voronoi_diagram(MultiPoint([(lon, lat) for _, _, lat, lon in sts]), envelope=frame)
    cell_of = {}
    for name, code, lat, lon in sts:
        cell = next(c for c in cells.geoms if c.contains(Point(lon, lat))).intersection(frame).simplify(0).normalize()
        cell_of[name] = cell
        features.append(_feature(cell, layer="jurisdiction", org=code, name=name))
    # Each station's own 路 and 街 through it, cut to its jurisdiction less a margin: every number on them,
    # stored or placed along the line by the search, lies in that station's polygon.
    for name, _code, lat, lon in sts:
        inner = cell_of[name].buffer(-INSET)
        for suffix, across in (
            ("路", LineString([(WEST, lat), (EAST, lat)])),
            ("街", LineString([(lon, SOUTH), (lon, NORTH)])),
        ):
            seg = across.intersection(inner)
            assert seg.geom_type == "LineString" and seg.covers(Point(lon, lat)), (name, suffix)
            line = LineString(sorted((round(x, 6), round(y, 6)) for x, y in seg.coords))
            features += _street(short(name) + suffix, line, inside=inner)
    for avenue, lon in AVENUES:
        features += _street(avenue, LineString([(lon, SOUTH), (lon, NORTH)]))
    where = {name: (lat, lon) for name, _code, lat, lon in sts}
    for name, aliases, category, station, east_m, north_m in POIS:
        plat, plon = _offset(*where[station], east_m, north_m)
        assert cell_of[station].buffer(-INSET).covers(Point(plon, plat)), name
        features.append(_feature(Point(plon, plat), layer="poi", name=name, aliases=aliases, category=category))
    return {"type": "FeatureCollection", "features": features}


def write() -> None:
    FILE.write_text(json.dumps(build(), ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")


def load_demo() -> str:
    features = json.loads(FILE.read_text(encoding="utf-8"))["features"]
    counts = places_load(features=features)
    # The loader leaves rows the file does not name; a database kept from an earlier demo file would keep
    # its streets and numbers where they were (东湖路 393号 in the south). The demo's own are replaced.
    names = {f["properties"]["name"] for f in features if f["properties"]["layer"] == "street"}
    addresses = {
        f["properties"].get("name") or f"{f['properties']['street']}{f['properties']['number']}号"
        for f in features
        if f["properties"]["layer"] == "address"
    }
    Place.objects.filter(kind=Place.Kind.ADDRESS, street__name__in=names).exclude(name__in=addresses).delete()
    return "demo places: " + ", ".join(f"{n} {layer}" for layer, n in sorted(counts.items()))
