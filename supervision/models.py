"""Supervision (督): reminders (催办) when a task's or an incident's clock breaks, formal supervision orders
(督办) when it breaks again — or when a supervisor raises either by hand — and the commanders' watch list
(盯办). Fields, constraints and indexes only; writes live in services.py.

Supervision sits above intel (it imports the loop's tasks); the loop knows nothing of it: supervision hooks
into the kernel's clock registry for the loop's clock kinds (apps.py).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from command_center.audit import TransitionLog
from command_center.models import Deadline, Org, SupervisionLevel
from incidents.models import Feedback, Incident
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


class ScoreScheme(models.Model):
    """考评方案: how a period's measures and supervision become a score — data, versioned. A version is never
    changed once saved (the admin saves an edit as the next version); every score keeps the version it used.

    - `weights`: {KPI key: points} for rate measures (supervision/kpis.py); a measure earns its points times
      its rate (for a "lower is better" rate, times one minus it); measures with nothing to count in the
      period share their points out among those measured.
    - `deductions`: {"supervision": {督办 level code: points}, "reminder": points, "finding": points,
      "feedback_returned": points} per 督办 order, reminder (催办), confirmed 数字督察 finding and return of
      a feedback for 整改 (反馈审核) of the period in the org's area.
    - `bonuses`: {KPI key: {"at_least": rate, "points": n}}: extra points when the rate reaches the mark.
    - `red_top` / `black_bottom`: how many lead the 红榜 (十佳) and trail on the 黑榜 of each level.
    """

    name = models.CharField(_("name"), max_length=100)
    version = models.PositiveIntegerField(_("version"), unique=True)
    active = models.BooleanField(_("active"), default=True)
    weights = models.JSONField(_("weights"), default=dict)
    deductions = models.JSONField(_("deductions"), default=dict, blank=True)
    bonuses = models.JSONField(_("bonuses"), default=dict, blank=True)
    red_top = models.PositiveSmallIntegerField(_("red list (top N)"), default=10)
    black_bottom = models.PositiveSmallIntegerField(_("black list (bottom N)"), default=3)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("scoring scheme")
        verbose_name_plural = _("scoring schemes")
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class Score(models.Model):
    """One org's score for one period under one scheme version, with every part that made it (`parts`:
    each KPI's points, each deduction with its cause) and its rank among the orgs of its level."""

    org = models.ForeignKey(Org, on_delete=models.PROTECT, related_name="scores", verbose_name=_("organisation"))
    period = models.CharField(_("period"), max_length=8)
    first = models.DateField(_("first day"))
    last = models.DateField(_("last day"))
    scheme = models.ForeignKey(ScoreScheme, on_delete=models.PROTECT, related_name="scores", verbose_name=_("scheme"))
    total = models.DecimalField(_("score"), max_digits=8, decimal_places=2)
    parts = models.JSONField(_("parts"), default=list)
    rank = models.PositiveIntegerField(_("rank"), null=True, blank=True)
    of = models.PositiveIntegerField(_("ranked among"), null=True, blank=True)
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        verbose_name = _("score")
        verbose_name_plural = _("scores")
        ordering = ["period", "-first", "rank", "org_id"]
        constraints = [
            models.UniqueConstraint(fields=["org", "period", "first", "scheme"], name="score_once_per_period"),
        ]
        indexes = [models.Index(fields=["period", "first", "scheme", "rank"], name="score_ranking")]

    def __str__(self) -> str:
        return f"{self.org} {self.first}–{self.last}: {self.total}"


