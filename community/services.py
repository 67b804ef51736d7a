"""Every write of 社情: the volunteer's report, the station's triage (four outcomes), the points ledger.

A report is submitted by its volunteer only; it starts the triage clock (`community.triage`, due after its
category's `triage_within_s`), which the triage meets. Triage is a station's (or a desk above it): one
outcome per report, on a locked row, so two officers triaging at once get one success and one 409.

- make an incident: the incidents app's intake (source `volunteer`, call id `volunteer-<report>`, the
  category's incident category, the report's place), linked both ways (report.incident; the incident page
  shows the report through screens.provide_panel);
- task: a directive of the loop (intel) from the station to the volunteer's community (or the station itself
  when the volunteer has none), issued on the station's behalf (`directive_issue_for`), optionally handed to
  the community officer (社区民警, `task_assign`): the community's task runs the loop's clocks (sign, report),
  reminders, 督办 and review like any other, so nothing of the loop is built twice;
- forward: to a community under the station or a partner agency, recorded on the report and pushed to the
  target org (incidents' diversion is the command center's step: a station officer may not divert);
- close: with a reason (a duplicate, nothing found, not police business).

Each outcome earns the volunteer the points its rule (PointsRule, data) names, once per (report, event).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from command_center import clocks, orgs, realtime, transitions
from command_center.audit import log_transition
from command_center.errors import Refused
from command_center.models import Category, Org, Person, Role
from incidents import services as incident_services
from incidents.models import Source
from intel import files as loop_files
from intel import services as intel_services
from intel.models import Task

from . import payloads
from .models import (
    Kind,
    PointsEntry,
    PointsEvent,
    PointsRule,
    ReportCategory,
    ReportPhoto,
    Volunteer,
    VolunteerReport,
)
from .transitions import REPORT, TRIAGE_EVENTS, Event

CLOCK_TRIAGE = "community.triage"
# Who triages: the station's officers, and the desks above it.
TRIAGE_ROLES = [Role.STATION_OFFICER, Role.DUTY_OFFICER, Role.COMMANDER]
PHOTO_TYPES = ("image/jpeg", "image/png", "image/gif")
MAX_TEXT = 2000


def register_clocks() -> None:
    clocks.register(CLOCK_TRIAGE, label=gettext_lazy("Triage due"))


def _changed(r: VolunteerReport, event: str) -> None:
    realtime.broadcast_on_commit(r.org, f"community.report.{event}", payloads.report_payload(r))


# --- Points ---------------------------------------------------------------------------------------------


def points_award(r: VolunteerReport, event: str) -> PointsEntry | None:
    """Give the report's volunteer the points of `event` once (the unique (report, event) decides); the
    volunteer's total moves in the same transaction. Called by the services below, inside theirs."""
    rule = PointsRule.objects.filter(event=event).first()
    points = rule.points if rule else 0
    entry, created = PointsEntry.objects.get_or_create(
        report=r, event=event, defaults={"volunteer_id": r.volunteer_id, "points": points, "at": timezone.now()}
    )
    if not created:
        return None
    if points:
        Volunteer.objects.filter(pk=r.volunteer_id).update(points=F("points") + points)
    return entry


# --- The volunteer's report -----------------------------------------------------------------------------


@dataclass
class ReportData:
    kind: str
    category: str
    text: str
    lat: float | None = None
    lon: float | None = None
    accuracy_m: float | None = None
    located_by: str = ""
    address: str = ""
    anonymous_to_public: bool = False
    photos: Sequence[UploadedFile] = field(default_factory=list)


def volunteer_of(actor: Any) -> Volunteer:
    person = orgs.person_of(actor)
    v = Volunteer.objects.select_related("station", "community").filter(person=person, active=True).first()
    if person is None or v is None or not person.has_role(Role.VOLUNTEER):
        raise Refused("volunteer", _("Only a registered volunteer may report here."))
    return v


def _check_photos(photos: Sequence[UploadedFile]) -> list[loop_files.CheckedFile]:
    if len(photos) > settings.COMMUNITY_MAX_PHOTOS:
        raise Refused("photos", _("At most %(n)d photos.") % {"n": settings.COMMUNITY_MAX_PHOTOS})
    checked = loop_files.check_uploads(photos, field="photos")
    for c in checked:
        if c.content_type not in PHOTO_TYPES:
            raise Refused("photos", _("%(name)s is not a photo.") % {"name": c.name})
    return checked


