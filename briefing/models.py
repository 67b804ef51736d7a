"""The daily 三情 研判 report of a city or county, and a station's duty log (值班日志).

`DailyReport.figures` is the sections' snapshot taken when it was drafted (briefing/sections.py): what was
published is what was read, whatever the rows do later. `body` is the Markdown the analyst edits, pre-filled
from the sections' Markdown. `DutyLog.entries` is the station's day (orders, feedback, tasks) as generated;
`DutyNote` rows are what the officers add by hand during the day.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from command_center.models import Org, TransitionLog


class ReportSchedule(models.Model):
    """When beat drafts an org's morning report (local time, Asia/Shanghai). An org without a row gets
    settings.BRIEFING_DRAFT_AT (07:00)."""

    org = models.OneToOneField(Org, on_delete=models.CASCADE, related_name="+", verbose_name=_("organisation"))
    hour = models.PositiveSmallIntegerField(_("hour"), default=7)
    minute = models.PositiveSmallIntegerField(_("minute"), default=0)
    active = models.BooleanField(_("active"), default=True, help_text=_("Off: beat drafts no report for it."))

    class Meta:
        verbose_name = _("report schedule")
        verbose_name_plural = _("report schedules")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(hour__lte=23, minute__lte=59), name="briefing_schedule_time_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.org} {self.hour:02d}:{self.minute:02d}"


class DailyReport(models.Model):
    """三情研判报告: the morning report of a city or county on one day (yesterday's business)."""

    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")

    org = models.ForeignKey(Org, on_delete=models.PROTECT, related_name="+", verbose_name=_("organisation"))
    day = models.DateField(_("day reported on"))
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.DRAFT)
    title = models.CharField(_("title"), max_length=200)
    figures = models.JSONField(_("figures"), default=dict)
    body = models.TextField(_("text (Markdown)"), blank=True)
    version = models.PositiveIntegerField(_("version"), default=1)
    drafted_at = models.DateTimeField(_("drafted at"))
    edited_at = models.DateTimeField(_("edited at"), null=True, blank=True)
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("edited by"),
    )  # fmt: skip
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("published by"),
    )  # fmt: skip

    class Meta:
        verbose_name = _("daily report")
        verbose_name_plural = _("daily reports")
        ordering = ["-day", "org__path"]
        constraints = [
            # One report per org and day: beat running twice, or two workers at once, find the first.
            models.UniqueConstraint(fields=["org", "day"], name="briefing_report_once"),
        ]

    def __str__(self) -> str:
        return self.title


class DailyReportTransition(TransitionLog):
    subject = models.ForeignKey(DailyReport, on_delete=models.PROTECT, related_name="transitions")


class DutyLog(models.Model):
    """值班日志: a station's day — generated from its orders, feedback and tasks, with the officers' notes —
    handed over and signed by the duty officer. Signed, it no longer changes (409)."""

    class State(models.TextChoices):
        OPEN = "open", pgettext_lazy("duty log", "Open")
        SIGNED = "signed", pgettext_lazy("duty log", "Signed")

    org = models.ForeignKey(Org, on_delete=models.PROTECT, related_name="+", verbose_name=_("station"))
    day = models.DateField(_("day"))
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.OPEN)
    entries = models.JSONField(_("entries"), default=list, help_text=_("Generated from the day's rows."))
    generated_at = models.DateTimeField(_("generated at"))
    handover = models.TextField(_("handover notes"), blank=True)
    version = models.PositiveIntegerField(_("version"), default=1)
    signed_at = models.DateTimeField(_("signed at"), null=True, blank=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("signed by"),
    )  # fmt: skip

    class Meta:
        verbose_name = _("duty log")
        verbose_name_plural = _("duty logs")
        ordering = ["-day", "org__path"]
        constraints = [models.UniqueConstraint(fields=["org", "day"], name="briefing_duty_log_once")]

    def __str__(self) -> str:
        return f"{self.org} {self.day}"


class DutyLogTransition(TransitionLog):
    subject = models.ForeignKey(DutyLog, on_delete=models.PROTECT, related_name="transitions")


class DutyNote(models.Model):
    """A line an officer adds to the station's log during the day (a visit, a call, a handover item)."""

    log = models.ForeignKey(DutyLog, on_delete=models.CASCADE, related_name="notes", verbose_name=_("duty log"))
    text = models.TextField(_("text"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("author")
    )
    at = models.DateTimeField(_("at"))

    class Meta:
        verbose_name = _("duty note")
        verbose_name_plural = _("duty notes")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return self.text[:40]
