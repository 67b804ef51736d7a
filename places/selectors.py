"""Reads of the gazetteer: address search while typing, the nearest address to a map click, the org whose
jurisdiction holds a point, and whether a point lies in the deployment's region.

Polygons are parsed once per process (memo.py: forgotten within a second of an edit anywhere) and tested
with shapely's prepared geometries: a point-in-polygon test is microseconds, no query per intake."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from shapely import wkt
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union
from shapely.prepared import PreparedGeometry, prep

from command_center import memo
from command_center.models import Org

from .models import Jurisdiction, Place, Street
from .text import normalize

EARTH_M = 6_371_000.0
MAX_RESULTS = 20
REVERSE_RADII_M = (200.0, 1_000.0, 5_000.0)
_HOUSE = re.compile(r"^(?P<street>.+?)(?P<number>\d+)号?$")


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_M * math.asin(math.sqrt(min(1.0, a)))


# --- Jurisdictions ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Area:
    org: Org
    shape: BaseGeometry
    prepared: PreparedGeometry
    size: float


def _load_areas() -> list[Area]:
    out = []
    for j in Jurisdiction.objects.select_related("org"):
        shape = wkt.loads(j.area)
        out.append(Area(j.org, shape, prep(shape), shape.area))
    # Smallest first: a station's area lies inside its county's; the point belongs to the innermost.
    return sorted(out, key=lambda a: a.size)


def areas() -> list[Area]:
    return memo.remember(("places.areas",), _load_areas)


def owning_org(lat: float, lon: float) -> Org | None:
    """The org whose jurisdiction polygon holds the point (the innermost one), or None when none does."""
    p = Point(lon, lat)
    for a in areas():
        if a.prepared.covers(p):
            return a.org
    return None


def _region() -> PreparedGeometry | tuple[float, float, float, float] | None:
    bounds = settings.REGION_BOUNDS
    if bounds:
        south, west, north, east = bounds
        return (south, west, north, east)
    shapes = [a.shape for a in areas()]
    return prep(unary_union(shapes)) if shapes else None


def in_region(lat: float, lon: float) -> bool:
    """Whether the point lies in the region this deployment answers for (settings.REGION_BOUNDS, else the
    union of the jurisdictions). True when neither is known: nothing to check against."""
    region = memo.remember(("places.region", tuple(settings.REGION_BOUNDS)), _region)
    if region is None:
        return True
    if isinstance(region, tuple):
        south, west, north, east = region
        return south <= lat <= north and west <= lon <= east
    return bool(region.covers(Point(lon, lat)))


# --- Search ----------------------------------------------------------------------------------------------


def has_trigrams() -> bool:
    """Whether pg_trgm is installed here (it is not in the embedded PostgreSQL of `make run`)."""

    def load() -> bool:
        with connection.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
            return cur.fetchone() is not None

    return memo.remember(("places.trgm", connection.alias), load)


@dataclass
class Candidate:
    id: int | None  # None: a number placed along its street, not a stored address
    name: str
    kind: str
    lat: float
    lon: float
    score: float
    org: Org | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "lat": round(self.lat, 6),
            "lon": round(self.lon, 6),
            "score": round(self.score, 3),
            "station": {"id": self.org.pk, "name": self.org.name} if self.org else None,
        }


# The candidates: a substring of the search key (LIKE, served by the trigram GIN index where pg_trgm is
# installed), or, with pg_trgm and a key of 3 characters or more, a close spelling (`%`: similarity above
# pg_trgm.similarity_threshold). Ranked: a match at the start first, then by similarity (trigrams) or by how
# much of the key it covers. The planner underrates `%` and scans the whole table for it (10 ms at 2,000
# rows); with sequential scans off for this one statement it takes the GIN index (0.2 ms).
_COLUMNS = "id, name, kind, lat, lon"
_SQL_TRGM = f"""
    SELECT {_COLUMNS}, similarity(search, %(q)s) + CASE WHEN search LIKE %(prefix)s THEN 1 ELSE 0 END AS score
      FROM places_place
     WHERE search LIKE %(contains)s OR search %% %(q)s
     ORDER BY score DESC, length(search), id
     LIMIT %(limit)s
"""  # noqa: S608  # constant column names; values are parameters
_SQL_LIKE = f"""
    SELECT {_COLUMNS}, length(%(q)s)::float / length(search) + CASE WHEN search LIKE %(prefix)s THEN 1 ELSE 0 END
      FROM places_place
     WHERE search LIKE %(contains)s
     ORDER BY 6 DESC, length(search), id
     LIMIT %(limit)s
