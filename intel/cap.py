"""OASIS CAP 1.2: a warning for the public, as the XML alert that broadcasters, screens and phones read.

Two kinds: a kept red hotspot (警情热点, intel.models.Hotspot) and a 网情 warning (sentiment.models.Warning).
Nothing is published by itself: a commander of the area asks for the alert (cap_api.py), and that is the
choice to give it out. The text is Chinese whatever the asker's language (the public reads Chinese), and
times are Beijing time with +08:00. Every alert is checked against OASIS's schema (schemas/CAP-v1.2.xsd)
in the tests; `validate()` does it at run time too.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from lxml import etree

from command_center import orgs
from command_center.models import Role
from sentiment.models import Warning as SentimentWarning

from . import hotspots
from .models import Colour, Hotspot

NS = "urn:oasis:names:tc:emergency:cap:1.2"
XSD_PATH = Path(__file__).with_name("schemas") / "CAP-v1.2.xsd"
SHANGHAI = ZoneInfo("Asia/Shanghai")
CONTENT_TYPE = "application/cap+xml; charset=utf-8"
# Colour → CAP severity. Only a red hotspot is published; a warning of any colour may be.
SEVERITY = {Colour.RED: "Severe", Colour.YELLOW: "Moderate", Colour.BLUE: "Minor", "": "Unknown"}
EXPIRES = timedelta(hours=24)
# Publishing to the public is a commander's call.
PUBLISH_ROLES = [Role.COMMANDER]


def can_publish(user: Any) -> bool:
    if getattr(user, "is_superuser", False):
        return True
    person = orgs.person_of(user)
    return person is not None and person.has_role(*PUBLISH_ROLES)


def sender() -> str:
    """Who sends the alerts: this center's domain (settings.CAP_SENDER)."""
    return str(getattr(settings, "CAP_SENDER", getattr(settings, "EIDO_DOMAIN", "cc.police.local")))


def stamp(at: datetime) -> str:
    """CAP's time: to the second, with the offset (+08:00), never 'Z'."""
    return at.astimezone(SHANGHAI).replace(microsecond=0).isoformat()


@cache
def _schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD_PATH)))


def validate(xml: bytes) -> list[str]:
    """The schema's complaints about an alert (none: valid)."""
    schema = _schema()
    ok = schema.validate(etree.fromstring(xml))
    return [] if ok else [str(e) for e in schema.error_log]


def _add(parent: Any, tag: str, text: str | None = None) -> Any:
    el = etree.SubElement(parent, f"{{{NS}}}{tag}")
    if text is not None:
        el.text = text
    return el


def _alert(
    *,
    identifier: str,
    now: datetime,
    event: str,
    severity: str,
    urgency: str,
    certainty: str,
    sender_name: str,
    headline: str,
    description: str,
    instruction: str,
    area: str,
    polygon: str = "",
) -> bytes:
    root = etree.Element(f"{{{NS}}}alert", nsmap={None: NS})
    for tag, text in (
        ("identifier", identifier),
        ("sender", sender()),
        ("sent", stamp(now)),
        ("status", "Actual"),
        ("msgType", "Alert"),
        ("scope", "Public"),
    ):
        _add(root, tag, text)
    info = _add(root, "info")
    for tag, text in (
        ("language", "zh-CN"),
        ("category", "Security"),
        ("event", event),
        ("responseType", "Monitor"),
        ("urgency", urgency),
        ("severity", severity),
        ("certainty", certainty),
        ("effective", stamp(now)),
        ("expires", stamp(now + EXPIRES)),
        ("senderName", sender_name),
        ("headline", headline[:160]),
        ("description", description),
        ("instruction", instruction),
    ):
        _add(info, tag, text)
    a = _add(info, "area")
    _add(a, "areaDesc", area)
    if polygon:
        _add(a, "polygon", polygon)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def _cell_polygon(cell: int) -> str:
    """A grid cell as CAP's polygon: 'lat,lon' pairs, the first point again at the end."""
    south, west, north, east = hotspots.cell_bounds(cell)
    points = [(south, west), (north, west), (north, east), (south, east), (south, west)]
    return " ".join(f"{lat:.6f},{lon:.6f}" for lat, lon in points)


def hotspot_alert(h: Hotspot, *, now: datetime) -> bytes:
    """A kept red hotspot: where, what, how many against the baseline; to be careful there."""
    with translation.override("zh-hans"):
        where = hotspots.where_words(h)
        category = hotspots.category_words(h.category)
        last = h.end - timedelta(days=1)
        period = f"{h.start:%Y-%m-%d}" if last == h.start else f"{h.start:%Y-%m-%d}—{last:%Y-%m-%d}"
        return _alert(
            identifier=f"{sender()}.hotspot.{h.pk}",
            now=now,
            event=_("Incident hotspot"),
            severity=SEVERITY.get(h.colour, "Unknown"),
            urgency="Expected",
            certainty="Likely",
            sender_name=h.scope.name,
            headline=_("%(where)s: %(category)s hotspot") % {"where": where, "category": category},
            description=hotspots.why(category=category, period=period, count=h.count, mean=h.mean, sd=h.sd),
            instruction=_("Take care in this area and keep your belongings safe. In an emergency, call 110."),
            area=where,
            polygon=_cell_polygon(h.cell) if h.area == Hotspot.Area.CELL and h.cell else "",
        )


def warning_alert(w: SentimentWarning, *, now: datetime) -> bytes:
    """A 网情 warning: its reason, in its org's area; not to believe or pass on rumours."""
    with translation.override("zh-hans"):
        return _alert(
            identifier=f"{sender()}.sentiment-warning.{w.pk}",
            now=now,
            event=_("Online sentiment warning"),
            severity=SEVERITY.get(w.colour, "Unknown"),
            urgency="Immediate",
            certainty="Possible",
            sender_name=w.org.name,
            headline=_("Online sentiment warning: %(org)s") % {"org": w.org.name},
            description=w.reason,
            instruction=_(
                "Follow the police's official announcements; do not believe or pass on rumours. "
                "In an emergency, call 110."
            ),
            area=w.org.name,
        )
