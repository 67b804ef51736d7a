"""Supervision (督): reminders (催办) when a task's or an incident's clock breaks, formal supervision orders
(督办) when it breaks again — or when a supervisor raises either by hand — and the commanders' watch list
(盯办). Fields, constraints and indexes only; writes live in services.py.

Supervision sits above intel (it imports the loop's tasks); the loop knows nothing of it: supervision hooks
into the kernel's clock registry for the loop's clock kinds (apps.py).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from command_center.models import Deadline, Org, SupervisionLevel
from incidents.models import Incident
from intel.models import Task


class Reminder(models.Model):
    """催办: one clock's breach told to the org that must act. Never lost (written in the sweep's transaction
    that marks the breach), never doubled (unique per deadline, level and recipient)."""

    class Level(models.IntegerChoices):
        REMINDER = 1, _("Reminder (催办)")
        SUPERVISION = 2, _("Formal supervision (督办)")

    deadline = models.ForeignKey(Deadline, on_delete=models.PROTECT, related_name="+", verbose_name=_("deadline"))
    level = models.PositiveSmallIntegerField(_("level"), choices=Level.choices, default=Level.REMINDER)
    recipient = models.ForeignKey(Org, on_delete=models.PROTECT, related_name="reminders", verbose_name=_("recipient"))
    task = models.ForeignKey(
        Task, on_delete=models.PROTECT, null=True, blank=True, related_name="reminders", verbose_name=_("task")
    )
    # An incident's clocks (its own, or its dispatch orders': sign, arrive, report back) are supervised too.
    incident = models.ForeignKey(
        Incident, on_delete=models.PROTECT, null=True, blank=True, related_name="reminders", verbose_name=_("incident")
    )
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("raised by"),
        help_text=_("Empty when the sweep raised it."),
    )
    text = models.TextField(_("text"))
    created_at = models.DateTimeField(_("created at"))
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("acknowledged by"),
    )

    class Meta:
        verbose_name = _("reminder")
        verbose_name_plural = _("reminders")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["deadline", "level", "recipient"], name="reminder_once_per_breach"),
            models.CheckConstraint(
                condition=Q(task__isnull=True) | Q(incident__isnull=True), name="reminder_task_or_incident"
            ),
        ]
        indexes = [
            # The inbox: an org's reminders, newest first.
            models.Index(fields=["recipient", "-created_at"], name="reminder_inbox"),
            # A task's reminders (how many breaches so far: the escalation's count).
            models.Index(fields=["task", "created_at"], name="reminder_task"),
            models.Index(fields=["incident", "created_at"], name="reminder_incident"),
        ]

    def __str__(self) -> str:
        return f"{self.get_level_display()} → {self.recipient}"


class SupervisionOrder(models.Model):
    """督办: a formal supervision order on a task that broke a clock again, with a level from the code table
    (督办级别); each further breach raises the next level."""

    task = models.ForeignKey(
        Task,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="supervision_orders",
        verbose_name=_("task"),
    )
    incident = models.ForeignKey(
        Incident,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="supervision_orders",
        verbose_name=_("incident"),
    )
    org = models.ForeignKey(
        Org, on_delete=models.PROTECT, related_name="supervision_orders", verbose_name=_("supervised org")
    )
    level = models.ForeignKey(SupervisionLevel, on_delete=models.PROTECT, related_name="+", verbose_name=_("level"))
    deadline = models.OneToOneField(
        Deadline,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("breach"),
        help_text=_("The breach that raised it: one order per breach."),
    )
    reason = models.TextField(_("reason"))
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("raised by"),
        help_text=_("Empty when the sweep raised it."),
    )
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("supervision order")
        verbose_name_plural = _("supervision orders")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["org", "-created_at"], name="supervision_order_org"),
            models.Index(fields=["incident", "created_at"], name="supervision_order_incident"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(task__isnull=False, incident__isnull=True) | Q(task__isnull=True, incident__isnull=False),
                name="supervision_order_task_or_incident",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.level} · {self.task or self.incident}"


class Watch(models.Model):
    """盯办: a commander puts a task or an incident on their board's watch list; it shows there until the
    subject closes or the watch is ended."""

    task = models.ForeignKey(
        Task, on_delete=models.PROTECT, null=True, blank=True, related_name="watches", verbose_name=_("task")
    )
    incident = models.ForeignKey(
        Incident, on_delete=models.PROTECT, null=True, blank=True, related_name="watches", verbose_name=_("incident")
    )
    org = models.ForeignKey(
        Org,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("org of the subject"),
        help_text=_("Whose it is."),
    )
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("by"))
    by_org = models.ForeignKey(
        Org, on_delete=models.PROTECT, related_name="watches", verbose_name=_("board"), help_text=_("Where it shows.")
    )
    note = models.CharField(_("note"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created at"))
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("watch")
        verbose_name_plural = _("watch list")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(task__isnull=False, incident__isnull=True) | Q(task__isnull=True, incident__isnull=False),
                name="watch_task_or_incident",
            ),
            # One running watch per subject per board.
            models.UniqueConstraint(
                fields=["by_org", "task"],
                condition=Q(ended_at__isnull=True, task__isnull=False),
                name="watch_task_once",
            ),
            models.UniqueConstraint(
                fields=["by_org", "incident"],
                condition=Q(ended_at__isnull=True, incident__isnull=False),
                name="watch_incident_once",
            ),
        ]
        indexes = [
            models.Index(fields=["by_org", "-created_at"], condition=Q(ended_at__isnull=True), name="watch_board")
        ]

    def __str__(self) -> str:
        return f"盯办 {self.task or self.incident}"


# --- 数字督察: automatic inspection (supervision/inspection.py) ------------------------------------------


class InspectionRule(models.Model):
    """One rule of the automatic inspection, by its key in code (inspection.RULES): whether it runs and its
    thresholds. A row per rule in code (inspection.rules_sync); the code gives the defaults."""

    key = models.SlugField(_("key"), max_length=40, unique=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    params = models.JSONField(
        _("parameters"), default=dict, blank=True, help_text=_("Thresholds; a missing one takes the code's default.")
    )

    class Meta:
        verbose_name = _("inspection rule")
        verbose_name_plural = _("inspection rules")
        ordering = ["key"]

    def __str__(self) -> str:
        return self.key


class InspectionRuleOrg(models.Model):
    """A rule's setting for one org and everything under it: the most specific org up the tree wins."""

    rule = models.ForeignKey(InspectionRule, on_delete=models.CASCADE, related_name="overrides", verbose_name=_("rule"))
    org = models.ForeignKey(Org, on_delete=models.CASCADE, related_name="+", verbose_name=_("organisation"))
    enabled = models.BooleanField(_("enabled"), default=True)
    params = models.JSONField(
        _("parameters"), default=dict, blank=True, help_text=_("Only the thresholds that differ here.")
    )

    class Meta:
        verbose_name = _("inspection rule for an org")
        verbose_name_plural = _("inspection rules for orgs")
        constraints = [models.UniqueConstraint(fields=["rule", "org"], name="inspection_rule_org_once")]

    def __str__(self) -> str:
        return f"{self.rule} · {self.org}"