@transaction.atomic
def report_submit(*, actor: Any, data: ReportData) -> VolunteerReport:
    """A volunteer's hazard or clue: checked, stored with its photos and its log row, the triage clock
    started, the points for submitting given, the station told."""
    v = volunteer_of(actor)
    if data.kind not in Kind.values:
        raise Refused("kind", _("Choose a hazard or a clue."))
    category = ReportCategory.objects.filter(code=data.category, active=True, kind=data.kind).first()
    if category is None:
        raise Refused("category", _("Choose a category of this kind."))
    text = data.text.strip()
    if not text:
        raise Refused("text", _("Say what you saw."))
    if len(text) > MAX_TEXT:
        raise Refused("text", _("At most %(n)d characters.") % {"n": MAX_TEXT})
    if (data.lat is None) != (data.lon is None):
        raise Refused("lat", _("Give both latitude and longitude, or neither."))
    if data.lat is not None and data.lon is not None:
        if not (-90 <= data.lat <= 90):
            raise Refused("lat", _("Latitude lies between -90 and 90."))
        if not (-180 <= data.lon <= 180):
            raise Refused("lon", _("Longitude lies between -180 and 180."))
        if data.located_by not in (VolunteerReport.Located.GPS, VolunteerReport.Located.MAP):
            raise Refused("located_by", _("Say whether the place came from the phone's GPS or the map."))
    located_by = data.located_by if data.lat is not None else ""
    checked = _check_photos(data.photos)
    now = timezone.now()
    r = VolunteerReport.objects.create(
        volunteer=v,
        org=v.station,
        community=v.community,
        kind=data.kind,
        category=category,
        text=text,
        address=data.address.strip()[:200],
        lat=data.lat,
        lon=data.lon,
        accuracy_m=data.accuracy_m if data.lat is not None else None,
        located_by=located_by,
        anonymous_to_public=data.anonymous_to_public,
        submitted_at=now,
        triage_due_at=now + timedelta(seconds=category.triage_within_s),
    )
    log_transition(r, from_state="", to_state=r.state, event=Event.SUBMIT, actor=actor)
    for c in checked:
        p = ReportPhoto(
            report=r, name=c.name, content_type=c.content_type, size=c.size, sha256=c.sha256, uploaded_at=now
        )
        p.file.save(c.name, c.upload, save=False)
        p.save()
    clocks.start(r, CLOCK_TRIAGE, due=r.triage_due_at, org=r.org)
    points_award(r, PointsEvent.SUBMITTED)
    _changed(r, "submitted")
    return r


# --- Triage ---------------------------------------------------------------------------------------------


def _triage(report_id: int, actor: Any, event: str, *, reason: str = "") -> VolunteerReport:
    """Lock, check (403 before 409), step, meet the clock. The caller adds the outcome's link and saves."""
    r = transitions.lock(VolunteerReport, report_id, related=["org", "volunteer", "category"])
    orgs.require(actor, r.org, roles=TRIAGE_ROLES)
    transitions.apply(r, REPORT, event, actor, reason=reason, offer=TRIAGE_EVENTS)
    r.triaged_at = timezone.now()
    r.triaged_by = actor if getattr(actor, "pk", None) else None
    r.reason = reason
    clocks.meet(r, CLOCK_TRIAGE)
    return r


def _finish(r: VolunteerReport, points: str, *fields: str) -> VolunteerReport:
    transitions.save(r, "triaged_at", "triaged_by", "reason", *fields)
    points_award(r, points)
    _changed(r, "triaged")
    return r


def _address(r: VolunteerReport) -> str:
    """What the incident's address says: the volunteer's words, else the point, else their community."""
    if r.address:
        return r.address
    if r.lat is not None and r.lon is not None:
        return f"{r.lat:.5f},{r.lon:.5f}"
    return (r.community or r.org).name


@transaction.atomic
def report_make_incident(
    *, report_id: int, actor: Any, category: Category | None = None, level: int = 3, note: str = ""
) -> VolunteerReport:
    """Make an incident of the report (intake by the incidents app, source volunteer), linked both ways."""
    r = _triage(report_id, actor, Event.MAKE_INCIDENT, reason=note)
    cat = category or r.category.incident_category
    person = r.volunteer.person
    narrative = r.text if not note else f"{r.text}\n\n{note}"
    incident, _created = incident_services.incident_intake(
        actor=actor,
        data=incident_services.IntakeData(
            call_id=f"volunteer-{r.pk}",
            source=Source.VOLUNTEER,
            address=_address(r),
            category=cat,
            level=level,
            caller_phone=r.volunteer.phone or person.phone,
            caller_name=str(person),
            lat=r.lat,
            lon=r.lon,
            narrative=narrative,
            org=r.org,
            reported_at=r.submitted_at,
        ),
    )
    r.incident = incident
    return _finish(r, PointsEvent.INCIDENT, "incident")


