"""NENA EIDO (NENA-STA-021, JSON): an incident as an Emergency Incident Data Object, out and in.

`incident_eido(i)` writes the document another center reads; `eido_import(actor=…, doc=…)` takes one from
another center: a new tracking id is an intake (services.incident_intake), a known one a correction of the
incident it made (services.incident_correct), so an import is checked, logged, clocked and pushed like a
call typed in. The mapping (codes, registries, what is left out) is docs/eido.md; the schema the documents
are checked against is schemas/eido.schema.json.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jsonschema
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from command_center import orgs
from command_center.errors import Refused
from command_center.models import Category, Role

from . import services
from .models import Incident, Source, State

SCHEMA_PATH = Path(__file__).with_name("schemas") / "eido.schema.json"
SHANGHAI = ZoneInfo("Asia/Shanghai")
# Who may take another center's incident in: the command center's desk (API tokens act as their user).
IMPORT_ROLES = [Role.CALL_TAKER, Role.DUTY_OFFICER, Role.COMMANDER]

# The top level of the category code (AA0000) → NENA's Emergency Incident Type registry. The full code and
# its name travel as the internal code and text; a center of this project imports by the internal code.
TYPE_REGISTRY = {
    "01": "Law.Crime",
    "02": "Law.PublicOrder",
    "03": "Law.Traffic",
    "04": "Fire",
    "05": "Law.Assist",
    "06": "Law.Dispute",
    "07": "Law.Complaint",
    "08": "Rescue.Disaster",
    "09": "Other.NonPolice",
    "10": "Other",
}

# The incident's state → NENA's incident status registry; the national handling-status code (01–07) goes
# along as the internal code.
STATUS_REGISTRY = {
    State.RECEIVED: "Received",
    State.DISPATCHED: "Dispatched",
    State.RESPONDING: "Enroute",
    State.SELF_HANDLED: "OnScene",
    State.ON_SCENE: "OnScene",
    State.SCENE_CLEARED: "Cleared",
    State.CLOSED: "Closed",
    State.DIVERTED: "Transferred",
    State.MERGED: "Merged",
    State.INVALID: "Cancelled",
}


def domain() -> str:
    """This center's domain in EIDO's identifiers (`urn:emergency:uid:<kind>:<id>:<domain>`)."""
    return str(getattr(settings, "EIDO_DOMAIN", "cc.police.local"))


def urn(kind: str, ident: str) -> str:
    return f"urn:emergency:uid:{kind}:{ident}:{domain()}"


def stamp(at: datetime) -> str:
    """EIDO's timestamps: ISO 8601 to the second, in Beijing time with its offset."""
    return at.astimezone(SHANGHAI).replace(microsecond=0).isoformat()


def tracking_id(i: Incident) -> str:
    """The id every center knows the incident by: the one it came with, or ours, made from its number."""
    return i.eido_tracking_id or urn("incidentid", i.number)


@cache
def schema() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return data


def validate(doc: Any) -> None:
    """Refuse (400, under the failing field's path) a document the schema does not accept."""
    validator = jsonschema.Draft202012Validator(schema())
    error = jsonschema.exceptions.best_match(validator.iter_errors(doc))
    if error is not None:
        where = ".".join(str(p) for p in error.absolute_path) or "eido"
        raise Refused(where, _("Not a valid EIDO document: %(error)s") % {"error": error.message[:200]})


# --- Out ------------------------------------------------------------------------------------------------


