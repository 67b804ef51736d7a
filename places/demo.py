"""The demo city's gazetteer (fixtures/demo_city.geojson), loaded by `load_demo` after the demo orgs.

The file is data like any city's; `build()` made it from the demo stations' coordinates and stays here so
it can be made again when the demo city changes (`python -c "import places.demo as d; d.write()"` inside
`manage.py shell`): each station's jurisdiction is its Voronoi cell clipped to the city's box, streets are
a grid of 路 (west–east) and 街 (south–north) with house numbers every 10 m or so, plus a few POIs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from shapely.geometry import LineString, MultiPoint, Point, box, mapping
from shapely.ops import voronoi_diagram

from command_center import demo as city

from .services import places_load

FILE = Path(__file__).parent / "fixtures" / "demo_city.geojson"
# The city's box (lon/lat): every demo station lies well inside it.
WEST, SOUTH, EAST, NORTH = 120.05, 30.17, 120.27, 30.34

ROADS = ["东湖路", "新华路", "城东路", "湖滨路", "西溪路", "文新路", "蒋村路", "留下路", "南星路"]
STREETS = ["望江街", "紫阳街", "闸口街", "解放街", "延安街", "中山街", "建国街", "凤起街", "庆春街", "体育场街"]
POIS = [
    ("市第一人民医院", ["一院", "人民医院"], "hospital", 30.2760, 120.1620),
    ("示范市火车站", ["火车站", "城站"], "station", 30.2440, 120.1800),
    ("西溪湿地", ["湿地公园"], "park", 30.2700, 120.0800),
    ("银泰百货湖滨店", ["湖滨银泰"], "mall", 30.2580, 120.1650),
    ("示范市实验小学", ["实验小学"], "school", 30.2900, 120.1400),
    ("南星桥", [], "bridge", 30.2150, 120.1850),
    ("东湖公园", [], "park", 30.2960, 120.2000),
    ("市体育中心", ["体育馆"], "venue", 30.3050, 120.1650),
]


def stations() -> list[tuple[str, str, float, float]]:
    """(name, region code, lat, lon) of the demo stations, as command_center.demo places them."""
    out = []
    for _cname, ccode, clat, clon, names in city.COUNTIES:
        for i, sname in enumerate(names, start=1):
            slat, slon = clat + 0.012 * ((i % 2) * 2 - 1) * i / 2, clon + 0.015 * (i - 2.5)
            out.append((sname, f"{ccode}{i:03d}", slat, slon))
    return out


def _feature(geom: Any, **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "geometry": mapping(geom), "properties": props}


def build() -> dict[str, Any]:
    features = []
    frame = box(WEST, SOUTH, EAST, NORTH)
    sts = stations()
    cells = voronoi_diagram(MultiPoint([(lon, lat) for _, _, lat, lon in sts]), envelope=frame)
    for name, code, lat, lon in sts:
        cell = next(c for c in cells.geoms if c.contains(Point(lon, lat))).intersection(frame)
        features.append(_feature(cell.simplify(0).normalize(), layer="jurisdiction", org=code, name=name))
    for k, road in enumerate(ROADS):  # west–east, evenly spaced from south to north
        lat = SOUTH + (NORTH - SOUTH) * (k + 1) / (len(ROADS) + 1)
        features.append(
            _feature(LineString([(WEST, lat), (EAST, lat)]), layer="street", name=road, **{"from": 1, "to": 399})
        )
        for n in range(1, 400, 8):
            x = WEST + (EAST - WEST) * (n - 1) / 398
            features.append(
                _feature(
                    Point(round(x, 6), lat + (0.0002 if n % 2 else -0.0002)), layer="address", street=road, number=n
                )
            )
    for k, street in enumerate(STREETS):  # south–north, evenly spaced from west to east
        lon = WEST + (EAST - WEST) * (k + 1) / (len(STREETS) + 1)
        features.append(
            _feature(LineString([(lon, SOUTH), (lon, NORTH)]), layer="street", name=street, **{"from": 1, "to": 299})
        )
        for n in range(1, 300, 8):
            y = SOUTH + (NORTH - SOUTH) * (n - 1) / 298
            features.append(
                _feature(
                    Point(lon + (0.0002 if n % 2 else -0.0002), round(y, 6)), layer="address", street=street, number=n
                )
            )
    for name, aliases, category, lat, lon in POIS:
        features.append(_feature(Point(lon, lat), layer="poi", name=name, aliases=aliases, category=category))
    return {"type": "FeatureCollection", "features": features}


def write() -> None:
    FILE.write_text(json.dumps(build(), ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")


def load_demo() -> str:
    features = json.loads(FILE.read_text(encoding="utf-8"))["features"]
    counts = places_load(features=features)
    return "demo places: " + ", ".join(f"{n} {layer}" for layer, n in sorted(counts.items()))
