"""The loop 研交办督结: analyses (研), directives (交) and the tasks stations handle and report (办).

Fields, constraints and indexes only; every write lives in services.py, every state table in transitions.py.
Supervision (督: reminders, 督办, the watch list) lives in the supervision app, above this one.

A directive goes to recipients (orgs at any level); each recipient gets one *task*. Directives with the same
`subject` to the same org meet in one open task (准入/整合): `TaskDirective` rows list every directive a task
carries, and the task's approval counts for each of them.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from command_center.models import Org, Person, TransitionLog
from command_center.storage import PrivateStorage, random_name
from incidents.models import Incident, RepeatCluster


class Colour(models.TextChoices):
    """Risk colour (红/黄/蓝): how urgent, and so how tight the clocks are by default."""

    RED = "red", _("Red")
    YELLOW = "yellow", _("Yellow")
    BLUE = "blue", _("Blue")


# Most severe first: a task carrying several directives takes the most severe colour among them.
COLOUR_RANK = {Colour.RED: 0, Colour.YELLOW: 1, Colour.BLUE: 2}


# --- Files ----------------------------------------------------------------------------------------------


# Attachments live under MEDIA_ROOT/loop/ with no URL: only the scoped view (api.AttachmentViewSet.download)
# serves them.
loop_storage = PrivateStorage("loop")


def loop_file_storage() -> PrivateStorage:
    """The storage of attachments, as a callable so migrations record a reference, not a path."""
    return loop_storage


def attachment_path(instance: Attachment, filename: str) -> str:
    return random_name(instance.uploaded_at, filename)


# --- 研 Analysis ----------------------------------------------------------------------------------------


class Analysis(models.Model):
    """研判: an analyst's judgement, built from incidents, repeat clusters or (later) sentiment alerts."""

    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")

    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("author")
    )
    org = models.ForeignKey(Org, on_delete=models.PROTECT, related_name="analyses", verbose_name=_("organisation"))
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("judgement"), blank=True)
    incidents = models.ManyToManyField(Incident, blank=True, related_name="analyses", verbose_name=_("incidents"))
    clusters = models.ManyToManyField(
        RepeatCluster, blank=True, related_name="analyses", verbose_name=_("repeat clusters")
    )
    # 网情 posts the judgement rests on (a warning's, an event's, or one post), when it was opened from them.
    posts = models.ManyToManyField(
        "sentiment.Post", blank=True, related_name="analyses", verbose_name=_("sentiment posts")
    )
    # What it was opened from (a 网情 warning or event, a post) or any other source: a generic, nullable reference.
    source_type = models.ForeignKey(
        ContentType, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("source type")
    )
    source_id = models.BigIntegerField(_("source id"), null=True, blank=True)
    source = GenericForeignKey("source_type", "source_id")
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.DRAFT)
    version = models.PositiveIntegerField(_("version"), default=1)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)

    class Meta:
        verbose_name = _("analysis")
        verbose_name_plural = _("analyses")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["org", "state", "-created_at"], name="analysis_org_state")]
        constraints = [
            models.CheckConstraint(
                condition=Q(source_type__isnull=True, source_id__isnull=True)
                | Q(source_type__isnull=False, source_id__isnull=False),
                name="analysis_source_whole",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class AnalysisTransition(TransitionLog):
    subject = models.ForeignKey(Analysis, on_delete=models.PROTECT, related_name="transitions")


# --- 交 Directive ---------------------------------------------------------------------------------------


class Directive(models.Model):
    """指令: what recipients must do, with a risk colour and clocks; closes when every task is approved."""

    class Source(models.TextChoices):
        ANALYSIS = "analysis", _("Analysis (研判)")
        SUPERIOR = "superior", _("From a superior (上级交办)")
        RECTIFICATION = "rectification", _("Rectification (整改)")
        REPEAT_GOVERNANCE = "repeat_governance", _("Repeat governance (重复警情治理)")
        MANUAL = "manual", _("Manual")
        BULLETIN = "bulletin", _("Bulletin (通报)")

    class State(models.TextChoices):
        ISSUED = "issued", _("Issued")
        CLOSED = "closed", _("Closed (办结)")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    title = models.CharField(_("title"), max_length=200)
    content = models.TextField(_("content"))
    actions = ArrayField(
        models.CharField(max_length=200),
        verbose_name=_("required actions"),
        default=list,
        blank=True,
        help_text=_("The checklist each recipient answers in its report."),
    )
    colour = models.CharField(_("risk colour"), max_length=8, choices=Colour.choices, default=Colour.YELLOW)
    source = models.CharField(_("source"), max_length=20, choices=Source.choices, default=Source.MANUAL)
    subject = models.CharField(
        _("subject key"),
        max_length=120,
        blank=True,
        help_text=_("Directives with the same subject to the same org meet in one task (准入/整合)."),
    )
    analysis = models.ForeignKey(
        Analysis, on_delete=models.PROTECT, null=True, blank=True, related_name="directives", verbose_name=_("analysis")
    )
    incident = models.ForeignKey(
        Incident,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="directives",
        verbose_name=_("incident (rectification)"),
    )
    cluster = models.ForeignKey(
        RepeatCluster,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="directives",
        verbose_name=_("repeat cluster (governance)"),
    )
    issuer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("issued by"),
        help_text=_("Empty when the system issued it (a rectification after a dissatisfied callback)."),
    )
    issuer_org = models.ForeignKey(
        Org, on_delete=models.PROTECT, related_name="directives_issued", verbose_name=_("issuing org")
    )
    recipients = models.ManyToManyField(Org, related_name="directives_received", verbose_name=_("recipients"))
    sign_within_s = models.PositiveIntegerField(_("sign within (s)"))
    report_within_s = models.PositiveIntegerField(_("report within (s)"))
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.ISSUED)
    version = models.PositiveIntegerField(_("version"), default=1)
    issued_at = models.DateTimeField(_("issued at"))
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    withdraw_reason = models.TextField(_("withdraw reason"), blank=True)

    class Meta:
        verbose_name = _("directive")
        verbose_name_plural = _("directives")
        ordering = ["-issued_at", "-id"]
        indexes = [
            # The issuer's list: an org's directives by state, newest first.
            models.Index(fields=["issuer_org", "state", "-issued_at"], name="directive_issuer_state"),
            # A rectification or a cluster's governance is looked up by its source row.
            models.Index(fields=["incident"], condition=Q(incident__isnull=False), name="directive_incident"),
            models.Index(fields=["cluster"], condition=Q(cluster__isnull=False), name="directive_cluster"),
        ]
        constraints = [
            # One rectification per incident: the after-commit hook may be called twice, the row is made once.
            models.UniqueConstraint(
                fields=["incident"], condition=Q(source="rectification"), name="directive_one_rectification"
            ),
        ]

    def __str__(self) -> str:
        return self.title