def incident_eido(i: Incident, *, now: datetime) -> dict[str, Any]:
    """The incident as an EIDO: one incident, its call, its location, the responsible agency, the narrative."""
    agency = i.org
    incident: dict[str, Any] = {
        "componentIdentifier": "incident",
        "incidentTrackingIdentifier": tracking_id(i),
        "lastUpdateTimeStamp": stamp(now),
        "updatedByAgencyReference": "$ref:agency",
        "incidentTypeCommonRegistryText": TYPE_REGISTRY.get(i.category_id[:2], "Other"),
        "incidentTypeInternalCode": i.category_id,
        "incidentTypeInternalText": i.category.name,
        "incidentCommonPriorityNumber": i.level,
        "incidentStatusCommonRegistryText": STATUS_REGISTRY[State(i.state)],
        "incidentStatusInternalCode": i.state_code or i.state,
        "incidentInternalIdentifier": i.number,
        "locationReference": "$ref:location",
        "callReference": ["$ref:call"],
        "notesReference": ["$ref:note"] if i.narrative else [],
    }
    location: dict[str, Any] = {"componentIdentifier": "location", "civicAddressText": i.address}
    if i.lat is not None and i.lon is not None:
        location["locationByValue"] = {"type": "Point", "coordinates": [round(i.lon, 6), round(i.lat, 6)]}
    doc: dict[str, Any] = {
        "$id": urn("eidoid", uuid.uuid4().hex),
        "eidoMessageIdentifier": urn("eidomessageid", uuid.uuid4().hex),
        "lastUpdateTimeStamp": stamp(now),
        "sendingSystemIdentifier": domain(),
        "incidentComponent": [incident],
        "callComponent": [
            {
                "componentIdentifier": "call",
                # Imported: the call id it came with, so a second export says the same.
                "callTrackingIdentifier": i.call_id if i.eido_tracking_id else urn("callid", i.call_id)[:64],
                "callTypeInternalCode": i.source,
                "callStartTimeStamp": stamp(i.reported_at),
                "callAnswerTimeStamp": stamp(i.answered_at),
            }
        ],
        "locationComponent": [location],
        "agencyComponent": [
            {
                "componentIdentifier": "agency",
                "agencyIdentifier": urn("agencyid", agency.region_code or f"org{agency.pk}"),
                "agencyName": agency.name,
            }
        ],
        "notesComponent": (
            [{"componentIdentifier": "note", "noteDateTimeStamp": stamp(i.reported_at), "noteText": i.narrative}]
            if i.narrative
            else []
        ),
    }
    return doc


# --- In -------------------------------------------------------------------------------------------------


def _one(doc: dict[str, Any], component: str, ref: Any, field: str) -> dict[str, Any] | None:
    """The component a `$ref:<id>` names (or the first of its kind when there is no reference)."""
    rows = doc.get(component) or []
    if not ref:
        return rows[0] if rows else None
    ident = str(ref).removeprefix("$ref:")
    for row in rows:
        if row.get("componentIdentifier") == ident:
            return dict(row)
    raise Refused(field, _("No %(component)s with this componentIdentifier.") % {"component": component})


def _time(raw: Any, field: str) -> datetime | None:
    if raw is None:
        return None
    try:
        at = parse_datetime(str(raw))
    except (ValueError, OverflowError):  # well-formed but no such time (month 13, offset +25:00)
        at = None
    if at is None or at.tzinfo is None:
        raise Refused(field, _("A time with its offset, e.g. 2026-01-01T08:00:00+08:00."))
    return at


def eido_parse(doc: Any) -> dict[str, Any]:
    """Check a document against the schema and our code tables; return what the incident's services take."""
    validate(doc)
    inc = doc["incidentComponent"][0]
    code = str(inc.get("incidentTypeInternalCode") or "")
    category = Category.objects.filter(code=code).first() if re.fullmatch(r"[0-9]{6}", code) else None
    if category is None:
        raise Refused(
            "incidentComponent.0.incidentTypeInternalCode", _("Give a category code (AABBCC) of the code table.")
        )
    level = inc.get("incidentCommonPriorityNumber", 3)
    if not 1 <= level <= 4:
        raise Refused("incidentComponent.0.incidentCommonPriorityNumber", _("The incident level is 1 to 4."))
    call = _one(doc, "callComponent", (inc.get("callReference") or [None])[0], "incidentComponent.0.callReference")
    if call is None:
        raise Refused("callComponent", _("The call the incident came from is missing."))
    source = call.get("callTypeInternalCode") or Source.PHONE_110
    if source not in Source.values:
        raise Refused("callComponent.0.callTypeInternalCode", _("Not a known source of incidents."))
    location = _one(doc, "locationComponent", inc.get("locationReference"), "incidentComponent.0.locationReference")
    address = (location or {}).get("civicAddressText", "").strip()
    if not address:
        raise Refused("locationComponent.0.civicAddressText", _("The incident's address is missing."))
    point = (location or {}).get("locationByValue")
    lon, lat = point["coordinates"] if point else (None, None)
    notes = [
        n.get("noteText", "")
        for ref in inc.get("notesReference") or []
        if (n := _one(doc, "notesComponent", ref, "incidentComponent.0.notesReference"))
    ]
    agency = _one(
        doc, "agencyComponent", inc.get("updatedByAgencyReference"), "incidentComponent.0.updatedByAgencyReference"
    )
    return {
        "tracking_id": inc["incidentTrackingIdentifier"],
        "call_id": call["callTrackingIdentifier"],
        "source": source,
        "category": category,
        "level": level,
        "address": address,
        "lat": lat,
        "lon": lon,
        "narrative": "\n\n".join(notes),
        "reported_at": _time(call.get("callStartTimeStamp"), "callComponent.0.callStartTimeStamp"),
        "answered_at": _time(call.get("callAnswerTimeStamp"), "callComponent.0.callAnswerTimeStamp"),
        "agency": (agency or {}).get("agencyName") or (agency or {}).get("agencyIdentifier", ""),
    }


