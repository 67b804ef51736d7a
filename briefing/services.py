"""Writes of the briefing: the morning report (draft, edit, publish) and the station's duty log (notes,
handover, sign). One transaction each; roles and scope checked here.

Report steps:
- `report_draft` (beat, or an analyst by hand): the sections' snapshot is computed outside any lock, then
  a new report is inserted — a second run, or a second worker at once, meets the unique (org, day) and
  finds the first. An existing draft is re-drafted: its figures are refreshed; its text is replaced only if
  nobody edited it yet (`edited_at` empty) — an analyst's edits are never overwritten, and the page shows
  the fresh figures beside them. A published report is left as it is.
- `report_save` (analyst): the text, against the version the editor loaded; a stale one is refused (409,
  `StaleVersion`) so two editors never overwrite each other silently.
- `report_publish` (commander of the org or above): draft → published; a published report no longer changes.

Duty log steps: `duty_log_for` generates (or refreshes, while open) the station's log of a day from its
rows; notes and handover text are added while it is open; `duty_log_sign` freezes it — a second sign, or
two at once, finds it signed (409).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from command_center import orgs, transitions
from command_center.errors import Refused
from command_center.models import Org, Role

from . import dutylog, sections
from .models import DailyReport, DutyLog, DutyNote, ReportSchedule
from .transitions import DUTY, REPORT, Event

EDIT_ROLES = [Role.ANALYST, Role.COMMANDER]
PUBLISH_ROLES = [Role.COMMANDER]
DUTY_ROLES = [Role.STATION_OFFICER, Role.DUTY_OFFICER, Role.COMMANDER]
REPORT_LEVELS = (Org.Level.CITY, Org.Level.COUNTY)
MAX_BODY = 50000
MAX_NOTE = 2000


class StaleVersion(Exception):
    """The text was saved by someone else since the editor loaded it (409 with the current version)."""

    def __init__(self, current: int):
        super().__init__(current)
        self.current = current


def reporting_orgs() -> list[Org]:
    """The orgs that get a morning report: police cities and counties."""
    return list(Org.objects.filter(kind=Org.Kind.POLICE, level__in=REPORT_LEVELS).order_by("path"))


def title_of(org: Org, day: date) -> str:
    return _("%(org)s daily report (三情研判) %(day)s") % {"org": org.name, "day": day.isoformat()}


def report_draft(*, org: Org, day: date, actor: Any = None) -> DailyReport:
    """The draft of `org`'s report on `day` (yesterday's business, usually): made once, re-drafted while a
    draft (figures refreshed, the analyst's edits kept), a published one returned as it is."""
    if org.level not in REPORT_LEVELS or org.kind != Org.Kind.POLICE:
        raise Refused("org", _("Reports are drafted for cities and counties."))
    if actor is not None:
        orgs.require(actor, org, roles=EDIT_ROLES)
    found = DailyReport.objects.filter(org=org, day=day).first()
    if found is not None and found.state != DailyReport.State.DRAFT:
        if actor is not None:  # by hand: say so (409); beat just finds it
            transitions.next_state(REPORT, found.state, Event.REDRAFT)
        return found
    with translation.override(settings.LANGUAGE_CODE):
        figures, body = sections.snapshot(org, day)
        title = title_of(org, day)[:200]
    if found is None:
        try:
            with transaction.atomic():
                r = DailyReport.objects.create(
                    org=org, day=day, title=title, figures=figures, body=body, drafted_at=timezone.now()
                )
                transitions.log_transition(r, from_state="", to_state=r.state, event="draft", actor=actor)
                return r
        except IntegrityError:  # another worker drafted it a moment ago
            return DailyReport.objects.get(org=org, day=day)
    return _redraft(found.pk, figures, body, actor)


@transaction.atomic
def _redraft(report_id: int, figures: dict[str, Any], body: str, actor: Any) -> DailyReport:
    r = transitions.lock(DailyReport, report_id, related=["org"])
    if r.state != DailyReport.State.DRAFT:
        return r
    transitions.apply(r, REPORT, Event.REDRAFT, actor)
    r.figures, r.drafted_at = figures, timezone.now()
    fields = ["figures", "drafted_at"]
    if r.edited_at is None:  # nobody edited it: the text follows the figures
        r.body = body
        fields.append("body")
    transitions.save(r, *fields)
    return r


def draft_time(org: Org, schedules: dict[int, ReportSchedule]) -> tuple[int, int] | None:
    s = schedules.get(org.pk)
    if s is None:
        hour, minute = settings.BRIEFING_DRAFT_AT
        return hour, minute
    return (s.hour, s.minute) if s.active else None


def reports_draft_due(*, now: datetime | None = None) -> list[DailyReport]:
    """Beat's run (every few minutes): for each reporting org whose draft time has come today (local), the
    report on yesterday if there is none yet — and on the days before it, back to
    settings.BRIEFING_CATCH_UP_DAYS, that beat missed altogether (down overnight). Idempotent: an existing
    report is found, not re-drafted, so a missed run is simply caught up by the next."""
    local = timezone.localtime(now or timezone.now())
    yesterday = local.date() - timedelta(days=1)
    days = [yesterday - timedelta(days=k) for k in range(max(1, settings.BRIEFING_CATCH_UP_DAYS))]
    schedules = {s.org_id: s for s in ReportSchedule.objects.all()}
    have = set(DailyReport.objects.filter(day__in=days).values_list("org_id", "day"))
    made = []
    for org in reporting_orgs():
        at = draft_time(org, schedules)
        if at is None:
            continue
        for day in days:
            # Yesterday's waits for the org's hour; an earlier day's hour came long ago.
            if (org.pk, day) in have or (day == yesterday and (local.hour, local.minute) < at):
                continue
            made.append(report_draft(org=org, day=day))
    return made


@transaction.atomic
def report_save(*, report_id: int, actor: Any, body: str, version: int) -> DailyReport:
    """The analyst's text, if the report is still at `version` (else StaleVersion: 409)."""
    r = transitions.lock(DailyReport, report_id, related=["org"])
    orgs.require(actor, r.org, roles=EDIT_ROLES)
    if len(body) > MAX_BODY:
        raise Refused("body", _("Too long."))
    transitions.next_state(REPORT, r.state, Event.EDIT)  # a published report: 409 before the version
    if r.version != version:
        raise StaleVersion(r.version)
    transitions.apply(r, REPORT, Event.EDIT, actor)
    r.body, r.edited_at, r.edited_by = body, timezone.now(), actor
    transitions.save(r, "body", "edited_at", "edited_by")
    return r


@transaction.atomic
def report_publish(*, report_id: int, actor: Any) -> DailyReport:
    """The commander publishes the draft (of their org, or one below it). Twice at once: the second waits
    for the lock and finds it published (409)."""
    r = transitions.lock(DailyReport, report_id, related=["org"])
    orgs.require(actor, r.org, roles=PUBLISH_ROLES)
    transitions.apply(r, REPORT, Event.PUBLISH, actor)
    r.published_at, r.published_by = timezone.now(), actor
    transitions.save(r, "published_at", "published_by")
    return r


# --- Duty log -------------------------------------------------------------------------------------------


def duty_log_for(*, org: Org, day: date) -> DutyLog:
    """The station's log of `day`, its entries generated from the day's rows now (while it is open); made
    once (the unique (org, day)), a signed log returned as it was signed."""
    if org.level != Org.Level.STATION:
        raise Refused("org", _("Duty logs are kept by police stations."))
    log = DutyLog.objects.filter(org=org, day=day).first()
    if log is not None and log.state == DutyLog.State.SIGNED:
        return log
    entries = dutylog.entries(org, day)
    if log is None:
        try:
            with transaction.atomic():
                return DutyLog.objects.create(org=org, day=day, entries=entries, generated_at=timezone.now())
        except IntegrityError:
            log = DutyLog.objects.get(org=org, day=day)
    with transaction.atomic():
        locked = transitions.lock(DutyLog, log.pk)
        if locked.state == DutyLog.State.OPEN:
            locked.entries, locked.generated_at = entries, timezone.now()
            locked.save(update_fields=["entries", "generated_at"])
        return locked


def _lock_open(log_id: int, actor: Any, event: str) -> DutyLog:
    log = transitions.lock(DutyLog, log_id, related=["org"])
    orgs.require(actor, log.org, roles=DUTY_ROLES)
    transitions.apply(log, DUTY, event, actor)
    return log


@transaction.atomic
def duty_note_add(*, log_id: int, actor: Any, text: str) -> DutyNote:
    text = text.strip()
    if not text:
        raise Refused("text", _("Write the note."))
    if len(text) > MAX_NOTE:
        raise Refused("text", _("Too long."))
    log = _lock_open(log_id, actor, Event.NOTE)
    transitions.save(log)
    return DutyNote.objects.create(log=log, text=text, author=actor, at=timezone.now())


@transaction.atomic
def duty_handover_save(*, log_id: int, actor: Any, text: str) -> DutyLog:
    if len(text) > MAX_BODY:
        raise Refused("handover", _("Too long."))
    log = _lock_open(log_id, actor, Event.EDIT)
    log.handover = text
    transitions.save(log, "handover")
    return log


@transaction.atomic
def duty_log_sign(*, log_id: int, actor: Any) -> DutyLog:
    """The duty officer signs the day: the entries are generated a last time and frozen. A second sign (or
    two at once: the second waits for the lock) is 409."""
    log = _lock_open(log_id, actor, Event.SIGN)
    log.entries, log.generated_at = dutylog.entries(log.org, log.day), timezone.now()
    log.signed_at, log.signed_by = timezone.now(), actor
    transitions.save(log, "entries", "generated_at", "signed_at", "signed_by")
    return log
