"""Scoring a post, offline, in the ingest's transaction (docs: README, 网情): polarity from the active model
(classifier.py), police relevance (涉警) with the terms that made it, topics mapped to the incident
categories, places found in the text and the org that owns them, and a risk colour.

The lexicons are data (sentiment/fixtures/*.csv, read once per process); the gazetteer and the org tree are
read through the per-process memory (command_center/memo.py), so a renamed org or a new POI is seen within
a minute.

Risk, one rule:
- red: police-related and a red term (命案, 持刀, 聚集, 暴力执法 …: grave whatever the tone), or police-related,
  negative and a reach (reposts + comments + likes) of at least RED_REACH;
- yellow: police-related and negative;
- blue: police-related, or negative on a topic the incident categories know;
- none otherwise.
A post is flagged when it has a colour or it matched a watch list.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from command_center import codes, memo
from command_center.models import Org
from places import selectors as places
from places.models import Place, Street

from . import classifier
from .models import Risk
from .text import Terms

FIXTURES = Path(__file__).resolve().parent / "fixtures"
RED_REACH = 1000
_ORG_SUFFIXES = ("公安分局", "分局", "公安局", "派出所", "警务室", "警务站", "社区", "村委会", "村")


@dataclass
class Scored:
    polarity: str
    polarity_score: float
    police: bool
    police_terms: list[str]
    categories: list[str]
    category: str
    topic_terms: list[str]
    places: list[dict[str, Any]]
    org_id: int | None
    risk: str
    model: str
    red_terms: list[str] = field(default_factory=list)


def _csv(name: str) -> list[dict[str, str]]:
    with (FIXTURES / name).open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


@cache
def police_terms() -> Terms:
    return Terms(r["term"] for r in _csv("police_terms.csv"))


@cache
def red_terms() -> Terms:
    return Terms(r["term"] for r in _csv("red_terms.csv"))


@cache
def _topic_rows() -> dict[str, str]:
    return {r["term"].lower(): r["category"] for r in _csv("topics.csv")}


@cache
def topic_terms() -> Terms:
    return Terms(_topic_rows())


def default_sources() -> list[dict[str, str]]:
    return _csv("sources.csv")


# --- Places ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlaceIndex:
    terms: Terms
    orgs: dict[str, int]  # name (lower case) -> the org that owns it
    names: dict[int, str]  # org id -> its name


def _short(name: str) -> str:
    for suffix in _ORG_SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


def _load_places() -> PlaceIndex:
    owners: dict[str, int] = {}
    names: dict[int, str] = {}
    for org in Org.objects.filter(kind=Org.Kind.POLICE).exclude(level__in=[Org.Level.PROVINCE, Org.Level.CITY]):
        names[org.pk] = org.name
        for n in {org.name, _short(org.name)}:
            if len(n) >= 2:
                owners.setdefault(n.lower(), org.pk)
    for street in Street.objects.only("name", "aliases", "line"):
        coords = street.line.split("(", 1)[-1].split(",", 1)[0].split()
        try:
            lon, lat = float(coords[0]), float(coords[1])
        except (IndexError, ValueError):
            continue
        owner = places.owning_org(lat, lon)
        if owner is None:
            continue
        names[owner.pk] = owner.name
        for n in [street.name, *street.aliases]:
            if len(n) >= 2:
                owners.setdefault(n.lower(), owner.pk)
    for p in Place.objects.filter(kind=Place.Kind.POI).only("name", "aliases", "lat", "lon")[:20_000]:
        owner = places.owning_org(p.lat, p.lon)
        if owner is None:
            continue
        names[owner.pk] = owner.name
        for n in [p.name, *p.aliases]:
            if len(n) >= 2:
                owners.setdefault(n.lower(), owner.pk)
    return PlaceIndex(Terms(owners), owners, names)


def place_index() -> PlaceIndex:
    return memo.remember(("sentiment.places",), _load_places)


def root_id() -> int:
    return memo.remember(("sentiment.root",), _root_id_fresh)


def _root_id_fresh() -> int:
    root = Org.objects.get_first_root_node()
    assert root is not None, "the org tree is empty"
    return int(root.pk)


def locate(text: str, place: str, lat: float | None, lon: float | None) -> tuple[list[dict[str, Any]], int | None]:
    """The places named in the text (and the source's place field) with their owning orgs, and the post's
    org: the point's owner when the source gives one, else the first place found's, else None."""
    index = place_index()
    found = index.terms.find(f"{place} {text}" if place else text)
    rows: list[dict[str, Any]] = [
        {"name": n, "org": index.orgs[n], "org_name": index.names.get(index.orgs[n], "")} for n in found
    ]
    if lat is not None and lon is not None:
        owner = places.owning_org(lat, lon)
        if owner is not None:
            return rows, int(owner.pk)
    return rows, (index.orgs[found[0]] if found else None)


# --- Topics --------------------------------------------------------------------------------------------------


def topics(text: str) -> tuple[list[str], list[str]]:
    """The incident categories the text's terms map to (active codes only, most specific kept once) and
    the terms."""
    terms = topic_terms().find(text)
    known = codes.active_categories()
    cats: list[str] = []
    for t in terms:
        code = _topic_rows()[t]
        if code in known and code not in cats:
            cats.append(code)
    return cats, terms


def main_topic(categories: Sequence[str]) -> str:
    """The category a post is counted under for spikes: its first topic, cut to the second level (盗窃, 诈骗)."""
    if not categories:
        return ""
    code = categories[0]
    return code[:4] + "00" if len(code) == 6 else code


# --- All of it -------------------------------------------------------------------------------------------


def risk_of(*, negative: bool, police: bool, red: bool, reach: int, topical: bool) -> str:
    if police and (red or (negative and reach >= RED_REACH)):
        return Risk.RED
    if police and negative:
        return Risk.YELLOW
    if police or (negative and topical):
        return Risk.BLUE
    return Risk.NONE


def score(items: Sequence[dict[str, Any]]) -> list[Scored]:
    """Score posts given as dicts with text, place, lat, lon and reach; one call to the model for all."""
    model = classifier.active()
    polarities = model.predict([i["text"] for i in items])
    out = []
    for item, (label, value) in zip(items, polarities, strict=True):
        text = item["text"]
        pterms = police_terms().find(text)
        reds = red_terms().find(text)
        cats, tterms = topics(text)
        found, org_id = locate(text, item.get("place") or "", item.get("lat"), item.get("lon"))
        out.append(
            Scored(
                polarity=label,
                polarity_score=round(float(value), 4),
                police=bool(pterms),
                police_terms=pterms,
                categories=cats,
                category=main_topic(cats),
                topic_terms=tterms,
                places=found,
                org_id=org_id,
                risk=risk_of(
                    negative=label == "negative",
                    police=bool(pterms),
                    red=bool(reds),
                    reach=int(item.get("reach") or 0),
                    topical=bool(cats),
                ),
                model=model.name,
                red_terms=reds,
            )
        )
    return out