# The sources a person names when issuing through the API; the others are set by their paths (an analysis,
# a dissatisfied callback, a repeat cluster put into the loop).
ISSUABLE_SOURCES = [
    (Directive.Source.MANUAL.value, Directive.Source.MANUAL.label),
    (Directive.Source.SUPERIOR.value, Directive.Source.SUPERIOR.label),
]


class DirectiveTransition(TransitionLog):
    subject = models.ForeignKey(Directive, on_delete=models.PROTECT, related_name="transitions")


# --- 办 Task --------------------------------------------------------------------------------------------


class Task(models.Model):
    """One recipient's share of one or more directives: `issued → signed → in_progress → reported →
    approved`, or `returned` (back to work with the reviewer's reason) / `withdrawn` (its directives were).

    The due times of the running clocks are copied here so lists and pushes show countdowns without reading
    the clocks; `actions` is the checklist of every directive it carries, in order, without repeats.
    """

    class State(models.TextChoices):
        ISSUED = "issued", _("Issued")
        SIGNED = "signed", _("Signed")
        IN_PROGRESS = "in_progress", _("In progress")
        REPORTED = "reported", _("Reported")
        RETURNED = "returned", _("Returned for rework")
        APPROVED = "approved", _("Approved (办结)")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    org = models.ForeignKey(Org, on_delete=models.PROTECT, related_name="loop_tasks", verbose_name=_("recipient"))
    directives = models.ManyToManyField(
        Directive, through="TaskDirective", related_name="tasks", verbose_name=_("directives")
    )
    subject = models.CharField(_("subject key"), max_length=120, blank=True)
    title = models.CharField(_("title"), max_length=200)
    colour = models.CharField(_("risk colour"), max_length=8, choices=Colour.choices)
    actions = ArrayField(models.CharField(max_length=200), verbose_name=_("required actions"), default=list, blank=True)
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.ISSUED)
    version = models.PositiveIntegerField(_("version"), default=1)
    rework_count = models.PositiveSmallIntegerField(_("returns for rework"), default=0)
    last_return_reason = models.TextField(_("last return reason"), blank=True)
    issued_at = models.DateTimeField(_("issued at"))
    sign_due_at = models.DateTimeField(_("sign due at"), null=True, blank=True)
    report_due_at = models.DateTimeField(_("report due at"), null=True, blank=True)
    signed_at = models.DateTimeField(_("signed at"), null=True, blank=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("signed by"),
    )
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    reported_at = models.DateTimeField(_("reported at"), null=True, blank=True)
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("approved by"),
    )
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    # Who of the org (or of a community under it: 社区民警) carries the task; the org still signs and reports.
    assignee = models.ForeignKey(
        Person,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assigned_tasks",
        verbose_name=_("assignee"),
    )

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        ordering = ["-issued_at", "-id"]
        indexes = [
            # The station inbox: an org's tasks by state, newest first.
            models.Index(fields=["org", "state", "-issued_at"], name="task_inbox"),
            # The review queue: reported tasks, oldest report first.
            models.Index(fields=["reported_at"], condition=Q(state="reported"), name="task_review"),
        ]
        constraints = [
            # 准入/整合: one open task per subject per org. Two directives of one subject issued at once to the
            # same station cannot make two tasks: the second insert waits for the first and then merges.
            models.UniqueConstraint(
                fields=["org", "subject"],
                condition=~Q(subject="") & ~Q(state__in=["approved", "withdrawn"]),
                name="task_one_open_per_subject",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} → {self.org}"


OPEN_TASK_STATES = [
    Task.State.ISSUED,
    Task.State.SIGNED,
    Task.State.IN_PROGRESS,
    Task.State.REPORTED,
    Task.State.RETURNED,
]


class TaskDirective(models.Model):
    """A directive carried by a task: one per (directive, recipient org). Several directives of one subject
    share a task; its approval stamps `approved_at` on each of them (withdrawing one stamps `withdrawn_at`)."""

    task = models.ForeignKey(Task, on_delete=models.PROTECT, related_name="carried", verbose_name=_("task"))
    directive = models.ForeignKey(
        Directive, on_delete=models.PROTECT, related_name="carried", verbose_name=_("directive")
    )
    org = models.ForeignKey(Org, on_delete=models.PROTECT, related_name="+", verbose_name=_("recipient"))
    added_at = models.DateTimeField(_("added at"))
    merged = models.BooleanField(_("merged into an open task"), default=False)
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)

    class Meta:
        verbose_name = _("directive of a task")
        verbose_name_plural = _("directives of tasks")
        ordering = ["added_at", "id"]
        constraints = [
            # One task per recipient per directive.
            models.UniqueConstraint(fields=["directive", "org"], name="task_directive_one_per_recipient"),
            models.UniqueConstraint(fields=["task", "directive"], name="task_directive_once"),
        ]

    def __str__(self) -> str:
        return f"{self.directive_id} ∈ task {self.task_id}"