"""  # noqa: S608


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search(q: str, *, limit: int = 10) -> list[Candidate]:
    """Places whose name or alias matches what the call-taker typed, best first, each with its point and
    the org whose jurisdiction holds it. A street and a number that no stored address has (东湖路 57号)
    is placed along the street's line from its house-number range. One statement (two with trigrams)."""
    key = normalize(q)
    if not key:
        return []
    limit = max(1, min(limit, MAX_RESULTS))
    params: dict[str, str | int] = {
        "q": key,
        "prefix": _like(key) + "%",
        "contains": "%" + _like(key) + "%",
        "limit": limit,
    }
    fuzzy = len(key) >= 3 and has_trigrams()
    with transaction.atomic(), connection.cursor() as cur:
        if fuzzy:
            cur.execute("SET LOCAL enable_seqscan = off")
        cur.execute(_SQL_TRGM if fuzzy else _SQL_LIKE, params)
        rows = cur.fetchall()
    out = [
        Candidate(pk, name, kind, lat, lon, float(score), owning_org(lat, lon))
        for pk, name, kind, lat, lon, score in rows
    ]
    extra = _interpolated(key)
    if extra is not None and not any(normalize(c.name) == normalize(extra.name) for c in out):
        out = [extra, *out][:limit]
    return out


def _interpolated(key: str) -> Candidate | None:
    m = _HOUSE.match(key)
    if not m:
        return None
    number = int(m["number"])
    street = ranged_streets().get(m["street"])
    if street is None:
        return None
    name, first, last, line = street
    if not min(first, last) <= number <= max(first, last):
        return None
    fraction = 0.5 if first == last else (number - first) / (last - first)
    pt = line.interpolate(fraction, normalized=True)
    return Candidate(None, f"{name}{number}号", Place.Kind.ADDRESS, pt.y, pt.x, 1.5, owning_org(pt.y, pt.x))


def ranged_streets() -> dict[str, tuple[str, int, int, BaseGeometry]]:
    """Streets with a house-number range, by their search key, parsed once per process (the loader
    forgets them: memo.forget)."""

    def load() -> dict[str, tuple[str, int, int, BaseGeometry]]:
        out = {}
        for s in Street.objects.exclude(from_number=None).exclude(to_number=None):
            assert s.from_number is not None and s.to_number is not None
            out[normalize(s.name)] = (s.name, s.from_number, s.to_number, wkt.loads(s.line))
        return out

    return memo.remember(("places.streets",), load)


def reverse(lat: float, lon: float) -> Candidate | None:
    """The nearest stored address or place to a point (a click on the map), within 5 km."""
    for radius in REVERSE_RADII_M:
        dlat = math.degrees(radius / EARTH_M)
        dlon = math.degrees(radius / (EARTH_M * max(math.cos(math.radians(lat)), 0.01)))
        rows = list(
            Place.objects.filter(
                lat__gte=lat - dlat, lat__lte=lat + dlat, lon__gte=lon - dlon, lon__lte=lon + dlon
            ).order_by("id")[:2000]
        )
        best = min(rows, key=lambda p: distance_m(lat, lon, p.lat, p.lon), default=None)
        if best is not None and distance_m(lat, lon, best.lat, best.lon) <= radius:
            return Candidate(best.pk, best.name, best.kind, best.lat, best.lon, 1.0, owning_org(lat, lon))
    return None


def places_by_org(*, limit: int = 20_000) -> dict[int, list[Candidate]]:
    """The stored addresses and places (the first `limit` by id), grouped by the org whose jurisdiction
    holds each — the innermost, as an intake is routed; a place outside every jurisdiction is left out.
    For whoever needs the real addresses of an area: the simulator draws its calls from them."""
    out: dict[int, list[Candidate]] = {}
    rows = Place.objects.order_by("id").values_list("id", "name", "kind", "lat", "lon")[:limit]
    for pk, name, kind, lat, lon in rows:
        org = owning_org(lat, lon)
        if org is not None:
            out.setdefault(org.pk, []).append(Candidate(pk, name, kind, lat, lon, 1.0, org))
    return out


# --- The base map ----------------------------------------------------------------------------------------


def base_map() -> dict[str, Any]:
    """Streets and jurisdictions as one GeoJSON FeatureCollection (the map's vector layers)."""
    from shapely.geometry import mapping

    def load() -> dict[str, Any]:
        features: list[dict[str, Any]] = []
        for a in areas():
            features.append(
                {
                    "type": "Feature",
                    "geometry": mapping(a.shape),
                    "properties": {"layer": "jurisdiction", "org": a.org.pk, "name": a.org.name},
                }
            )
        for s in Street.objects.order_by("id"):
            features.append(
                {
                    "type": "Feature",
                    "geometry": mapping(wkt.loads(s.line)),
                    "properties": {"layer": "street", "name": s.name},
                }
            )
        return {"type": "FeatureCollection", "features": features}

    return memo.remember(("places.base_map",), load)