class Finding(models.Model):
    """What a rule found on one subject (an incident, a report, a ledger line, a desk officer on a day),
    awaiting a supervisor's decision: confirmed (it counts against the org) or dismissed with a reason (it
    counts against the rule). Found once: unique per rule, subject and `bucket` (a day for the rules that
    count per day, else empty), so running a rule again finds nothing new."""

    class State(models.TextChoices):
        OPEN = "open", _("Open")
        CONFIRMED = "confirmed", _("Confirmed")
        DISMISSED = "dismissed", _("Dismissed")

    rule = models.SlugField(_("rule"), max_length=40)
    subject_type = models.ForeignKey(
        "contenttypes.ContentType", on_delete=models.PROTECT, related_name="+", verbose_name=_("subject type")
    )
    subject_id = models.PositiveBigIntegerField(_("subject id"))
    bucket = models.CharField(_("bucket"), max_length=20, blank=True, default="")
    org = models.ForeignKey(Org, on_delete=models.PROTECT, related_name="findings", verbose_name=_("organisation"))
    detail = models.TextField(_("detail"))
    facts = models.JSONField(_("facts"), default=dict, blank=True)
    found_at = models.DateTimeField(_("found at"))
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.OPEN)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    reason = models.TextField(_("reason"), blank=True)

    class Meta:
        verbose_name = _("inspection finding")
        verbose_name_plural = _("inspection findings")
        ordering = ["-found_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "subject_type", "subject_id", "bucket"], name="finding_once_per_subject"
            ),
        ]
        indexes = [
            # The queue: an area's open findings, newest first.
            models.Index(fields=["state", "-found_at"], name="finding_queue"),
            # The counts per rule, and the scores' count per org and period.
            models.Index(fields=["rule", "state"], name="finding_rule_state"),
            models.Index(fields=["org", "found_at"], name="finding_org_found"),
        ]

    def __str__(self) -> str:
        return f"{self.rule} · {self.subject_type_id}:{self.subject_id}"