class TaskTransition(TransitionLog):
    subject = models.ForeignKey(Task, on_delete=models.PROTECT, related_name="transitions")


class TaskReport(models.Model):
    """The station's report (反馈): text, the checklist answered, files; decided by a reviewer."""

    class Decision(models.TextChoices):
        PENDING = "", _("Awaiting review")
        APPROVED = "approved", _("Approved")
        RETURNED = "returned", _("Returned")

    task = models.ForeignKey(Task, on_delete=models.PROTECT, related_name="reports", verbose_name=_("task"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("author")
    )
    org = models.ForeignKey(Org, on_delete=models.PROTECT, related_name="+", verbose_name=_("organisation"))
    text = models.TextField(_("report"))
    checklist = models.JSONField(
        _("checklist"), default=list, help_text=_('[{"action": "…", "done": true, "note": "…"}, …]')
    )
    created_at = models.DateTimeField(_("reported at"))
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
    reason = models.TextField(_("reviewer's reason"), blank=True)

    class Meta:
        verbose_name = _("task report")
        verbose_name_plural = _("task reports")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"task {self.task_id} · {self.created_at:%Y-%m-%d %H:%M}"


class Attachment(models.Model):
    """A file on a directive or on a report. Stored under MEDIA_ROOT/loop/ with a random name; served only
    through the scoped download endpoint."""

    directive = models.ForeignKey(
        Directive, on_delete=models.PROTECT, null=True, blank=True, related_name="attachments"
    )
    report = models.ForeignKey(TaskReport, on_delete=models.PROTECT, null=True, blank=True, related_name="attachments")
    file = models.FileField(_("file"), storage=loop_file_storage, upload_to=attachment_path, max_length=200)
    name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(_("content type"), max_length=100)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+", verbose_name=_("uploaded by")
    )
    uploaded_at = models.DateTimeField(_("uploaded at"))

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["uploaded_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(directive__isnull=False, report__isnull=True)
                | Q(directive__isnull=True, report__isnull=False),
                name="attachment_on_directive_or_report",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ClosureReport(models.Model):
    """办结报告: written once, when the directive closes: what each recipient did and when."""

    directive = models.OneToOneField(
        Directive, on_delete=models.PROTECT, related_name="closure_report", verbose_name=_("directive")
    )
    generated_at = models.DateTimeField(_("generated at"))
    data = models.JSONField(_("data"))

    class Meta:
        verbose_name = _("closure report")
        verbose_name_plural = _("closure reports")

    def __str__(self) -> str:
        return f"{self.directive} · {self.generated_at:%Y-%m-%d}"


# --- Hotspots (intel/hotspots.py) -----------------------------------------------------------------------


class HotspotRule(models.Model):
    """When an area's count is a hotspot, and of which colour (thresholds as data): per category prefix (the
    longest prefix of the category asked wins; blank = every category). z = (count − mean) / max(σ, σ floor)
    over the same window of the previous weeks; a colour when the count reaches `min_count` and z reaches its
    threshold, or the ratio count / max(mean, σ floor) reaches its own (when set)."""

    category_prefix = models.CharField(
        _("category prefix"),
        max_length=6,
        blank=True,
        help_text=_("Significant digits of a category code (02 = 治安, 0201 = one of its types); blank = all."),
    )
    weeks = models.PositiveSmallIntegerField(
        _("baseline weeks"),
        default=4,
        validators=[MinValueValidator(2), MaxValueValidator(12)],
        help_text=_(
            "How many earlier periods make the baseline: the same window shifted back by whole weeks (same weekday "
            "and hour; a month by five weeks a step)."
        ),
    )
    min_count = models.PositiveIntegerField(_("minimum count"), default=3, validators=[MinValueValidator(1)])
    sigma_floor = models.FloatField(
        _("σ floor"), default=1.0, validators=[MinValueValidator(0.1)], help_text=_("A flat baseline's σ.")
    )
    z_red = models.FloatField(_("z for red"), default=4.0)
    z_yellow = models.FloatField(_("z for yellow"), default=3.0)
    z_blue = models.FloatField(_("z for blue"), default=2.0)
    ratio_red = models.FloatField(_("ratio for red"), null=True, blank=True)
    ratio_yellow = models.FloatField(_("ratio for yellow"), null=True, blank=True)
    ratio_blue = models.FloatField(_("ratio for blue"), null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("hotspot rule")
        verbose_name_plural = _("hotspot rules")
        ordering = ["category_prefix"]
        constraints = [
            models.UniqueConstraint(fields=["category_prefix"], name="hotspot_rule_prefix_once"),
            models.CheckConstraint(
                condition=Q(z_blue__lte=models.F("z_yellow")) & Q(z_yellow__lte=models.F("z_red")),
                name="hotspot_rule_z_order",
            ),
        ]

    def __str__(self) -> str:
        return self.category_prefix or str(_("All categories"))


class HotspotCount(models.Model):
    """The rollup: valid incidents (not merged, not invalid) per local day × grid cell × responsible org ×
    category, at three grains in `category`: "*" (every category), the top level's two digits ("02"), the
    full code ("020101"); and the same per local week (`span` 7, `day` its Monday), so a month reads four
    week rows a cell and a few edge days instead of thirty days. Exactly the GROUP BY of the incidents table
    once the pending deltas are added (HotspotDelta; intel/hotspots.py). Written only by the flush and the
    rebuild."""

    day = models.DateField()
    span = models.PositiveSmallIntegerField(default=1, help_text="1: the day; 7: the week from this Monday")
    cell = models.BigIntegerField(help_text="grid cell (intel/hotspots.py cell_of); -1: no position")
    org = models.ForeignKey(Org, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False)
    category = models.CharField(max_length=6, db_collation="C")
    n = models.IntegerField()

    class Meta:
        verbose_name = _("hotspot count")
        verbose_name_plural = _("hotspot counts")
        constraints = [
            # The read: one grain (or a prefix of full codes: C collation, so LIKE 'p%' is a range), days or
            # weeks, a run of them, then the orgs of the scope. Covering (`n` included): the read is an
            # index-only scan, where the heap rows of one day lie scattered (measured on a city month:
            # 250 ms of reading 90,000 heap pages, 50 ms without).
            models.UniqueConstraint(
                fields=["category", "span", "day", "org", "cell"], include=["n"], name="hotspot_count_key"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.cell} {self.org_id} {self.category}: {self.n}"


class HotspotDelta(models.Model):
    """+1 / −1 per grain, appended by the incidents table's triggers (migration 0004) on every insert, delete
    and change of what is counted (state, category, position, org, report time). Only appends: intake never
    waits on a counter row. The flush (beat, every minute) moves them into HotspotCount."""

    day = models.DateField()
    span = models.PositiveSmallIntegerField(default=1)
    cell = models.BigIntegerField()
    org = models.ForeignKey(Org, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False)
    category = models.CharField(max_length=6, db_collation="C")
    n = models.IntegerField()

    class Meta:
        verbose_name = _("hotspot count change")
        verbose_name_plural = _("hotspot count changes")

    def __str__(self) -> str:
        return f"{self.day} {self.cell} {self.org_id} {self.category}: {self.n:+d}"


class Hotspot(models.Model):
    """A flagged area for one period, kept: what an analysis opened from it points to (its `source`), and
    what beat's daily snapshot keeps of the red and yellow ones. The numbers are those of when it was kept."""

    class Area(models.TextChoices):
        CELL = "cell", _("Grid cell")
        STATION = "station", _("Jurisdiction")

    class Period(models.TextChoices):
        DAY = "day", _("Day")
        WEEK = "week", _("Week")
        MONTH = "month", _("Month")
        RANGE = "range", _("Dates")

    scope = models.ForeignKey(
        Org, on_delete=models.PROTECT, related_name="+", verbose_name=_("area asked"), help_text=_("Its subtree.")
    )
    area = models.CharField(_("area kind"), max_length=8, choices=Area.choices)
    cell = models.BigIntegerField(_("grid cell"), null=True, blank=True)
    org = models.ForeignKey(
        Org, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("jurisdiction")
    )
    category = models.CharField(_("category prefix"), max_length=6, blank=True)
    period = models.CharField(_("period"), max_length=8, choices=Period.choices)
    start = models.DateField(_("from"))
    end = models.DateField(_("until (exclusive)"))
    count = models.PositiveIntegerField(_("count"))
    mean = models.FloatField(_("baseline mean"))
    sd = models.FloatField(_("baseline σ"))
    z = models.FloatField(_("z"))
    colour = models.CharField(_("colour"), max_length=8, choices=Colour.choices)
    created_at = models.DateTimeField(_("kept at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("kept by"),
        help_text=_("Empty when beat's daily snapshot kept it."),
    )

    class Meta:
        verbose_name = _("hotspot")
        verbose_name_plural = _("hotspots")
        ordering = ["-start", "-count", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["scope", "area", "cell", "org", "category", "start", "end"],
                name="hotspot_once",
                nulls_distinct=False,
            ),
            models.CheckConstraint(
                condition=Q(area="cell", cell__isnull=False, org__isnull=True)
                | Q(area="station", cell__isnull=True, org__isnull=False),
                name="hotspot_area_whole",
            ),
        ]

    def __str__(self) -> str:
        where = self.org.name if self.org_id and self.org else f"#{self.cell}"
        return f"{where} {self.start}…{self.end} {self.count}"