class Bulletin(models.Model):
    """通报: the daily (日推进), weekly (周通报) or monthly (月验收) bulletin of an org — a draft beat generates
    from the measures (supervision/bulletins.py), which a supervisor edits and publishes to the orgs it
    covers. `figures` is the snapshot of kpis.compute() taken when it was generated: what was published
    is what was read, whatever the rows do later."""

    class Kind(models.TextChoices):
        DAILY = "daily", _("Daily bulletin (日推进)")
        WEEKLY = "weekly", _("Weekly bulletin (周通报)")
        MONTHLY = "monthly", _("Monthly review (月验收)")

    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")

    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    org = models.ForeignKey(Org, on_delete=models.PROTECT, related_name="bulletins", verbose_name=_("org covered"))
    first = models.DateField(_("first day"))
    last = models.DateField(_("last day"))
    title = models.CharField(_("title"), max_length=200)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.DRAFT)
    summary = models.TextField(_("summary"), blank=True)
    problems = models.TextField(_("problems"), blank=True)
    requirements = models.TextField(_("requirements"), blank=True)
    figures = models.JSONField(_("figures"), default=dict)
    directive = models.ForeignKey(
        "intel.Directive",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("sign-for directive"),
        help_text=_("Issued to the covered orgs when published: their task is to sign for it."),
    )
    version = models.PositiveIntegerField(_("version"), default=1)
    created_at = models.DateTimeField(_("created at"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
        help_text=_("Empty when beat generated it."),
    )
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("published by"),
    )

    class Meta:
        verbose_name = _("bulletin")
        verbose_name_plural = _("bulletins")
        ordering = ["-first", "kind", "-id"]
        constraints = [
            # One bulletin per kind, org and period: beat running twice finds the first.
            models.UniqueConstraint(fields=["kind", "org", "first"], name="bulletin_once_per_period"),
            models.CheckConstraint(condition=Q(last__gte=models.F("first")), name="bulletin_period_order"),
        ]
        indexes = [
            # The list: an org's bulletins, newest period first.
            models.Index(fields=["org", "-first"], name="bulletin_org_period"),
        ]

    def __str__(self) -> str:
        return self.title


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