@transaction.atomic
def report_task(
    *, report_id: int, actor: Any, note: str = "", actions: Sequence[str] = (), assignee: Person | None = None
) -> VolunteerReport:
    """交 the report to the community: a directive of the loop from the station to the volunteer's community
    (the station's own task when the volunteer has none), on the station's behalf; with `assignee`, the
    community's task is handed to that officer (社区民警, intel.services.task_assign checks who may carry it)."""
    r = _triage(report_id, actor, Event.TASK, reason=note)
    target = r.community or r.org
    d = intel_services.directive_issue_for(
        actor=actor,
        issuer_org=r.org,
        data=intel_services.DirectiveData(
            title=_("Volunteer report: %(category)s") % {"category": r.category.name},
            content=r.text if not note else f"{r.text}\n\n{note}",
            recipients=[target],
            actions=list(actions) or [_("Check on the spot and report back")],
        ),
    )
    r.directive = d
    if assignee is not None:
        task = Task.objects.get(carried__directive=d, org=target)
        intel_services.task_assign(task_id=task.pk, actor=actor, assignee=assignee)
    return _finish(r, PointsEvent.TASKED, "directive")


@transaction.atomic
def report_forward(*, report_id: int, actor: Any, target: Org, note: str = "") -> VolunteerReport:
    """Hand the report to a community under the station or a partner agency; the target is told."""
    r = _triage(report_id, actor, Event.FORWARD, reason=note)
    if target.kind != Org.Kind.PARTNER and (target.level != Org.Level.COMMUNITY or not r.org.contains(target)):
        raise Refused("target", _("Forward to a community of this station or a partner agency."))
    r.forwarded_to = target
    _finish(r, PointsEvent.FORWARDED, "forwarded_to")
    if target.kind == Org.Kind.PARTNER:
        # A partner's group hears it without the volunteer's name and number. A community's group is not
        # told: its volunteers listen on it (the board socket takes anyone of the org).
        realtime.broadcast_on_commit(
            target, "community.report.forwarded", {**payloads.report_payload(r), "volunteer": None}
        )
    return r


@transaction.atomic
def report_close(*, report_id: int, actor: Any, reason: str) -> VolunteerReport:
    """Close without further work, with the reason the volunteer reads."""
    reason = reason.strip()
    if not reason:
        raise Refused("reason", _("Say why the report is closed."))
    r = _triage(report_id, actor, Event.CLOSE, reason=reason)
    return _finish(r, PointsEvent.CLOSED)


# --- Code tables ----------------------------------------------------------------------------------------

DEFAULT_CATEGORIES = [
    # code, name, kind, incident category, triage within (s)
    ("fire_hazard", "消防隐患", Kind.HAZARD, "040500", 1800),
    ("road_hazard", "道路交通隐患", Kind.HAZARD, "030500", 1800),
    ("facility_hazard", "设施安全隐患", Kind.HAZARD, "090200", 1800),
    ("dispute_hazard", "矛盾纠纷", Kind.HAZARD, "060800", 1800),
    ("crime_clue", "违法犯罪线索", Kind.CLUE, "070100", 900),
    ("vice_clue", "涉黄涉赌线索", Kind.CLUE, "070200", 900),
    ("suspicious_clue", "可疑人员/车辆", Kind.CLUE, "020900", 900),
]
DEFAULT_POINTS = {
    PointsEvent.SUBMITTED: 1,
    PointsEvent.INCIDENT: 5,
    PointsEvent.TASKED: 3,
    PointsEvent.FORWARDED: 2,
    PointsEvent.CLOSED: 0,
}


def load_defaults(*, update: bool = False) -> dict[str, tuple[int, int]]:
    """The report categories and the points rules (load_codes). Existing rows are kept unless `update`."""
    made = changed = 0
    cats = {c.code: c for c in Category.objects.filter(code__in=[row[3] for row in DEFAULT_CATEGORIES])}
    for i, (code, name, kind, incident_code, within) in enumerate(DEFAULT_CATEGORIES):
        if incident_code not in cats:
            continue
        values = {"name": name, "kind": kind, "incident_category": cats[incident_code], "triage_within_s": within}
        values["ordering"] = i
        if update:
            _row, created = ReportCategory.objects.update_or_create(code=code, defaults=values)
            made, changed = made + created, changed + (not created)
        else:
            _row, created = ReportCategory.objects.get_or_create(code=code, defaults=values)
            made += created
    rules_made = rules_changed = 0
    for event, points in DEFAULT_POINTS.items():
        if update:
            _r, created = PointsRule.objects.update_or_create(event=event, defaults={"points": points})
            rules_made, rules_changed = rules_made + created, rules_changed + (not created)
        else:
            _r, created = PointsRule.objects.get_or_create(event=event, defaults={"points": points})
            rules_made += created
    return {"report categories": (made, changed), "points rules": (rules_made, rules_changed)}