# Where in the document each field of the intake comes from: the intake's own checks (api.IntakeSerializer:
# lengths, the region's bounds, the time window) answer under these paths.
PATHS = {
    "call_id": "callComponent.0.callTrackingIdentifier",
    "source": "callComponent.0.callTypeInternalCode",
    "reported_at": "callComponent.0.callStartTimeStamp",
    "answered_at": "callComponent.0.callAnswerTimeStamp",
    "address": "locationComponent.0.civicAddressText",
    "lat": "locationComponent.0.locationByValue.coordinates",
    "lon": "locationComponent.0.locationByValue.coordinates",
    "category": "incidentComponent.0.incidentTypeInternalCode",
    "level": "incidentComponent.0.incidentCommonPriorityNumber",
    "narrative": "notesComponent",
}


def intake_body(data: dict[str, Any]) -> dict[str, Any]:
    """What the intake API would be given for this document (api.IntakeSerializer checks it)."""
    body = {k: data[k] for k in PATHS}
    body["category"] = data["category"].pk
    for k in ("reported_at", "answered_at"):
        body[k] = data[k].isoformat() if data[k] else None
    return body


def eido_import(*, actor: Any, data: dict[str, Any]) -> tuple[Incident, bool]:
    """Take another center's incident (`data` from eido_parse, checked as an intake): (incident, created).

    A tracking id seen before updates the incident it made (category, level, address, position, narrative,
    each a Correction with the sending agency as the reason; nothing differing is no change). A new one is
    an intake at the actor's desk, routed like a call, with the tracking id stored in the same transaction;
    two imports of the same new id at once make one incident (the unique tracking id decides, the loser
    reads the winner's row and updates it)."""
    person = orgs.person_of(actor)
    if not getattr(actor, "is_superuser", False) and (person is None or not person.has_role(*IMPORT_ROLES)):
        raise PermissionDenied(_("Your role does not allow this action."))
    existing = _known(data["tracking_id"])
    if existing is None:
        try:
            return _create(actor, data)
        except IntegrityError:
            existing = Incident.objects.filter(eido_tracking_id=data["tracking_id"]).first()
            if existing is None:
                raise
    return _update(actor, existing, data), False


def _known(tracking: str) -> Incident | None:
    """The incident a tracking id names here: one imported with it, or our own (our domain, its number)."""
    found = Incident.objects.filter(eido_tracking_id=tracking).first()
    prefix, suffix = "urn:emergency:uid:incidentid:", f":{domain()}"
    if found is None and tracking.startswith(prefix) and tracking.endswith(suffix):
        found = Incident.objects.filter(number=tracking.removeprefix(prefix).removesuffix(suffix)).first()
    return found


@transaction.atomic
def _create(actor: Any, data: dict[str, Any]) -> tuple[Incident, bool]:
    intake = services.IntakeData(
        call_id=data["call_id"],
        source=data["source"],
        address=data["address"],
        category=data["category"],
        level=data["level"],
        lat=data["lat"],
        lon=data["lon"],
        narrative=data["narrative"],
        reported_at=data["reported_at"],
        answered_at=data["answered_at"],
    )
    incident, created = services.incident_intake(actor=actor, data=intake)
    if not created and incident.eido_tracking_id != data["tracking_id"]:
        raise Refused(
            "callComponent.0.callTrackingIdentifier", _("This call id was already used for another incident.")
        )
    Incident.objects.filter(pk=incident.pk).update(eido_tracking_id=data["tracking_id"])
    incident.eido_tracking_id = data["tracking_id"]
    return incident, created


def _update(actor: Any, incident: Incident, data: dict[str, Any]) -> Incident:
    try:
        services.incident_correct(
            incident_id=incident.pk,
            actor=actor,
            reason=(_("EIDO update from %(agency)s") % {"agency": data["agency"]})[:200],
            category=data["category"],
            level=data["level"],
            address=data["address"],
            lat=data["lat"],
            lon=data["lon"],
            narrative=data["narrative"],
        )
    except Refused as e:
        if e.field != "reason":  # "nothing differs": the same document again changes nothing
            raise
    return Incident.objects.select_related("category", "org").get(pk=incident.pk)