class KpiDay(models.Model):
    """The measures' rollup (supervision/rollups.py): one row per org, local day (Asia/Shanghai) and
    incident category (NULL for what has none: tasks, reminders, 督办; "*" for the org's whole day), holding
    the numerators and denominators of every measure (supervision/kpis.py) for the facts anchored on that
    day — an incident on its report, an order on its sending, a closure on its closing, a diversion on its
    push, a task on its issue, a reminder or a 督办 order on its raising. A figure over any scope is a sum of these rows
    (plus, for the (org, day) keys still marked dirty, the same sums worked out from the raw rows), so it is
    exact. Call-to-dispatch keeps a histogram of the wait in whole seconds (`disp_secs` ascending, and how
    many each) so its 90th percentile can be merged exactly. Derived data: `rebuild_kpi_rollups` makes it
    again from the rows."""

    org = models.ForeignKey(Org, on_delete=models.CASCADE, related_name="+", db_index=False)
    day = models.DateField()
    category = models.CharField(max_length=12, null=True, blank=True)  # noqa: DJ001  # NULL: none, unlike any prefix
    # Incidents reported on the day (less merged duplicates and invalid calls).
    inc_n = models.IntegerField(default=0)
    repeat_n = models.IntegerField(default=0)
    disp_n = models.IntegerField(default=0)
    disp_wait_s = models.DecimalField(max_digits=24, decimal_places=6, default=0)
    disp_secs = ArrayField(models.IntegerField(), default=list)
    disp_counts = ArrayField(models.IntegerField(), default=list)
    fb_n = models.IntegerField(default=0)
    fb_ok = models.IntegerField(default=0)
    fb_late = models.IntegerField(default=0)
    # Dispatch orders sent on the day (addressed to the org).
    sign_n = models.IntegerField(default=0)
    sign_ok = models.IntegerField(default=0)
    signed_n = models.IntegerField(default=0)
    signed_wait_s = models.DecimalField(max_digits=24, decimal_places=6, default=0)
    ring1_n = models.IntegerField(default=0)
    ring1_ok = models.IntegerField(default=0)
    ring3_n = models.IntegerField(default=0)
    ring3_ok = models.IntegerField(default=0)
    ring5_n = models.IntegerField(default=0)
    ring5_ok = models.IntegerField(default=0)
    # Incidents closed on the day.
    closed_n = models.IntegerField(default=0)
    called_n = models.IntegerField(default=0)
    satisfied_n = models.IntegerField(default=0)
    # Diversions pushed on the day (of the incident's org).
    div_n = models.IntegerField(default=0)
    div_accepted = models.IntegerField(default=0)
    div_returned = models.IntegerField(default=0)
    # Tasks issued, reminders (催办) and 督办 orders raised on the day (no category).
    task_n = models.IntegerField(default=0)
    task_signed_ok = models.IntegerField(default=0)
    task_reported_ok = models.IntegerField(default=0)
    task_rework = models.IntegerField(default=0)
    reminders_n = models.IntegerField(default=0)
    so_n = models.IntegerField(default=0)
    task_sign_n = models.IntegerField(default=0)  # tasks whose signing is decided: signed, or due by now
    task_report_n = models.IntegerField(default=0)  # … whose report is decided
    div_fin_n = models.IntegerField(default=0)  # diversions whose finish clock is decided (not called off)
    div_fin_ok = models.IntegerField(default=0)  # … met by its due time
    # When the first undecided fact of the row will be decided (rollups.py, "Time"): the row holds until then.
    settles_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("measures rollup")
        verbose_name_plural = _("measures rollups")
        constraints = [
            models.UniqueConstraint(
                fields=["org", "day", "category"], nulls_distinct=False, name="kpiday_once_per_bucket"
            ),
        ]
        indexes = [
            # Reads with a category prefix: the rows of a period (then joined to the scope's orgs by path).
            models.Index(fields=["day", "org"], name="kpiday_day_org"),
            # Reads without one (most): the wholes of a period.
            models.Index(fields=["day", "org"], condition=Q(category="*"), name="kpiday_whole_day_org"),
            # The flush's rows that something undecided has turned stale.
            models.Index(
                fields=["settles_at"], condition=Q(category="*", settles_at__isnull=False), name="kpiday_settles"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.org_id} · {self.day} · {self.category or '—'}"


class KpiDirty(models.Model):
    """An (org, local day) whose rollup rows may be stale: written by the database's own triggers on every
    source of the measures (migration 0004), so queryset.update() and the clock sweep are caught too.
    Append-only (no unique key): an `INSERT … ON CONFLICT DO NOTHING` would not lock the existing mark, so a
    flush could delete it and rebuild before a still-open transaction that touched the bucket commits, and
    its change would be lost; a plain insert by that transaction stays invisible to the flush until it
    commits, and is flushed next time. Readers work the marked keys out from the raw rows; the beat flush
    (rollups.flush) rebuilds them and deletes the marks."""

    org = models.ForeignKey(Org, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+")
    day = models.DateField()

    class Meta:
        verbose_name = _("stale measures rollup")
        verbose_name_plural = _("stale measures rollups")
        indexes = [
            # Readers: the marked keys of a period.
            models.Index(fields=["day", "org"], name="kpidirty_day_org"),
        ]

    def __str__(self) -> str:
        return f"{self.org_id} · {self.day}"


# --- Feedback review (反馈审核): supervision/feedback_review.py ------------------------------------------


class FeedbackReview(models.Model):
    """审核考评 of one feedback form (反馈单): a supervisor accepts it, or returns it for rectification (整改)
    with a note; the station that filed it answers with a rectification (FeedbackRectification) on a clock
    (`supervision.feedback.rework`), which the supervisor accepts or returns again — round after round
    (`rounds`: how many times it was returned). One row per feedback: written by its first decision, so
    an unreviewed feedback has none, and two supervisors deciding at once cannot both write it. Every step
    is a row of its log (FeedbackReviewTransition: who, when, the note). The incident's own state machine is
    not touched."""

    class State(models.TextChoices):
        ACCEPTED = "accepted", _("Review accepted")
        RETURNED = "returned", _("Returned for rectification (整改)")
        RECTIFIED = "rectified", _("Rectified, awaiting review")

    feedback = models.OneToOneField(
        Feedback, on_delete=models.PROTECT, related_name="review", verbose_name=_("feedback")
    )
    org = models.ForeignKey(
        Org,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("organisation that rectifies"),
        help_text=_("The organisation that filed the feedback."),
    )
    state = models.CharField(_("state"), max_length=10, choices=State.choices)
    rounds = models.PositiveSmallIntegerField(_("times returned"), default=0)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("reviewer"),
        help_text=_("Who took the last decision."),
    )
    note = models.TextField(_("note"), blank=True, help_text=_("The last decision's note (required to return)."))
    at = models.DateTimeField(_("first reviewed at"))
    decided_at = models.DateTimeField(_("last decided at"))
    version = models.PositiveIntegerField(_("version"), default=1)

    class Meta:
        verbose_name = _("feedback review")
        verbose_name_plural = _("feedback reviews")
        ordering = ["-decided_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(state="returned") | Q(rounds__gte=1), name="feedback_review_returned_counts"
            ),
        ]
        indexes = [
            # A station's returned feedback awaiting its rectification; the queue's rectified ones.
            models.Index(fields=["org", "state"], name="feedback_review_org_state"),
            models.Index(fields=["state", "decided_at"], name="feedback_review_state"),
        ]

    def __str__(self) -> str:
        return f"{self.feedback} · {self.get_state_display()}"

    @property
    def verdict(self) -> str:
        """The last decision: accepted, or returned (also while its rectification awaits review)."""
        return "accepted" if self.state == self.State.ACCEPTED else "returned"


