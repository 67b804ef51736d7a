"""社情: 平安义警 (volunteers), the hazards and clues they report, the station's triage, and their points.

Fields, constraints and indexes only; every write lives in services.py, the report's state table in
transitions.py. Categories and points rules are data (admin; defaults by `load_codes`).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from command_center.models import Category, Org, Person, TransitionLog
from command_center.storage import PrivateStorage, random_name
from incidents.models import Incident
from intel.models import Directive


class Kind(models.TextChoices):
    HAZARD = "hazard", _("Hazard (隐患上报)")
    CLUE = "clue", _("Clue (线索直播)")


class ReportCategory(models.Model):
    """What a volunteer picks: a small code table, mapped to an incident category for the "make an incident"
    path, with how long the station has to triage a report of it."""

    code = models.CharField(_("code"), max_length=20, primary_key=True)
    name = models.CharField(_("name"), max_length=60)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    incident_category = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="+", verbose_name=_("incident category")
    )
    triage_within_s = models.PositiveIntegerField(_("triage within (s)"), default=1800)
    ordering = models.PositiveSmallIntegerField(_("order"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("report category")
        verbose_name_plural = _("report categories")
        ordering = ["kind", "ordering", "code"]

    def __str__(self) -> str:
        return self.name


class Volunteer(models.Model):
    """A 平安义警 on the register: the person (role volunteer) who logs in, the station that triages their
    reports, the community or grid they belong to, skills, trainings and points (the ledger's sum)."""

    person = models.OneToOneField(Person, on_delete=models.PROTECT, related_name="volunteer", verbose_name=_("person"))
    station = models.ForeignKey(Org, on_delete=models.PROTECT, related_name="volunteers", verbose_name=_("station"))
    community = models.ForeignKey(
        Org, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("community")
    )
    grid = models.CharField(_("grid"), max_length=60, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    skills = ArrayField(models.CharField(max_length=40), verbose_name=_("skills"), default=list, blank=True)
    trainings = models.JSONField(
        _("trainings taken"), default=list, blank=True, help_text=_('A list of {"name": …, "date": "YYYY-MM-DD"}.')
    )
    points = models.IntegerField(_("points"), default=0, help_text=_("The sum of the points ledger."))
    active = models.BooleanField(_("active"), default=True)
    joined_at = models.DateField(_("joined"), null=True, blank=True)

    class Meta:
        verbose_name = _("volunteer")
        verbose_name_plural = _("volunteers")
        ordering = ["station", "-points", "id"]

    def __str__(self) -> str:
        return str(self.person)

    def clean(self) -> None:
        # A volunteer's person acts for a community (or a partner-like org of their own), never for the
        # station: the board socket and orgs.restrict give a person their org's whole subtree.
        if self.person_id and self.person.org.level != Org.Level.COMMUNITY:
            raise ValidationError({"person": _("A volunteer's person belongs to a community organisation.")})
        if self.community is not None and self.station_id and not self.station.contains(self.community):
            raise ValidationError({"community": _("The community lies under the volunteer's station.")})


# Photos live under MEDIA_ROOT/community/ with no URL: only the scoped endpoint serves them.
report_storage = PrivateStorage("community")


def report_file_storage() -> PrivateStorage:
    return report_storage


def photo_path(instance: ReportPhoto, filename: str) -> str:
    return random_name(instance.uploaded_at, filename)


class VolunteerReport(models.Model):
    """One hazard or clue: `submitted`, then one triage outcome (`incident`, `tasked`, `forwarded`,
    `closed`) with its reason and its link (the incident, the directive, the org it was forwarded to)."""

    class State(models.TextChoices):
        SUBMITTED = "submitted", _("Awaiting triage")
        INCIDENT = "incident", _("Made an incident")
        TASKED = "tasked", _("Tasked to the community")
        FORWARDED = "forwarded", _("Forwarded")
        CLOSED = "closed", _("Closed")

    class Located(models.TextChoices):
        GPS = "gps", _("Phone GPS")
        MAP = "map", _("Picked on the map")
        NONE = "", _("Not given")

    volunteer = models.ForeignKey(
        Volunteer, on_delete=models.PROTECT, related_name="reports", verbose_name=_("volunteer")
    )
    org = models.ForeignKey(Org, on_delete=models.PROTECT, related_name="+", verbose_name=_("station"))
    community = models.ForeignKey(
        Org, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("community")
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    category = models.ForeignKey(
        ReportCategory, on_delete=models.PROTECT, related_name="reports", verbose_name=_("category")
    )
    text = models.TextField(_("text"))
    address = models.CharField(_("address"), max_length=200, blank=True)
    lat = models.FloatField(_("latitude"), null=True, blank=True)
    lon = models.FloatField(_("longitude"), null=True, blank=True)
    accuracy_m = models.FloatField(_("accuracy (m)"), null=True, blank=True)
    located_by = models.CharField(_("located by"), max_length=4, choices=Located.choices, blank=True, default="")
    anonymous_to_public = models.BooleanField(_("anonymous to the public"), default=False)
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.SUBMITTED)
    version = models.PositiveIntegerField(_("version"), default=1)
    submitted_at = models.DateTimeField(_("submitted at"))
    triage_due_at = models.DateTimeField(_("triage due at"))
    triaged_at = models.DateTimeField(_("triaged at"), null=True, blank=True)
    triaged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("triaged by"),
    )
    reason = models.TextField(_("triage reason"), blank=True)
    incident = models.OneToOneField(
        Incident,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="volunteer_report",
        verbose_name=_("incident"),
    )
    directive = models.ForeignKey(
        Directive, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("directive")
    )
    forwarded_to = models.ForeignKey(
        Org, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("forwarded to")
    )

    class Meta:
        verbose_name = _("volunteer report")
        verbose_name_plural = _("volunteer reports")
        ordering = ["-submitted_at", "-id"]
        indexes = [
            # The station's triage queue and the daily summary: an org's reports by state, newest first.
            models.Index(fields=["org", "state", "-submitted_at"], name="community_report_queue"),
            # A volunteer's own list.
            models.Index(fields=["volunteer", "-submitted_at"], name="community_report_mine"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"


class ReportPhoto(models.Model):
    report = models.ForeignKey(VolunteerReport, on_delete=models.PROTECT, related_name="photos")
    file = models.FileField(_("file"), storage=report_file_storage, upload_to=photo_path, max_length=200)
    name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(_("content type"), max_length=100)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    uploaded_at = models.DateTimeField(_("uploaded at"))

    class Meta:
        verbose_name = _("report photo")
        verbose_name_plural = _("report photos")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class ReportTransition(TransitionLog):
    subject = models.ForeignKey(VolunteerReport, on_delete=models.PROTECT, related_name="transitions")


class PointsEvent(models.TextChoices):
    SUBMITTED = "submitted", _("Report submitted")
    INCIDENT = "incident", _("Report became an incident")
    TASKED = "tasked", _("Report tasked to the community")
    FORWARDED = "forwarded", _("Report forwarded")
    CLOSED = "closed", _("Report closed")


class PointsRule(models.Model):
    """How many points an event of a report earns its volunteer (data: admin; defaults by load_codes)."""

    event = models.CharField(_("event"), max_length=16, choices=PointsEvent.choices, primary_key=True)
    points = models.IntegerField(_("points"), default=0)

    class Meta:
        verbose_name = _("points rule")
        verbose_name_plural = _("points rules")
        ordering = ["event"]

    def __str__(self) -> str:
        return f"{self.get_event_display()}: {self.points}"


class PointsEntry(models.Model):
    """One line of a volunteer's points ledger; never two for one (report, event)."""

    volunteer = models.ForeignKey(
        Volunteer, on_delete=models.PROTECT, related_name="points_entries", verbose_name=_("volunteer")
    )
    report = models.ForeignKey(
        VolunteerReport, on_delete=models.PROTECT, related_name="points_entries", verbose_name=_("volunteer report")
    )
    event = models.CharField(_("event"), max_length=16, choices=PointsEvent.choices)
    points = models.IntegerField(_("points"))
    at = models.DateTimeField(_("at"))

    class Meta:
        verbose_name = _("points entry")
        verbose_name_plural = _("points ledger")
        ordering = ["-at", "-id"]
        constraints = [models.UniqueConstraint(fields=["report", "event"], name="community_points_once")]

    def __str__(self) -> str:
        return f"{self.volunteer_id} {self.event} {self.points:+d}"
