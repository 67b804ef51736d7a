"""The loader: a GeoJSON FeatureCollection into the gazetteer (`manage.py load_places FILE`).

Each feature names its layer in `properties.layer`:

- `street`: LineString; `name`, optional `aliases` (list), `from` and `to` (the house-number range);
- `address`: Point; `street` (a street's name), `number`, optional `name` (default 东湖路12号);
- `poi`: Point; `name`, optional `aliases`, `category`;
- `jurisdiction`: Polygon or MultiPolygon; `org` (an org's region code, or its name).

Idempotent: a feature updates the row with the same natural key (a street's name, a place's kind and name,
a jurisdiction's org) and creates it otherwise; rows the file does not name are left as they are. One
transaction: a file with an error loads nothing.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from command_center import memo
from command_center.models import Org

from .models import Jurisdiction, Place, Street

GEOMETRIES = {
    "street": {"LineString"},
    "address": {"Point"},
    "poi": {"Point"},
    "jurisdiction": {"Polygon", "MultiPolygon"},
}


def read_geojson(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValidationError(f"{path}: {exc}") from exc
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise ValidationError(f"{path}: not a GeoJSON FeatureCollection")
    return list(data.get("features") or [])


def _geometry(i: int, feature: dict[str, Any], layer: str) -> BaseGeometry:
    try:
        geom = shape(feature["geometry"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ValidationError(f"feature {i}: bad geometry ({exc})") from exc
    if geom.geom_type not in GEOMETRIES[layer]:
        raise ValidationError(f"feature {i}: a {layer} must be a {' or '.join(sorted(GEOMETRIES[layer]))}")
    if not geom.is_valid:
        raise ValidationError(f"feature {i}: invalid {geom.geom_type}")
    return geom


def _aliases(props: dict[str, Any]) -> list[str]:
    return [str(a) for a in props.get("aliases") or []]


@transaction.atomic
def places_load(*, features: list[dict[str, Any]]) -> dict[str, int]:
    """Load the features (module docstring). Returns how many of each layer were loaded."""
    counts: Counter[str] = Counter()
    orgs = {o.region_code: o for o in Org.objects.exclude(region_code="")}
    by_name = {o.name: o for o in Org.objects.all()}
    # Streets first: addresses name them.
    ordered = sorted(enumerate(features), key=lambda f: (f[1].get("properties") or {}).get("layer") != "street")
    for i, feature in ordered:
        props = feature.get("properties") or {}
        layer = props.get("layer")
        if layer not in GEOMETRIES:
            raise ValidationError(f"feature {i}: properties.layer must be one of {', '.join(GEOMETRIES)}")
        geom = _geometry(i, feature, layer)
        if layer == "street":
            Street.objects.update_or_create(
                name=str(props["name"]),
                defaults={
                    "aliases": _aliases(props),
                    "line": geom.wkt,
                    "from_number": props.get("from"),
                    "to_number": props.get("to"),
                },
            )
        elif layer == "address":
            street = Street.objects.filter(name=str(props.get("street", ""))).first()
            if street is None:
                raise ValidationError(f"feature {i}: no street named {props.get('street')!r}")
            number = int(props["number"])
            name = str(props.get("name") or f"{street.name}{number}号")
            Place.objects.update_or_create(
                kind=Place.Kind.ADDRESS,
                name=name,
                defaults={
                    "street": street,
                    "number": number,
                    "aliases": _aliases(props),
                    "lat": geom.y,
                    "lon": geom.x,
                },
            )
        elif layer == "poi":
            name = str(props["name"])
            Place.objects.update_or_create(
                kind=Place.Kind.POI,
                name=name,
                defaults={
                    "aliases": _aliases(props),
                    "category": str(props.get("category", "")),
                    "lat": geom.y,
                    "lon": geom.x,
                },
            )
        else:
            ref = str(props.get("org", ""))
            org = orgs.get(ref) or by_name.get(ref)
            if org is None:
                raise ValidationError(f"feature {i}: no org with region code or name {ref!r}")
            Jurisdiction.objects.update_or_create(org=org, defaults={"area": geom.wkt})
        counts[layer] += 1
    memo.forget()  # streets and the region changed too, which no signal announces
    return dict(counts)