class FeedbackReviewTransition(TransitionLog):
    subject = models.ForeignKey(FeedbackReview, on_delete=models.PROTECT, related_name="transitions")


class FeedbackRectification(models.Model):
    """整改: the station's answer to one return of its feedback (round n answers the n-th return), and the
    supervisor's decision on it."""

    class Decision(models.TextChoices):
        PENDING = "", _("Awaiting review")
        ACCEPTED = "accepted", _("Review accepted")
        RETURNED = "returned", _("Returned again")

    review = models.ForeignKey(
        FeedbackReview, on_delete=models.PROTECT, related_name="rectifications", verbose_name=_("review")
    )
    round = models.PositiveSmallIntegerField(_("round"))
    text = models.TextField(_("rectification"))
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("rectified by")
    )
    at = models.DateTimeField(_("rectified at"))
    decision = models.CharField(_("decision"), max_length=10, choices=Decision.choices, blank=True, default="")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("feedback rectification")
        verbose_name_plural = _("feedback rectifications")
        ordering = ["review", "round"]
        constraints = [
            models.UniqueConstraint(fields=["review", "round"], name="feedback_rectification_once_per_round")
        ]

    def __str__(self) -> str:
        return f"{self.review} · {self.round}"


class FeedbackSampling(models.Model):
    """抽查比例: the share of an org's feedback (and of its subtree's, unless an org below sets its own) that
    the review queue draws, in percent; 100 reviews all. Without a row up the tree, the setting
    SUPERVISION_FEEDBACK_SAMPLE_PERCENT applies. Which feedback is drawn is fixed by its id
    (feedback_review.sample_bucket), so the queue is stable."""

    org = models.OneToOneField(
        Org, on_delete=models.CASCADE, related_name="feedback_sampling", verbose_name=_("organisation")
    )
    percent = models.PositiveSmallIntegerField(_("percent reviewed"), help_text=_("0–100; 100 reviews every feedback."))
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("updated by"),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("feedback sampling rule")
        verbose_name_plural = _("feedback sampling rules")
        constraints = [models.CheckConstraint(condition=Q(percent__lte=100), name="feedback_sampling_percent")]

    def __str__(self) -> str:
        return f"{self.org} · {self.percent}%"
