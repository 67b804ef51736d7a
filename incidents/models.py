"""Incidents (警情, 接警单) and what hangs off them: feedback, callbacks, repeat links and clusters,
diversions to partners, SLA policies. Fields, constraints and indexes only; writes live in services.py."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from command_center.models import Category, HandlingResult, Org, TransitionLog

LAT = [MinValueValidator(-90), MaxValueValidator(90)]
LON = [MinValueValidator(-180), MaxValueValidator(180)]


class Source(models.TextChoices):
    PHONE_110 = "110", _("110 call")
    PHONE_122 = "122", _("122 traffic call")
    TRANSFER_12345 = "12345", _("Transferred from 12345")
    SELF_FOUND = "self", _("Found by police (自接警)")
    VIDEO_PATROL = "video", _("Video patrol")
    VOLUNTEER = "volunteer", _("Volunteer report")
    ONLINE = "online", _("Online report")


class State(models.TextChoices):
    """National handling-status codes (警情处理状态) where they exist; the exits have none."""

    RECEIVED = "received", _("01 Received")
    DISPATCHED = "dispatched", _("02 Dispatched")
    RESPONDING = "responding", _("03 Responding")
    SELF_HANDLED = "self_handled", _("04 Self-handled")
    ON_SCENE = "on_scene", _("05 On scene")
    SCENE_CLEARED = "scene_cleared", _("06 Scene cleared")
    CLOSED = "closed", _("07 Closed")
    DIVERTED = "diverted", _("Diverted to a partner")
    MERGED = "merged", _("Merged (duplicate)")
    INVALID = "invalid", _("Invalid call")


STATE_CODES = {
    State.RECEIVED: "01",
    State.DISPATCHED: "02",
    State.RESPONDING: "03",
    State.SELF_HANDLED: "04",
    State.ON_SCENE: "05",
    State.SCENE_CLEARED: "06",
    State.CLOSED: "07",
}


class IncidentSequence(models.Model):
    """The last number given out per region per day. Incremented inside the intake transaction, so a
    rolled-back intake gives its number back and the sequence stays without gaps."""

    region = models.CharField(max_length=12)
    day = models.DateField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["region", "day"], name="incident_sequence_region_day")]

    def __str__(self) -> str:
        return f"{self.region} {self.day} #{self.last}"


class Incident(models.Model):
    number = models.CharField(_("number"), max_length=32, unique=True)
    source = models.CharField(_("source"), max_length=16, choices=Source.choices, default=Source.PHONE_110)
    call_id = models.CharField(_("call id"), max_length=64, help_text=_("The telephony system's id of the call."))
    caller_phone = models.CharField(_("caller phone"), max_length=32, blank=True)
    phone_key = models.CharField(max_length=32, blank=True, editable=False, help_text="digits, for matching")
    caller_name = models.CharField(_("caller name"), max_length=60, default="匿名")
    caller_lat = models.FloatField(_("caller latitude"), null=True, blank=True, validators=LAT)
    caller_lon = models.FloatField(_("caller longitude"), null=True, blank=True, validators=LON)
    address = models.CharField(_("address"), max_length=200)
    address_key = models.CharField(max_length=200, editable=False, help_text="normalised address for matching")
    lat = models.FloatField(_("latitude"), null=True, blank=True, validators=LAT)
    lon = models.FloatField(_("longitude"), null=True, blank=True, validators=LON)
    cell = models.BigIntegerField(null=True, blank=True, editable=False, help_text="grid cell of (lat, lon)")
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="+", verbose_name=_("category"))
    first_category = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="+", verbose_name=_("first classification")
    )
    level = models.PositiveSmallIntegerField(
        _("level"), default=3, validators=[MinValueValidator(1), MaxValueValidator(4)]
    )
    narrative = models.TextField(_("narrative"), blank=True)
    org = models.ForeignKey(Org, on_delete=models.PROTECT, related_name="incidents", verbose_name=_("responsible org"))
    intake_org = models.ForeignKey(Org, on_delete=models.PROTECT, related_name="+", verbose_name=_("taken by org"))
    # The org of the person who took the call (接警单位: a command center's desk, or a station for a call it
    # found itself). A call id is unique per desk: a retry from the same desk finds its incident, and a
    # call id another area already used cannot be told apart from a free one (it makes a new incident).
    desk = models.ForeignKey(Org, on_delete=models.PROTECT, related_name="+", verbose_name=_("desk"))
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+", verbose_name=_("call-taker")
    )
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.RECEIVED)
    version = models.PositiveIntegerField(_("version"), default=1)
    merged_into = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="merged", verbose_name=_("merged into")
    )
    needs_rectification = models.BooleanField(_("needs rectification"), default=False)
    # Every step's time, kept apart and never overwritten.
    reported_at = models.DateTimeField(_("reported at"))
    answered_at = models.DateTimeField(_("answered at"))
    intake_done_at = models.DateTimeField(_("intake done at"))
    dispatched_at = models.DateTimeField(_("dispatched at"), null=True, blank=True)
    signed_at = models.DateTimeField(_("signed at"), null=True, blank=True)
    arrived_at = models.DateTimeField(_("arrived at"), null=True, blank=True)
    scene_cleared_at = models.DateTimeField(_("scene cleared at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    # NENA EIDO's incident tracking id of an incident imported from another center (incidents/eido.py):
    # an import of the same incident again updates this one. Empty for the center's own incidents, whose
    # tracking id is made from their number.
    eido_tracking_id = models.CharField(
        _("EIDO tracking id"), max_length=255, null=True, blank=True, unique=True, editable=False
    )

    class Meta:
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        ordering = ["-reported_at", "-id"]
        constraints = [
            # A retried call never makes two incidents (per desk: see `desk`).
            models.UniqueConstraint(fields=["source", "call_id", "desk"], name="incident_source_call_id_desk"),
            models.CheckConstraint(condition=Q(level__gte=1, level__lte=4), name="incident_level_1_to_4"),
        ]
        indexes = [
            # Lists and boards: an org's open incidents, newest first.
            models.Index(fields=["org", "state", "-reported_at"], name="incident_org_state"),
            models.Index(fields=["-reported_at"], name="incident_reported"),
            # Repeat hints: the same caller within the window.
            models.Index(fields=["phone_key", "-reported_at"], name="incident_phone"),
            # Repeat hints: the same address (normalised).
            models.Index(fields=["address_key", "-reported_at"], name="incident_address"),
            # Repeat hints: the grid cells around a position, newest first (selectors.cells_around).
            models.Index(fields=["cell", "-reported_at"], name="incident_cell"),
            models.Index(fields=["category", "-reported_at"], name="incident_category"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def state_code(self) -> str:
        return STATE_CODES.get(State(self.state), "")

    @property
    def is_merged(self) -> bool:
        """A duplicate merged into another incident (`merged_into`): final, nothing happens to it any more."""
        return self.state == State.MERGED


class IncidentTransition(TransitionLog):
    subject = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="transitions")


class Feedback(models.Model):
    """反馈单: what was done, with what result. 1..N per incident."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="feedback")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    org = models.ForeignKey(Org, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(_("handling"))
    result = models.ForeignKey(HandlingResult, on_delete=models.PROTECT, verbose_name=_("result"))
    rescued = models.PositiveIntegerField(_("rescued"), default=0)
    injured = models.PositiveIntegerField(_("injured"), default=0)
    dead = models.PositiveIntegerField(_("dead"), default=0)
    detained = models.PositiveIntegerField(_("detained"), default=0)
    arrived_at = models.DateTimeField(_("arrived at"), null=True, blank=True)
    cleared_at = models.DateTimeField(_("cleared at"), null=True, blank=True)
    handover_to = models.CharField(_("handed over to"), max_length=100, blank=True)
    handover_answer = models.TextField(_("handover answer"), blank=True)
    # The handling guide's checklist as the officer ticked it: the guide's version (never edited, see
    # HandlingGuide), the numbers of the items ticked, and why required items were left unticked.
    guide = models.ForeignKey(
        "HandlingGuide",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("handling guide"),
    )
    ticked = models.JSONField(_("ticked items"), default=list, blank=True)
    unticked_reason = models.CharField(_("why required items are unticked"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("feedback")
        verbose_name_plural = _("feedback")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.incident} · {self.result}"

    def checklist(self) -> dict[str, Any] | None:
        """The ticks against the guide's version: each item with `ticked`, the count, the required items left
        unticked and the reason given. None: filed without a checklist. (Reads `guide`: select_related it.)"""
        g = self.guide
        if g is None:
            return None
        done = set(self.ticked or [])
        items = [
            {"n": i["n"], "text": i["text"], "required": bool(i.get("required")), "ticked": i["n"] in done}
            for i in g.items
        ]
        return {
            "guide": g.pk,
            "title": g.title,
            "version": g.version,
            "items": items,
            "ticked": sum(1 for i in items if i["ticked"]),
            "total": len(items),
            "missing_required": [i["n"] for i in items if i["required"] and not i["ticked"]],
            "unticked_reason": self.unticked_reason,
        }


class Satisfaction(models.TextChoices):
    SATISFIED = "satisfied", _("Satisfied")
    BASICALLY = "basically", _("Basically satisfied")
    DISSATISFIED = "dissatisfied", _("Dissatisfied")


class Callback(models.Model):
    """回访: one per closed incident (一警一回访)."""

    class Channel(models.TextChoices):
        PHONE = "phone", _("Phone")
        SMS = "sms", _("SMS")

    incident = models.OneToOneField(Incident, on_delete=models.PROTECT, related_name="callback")
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    satisfaction = models.CharField(_("satisfaction"), max_length=16, choices=Satisfaction.choices)
    text = models.TextField(_("notes"), blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("callback")
        verbose_name_plural = _("callbacks")

    def __str__(self) -> str:
        return f"{self.incident} · {self.get_satisfaction_display()}"


class LinkType(models.TextChoices):
    REPEAT = "repeat", _("Repeat report (重复报警)")
    URGE = "urge", _("Urging (催办)")
    HARASS = "harass", _("Harassment (多次骚扰)")


class RepeatLink(models.Model):
    """This incident is another report of `master` (the same event, called in again)."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="links")
    master = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="linked")
    link_type = models.CharField(_("link type"), max_length=8, choices=LinkType.choices)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("repeat link")
        verbose_name_plural = _("repeat links")
        constraints = [
            models.UniqueConstraint(fields=["incident", "master"], name="repeat_link_once"),
            models.CheckConstraint(condition=~Q(incident=models.F("master")), name="repeat_link_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.incident} → {self.master} ({self.link_type})"


class RepeatCluster(models.Model):
    """A line of the repeat ledger (重复警情台账)."""

    class Kind(models.TextChoices):
        RECURRING = "recurring", _("Recurring at one place (反复多发)")
        AFTER_HANDLING = "after_handling", _("Again after handling (处置后再发)")
        SAME_EVENT = "same_event", _("Same event reported again (同类事件反复报警)")

    class Theme(models.TextChoices):
        GAMBLING = "gambling", _("Gambling")
        DRUNKENNESS = "drunkenness", _("Drunkenness")
        NOISE = "noise", _("Noise")
        VENUE = "venue", _("Venue")
        OTHER = "other", _("Other")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        GOVERNED = "governed", _("In the loop (挂账)")
        STRUCK_OFF = "struck_off", _("Struck off (销号)")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    theme = models.CharField(_("theme"), max_length=16, choices=Theme.choices, default=Theme.OTHER)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.OPEN)
    org = models.ForeignKey(Org, on_delete=models.PROTECT, related_name="+", verbose_name=_("responsible org"))
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="+")
    address = models.CharField(_("address"), max_length=200)
    lat = models.FloatField(null=True, blank=True)
    lon = models.FloatField(null=True, blank=True)
    incidents = models.ManyToManyField(Incident, related_name="clusters")
    first_at = models.DateTimeField()
    last_at = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("repeat cluster")
        verbose_name_plural = _("repeat ledger")
        indexes = [models.Index(fields=["org", "status", "-last_at"], name="cluster_org_status")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.address} ×{self.count}"


class Correction(models.Model):
    """更正 / 重新定性: one field of an incident changed after intake — the old and the new value (as codes
    where there are codes), who changed it and why. Written only by incidents.services.incident_correct, never
    changed or deleted: the incident's first classification and every step of its re-qualification stay."""

    class Field(models.TextChoices):
        CATEGORY = "category", _("category")
        LEVEL = "level", _("incident level")
        ADDRESS = "address", _("address")
        POSITION = "position", _("position (coordinates)")
        ORG = "org", _("responsible org")
        NARRATIVE = "narrative", _("narrative")

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="corrections")
    field = models.CharField(_("field"), max_length=16, choices=Field.choices)
    old = models.TextField(_("old value"), blank=True)
    new = models.TextField(_("new value"), blank=True)
    reason = models.CharField(_("reason"), max_length=200)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("corrected by")
    )
    at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("correction")
        verbose_name_plural = _("corrections")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["incident", "at"], name="correction_incident")]

    def __str__(self) -> str:
        return f"{self.incident} · {self.field}: {self.old} → {self.new}"


class Diversion(models.Model):
    """分流: a non-police incident handed to a partner, with its own states."""

    class State(models.TextChoices):
        PUSHED = "pushed", _("Pushed")
        ACCEPTED = "accepted", _("Accepted")
        RETURNED = "returned", _("Returned")
        DONE = "done", _("Done")
        VOID = "void", _("Void")

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="diversions")
    partner = models.ForeignKey(Org, on_delete=models.PROTECT, related_name="diversions", verbose_name=_("partner"))
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.PUSHED)
    note = models.TextField(_("note"), blank=True)
    return_reason = models.TextField(_("return reason"), blank=True)
    result = models.TextField(_("partner's result"), blank=True)
    pushed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    pushed_at = models.DateTimeField(_("pushed at"))
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    # The auto-diversion rule the desk confirmed (None: chosen by hand): its confirmations and returns count.
    rule = models.ForeignKey(
        "DiversionRule", on_delete=models.PROTECT, null=True, blank=True, related_name="diversions"
    )

    class Meta:
        verbose_name = _("diversion")
        verbose_name_plural = _("diversions")
        ordering = ["-pushed_at", "-id"]
        indexes = [models.Index(fields=["partner", "state", "-pushed_at"], name="diversion_inbox")]

    def __str__(self) -> str:
        return f"{self.incident} → {self.partner}"


class DiversionTerms(models.Model):
    """A partner's diversion clock (分流时限): accept within `accept_min` minutes of the push, finish within
    `finish_h` hours of it. A partner without a row gets DEFAULT_DIVERSION_TERMS."""

    partner = models.OneToOneField(
        Org,
        on_delete=models.CASCADE,
        related_name="diversion_terms",
        limit_choices_to=Q(kind="partner") | Q(level="community"),
        verbose_name=_("partner"),
    )
    accept_min = models.PositiveIntegerField(
        _("accept within (minutes)"), default=30, validators=[MinValueValidator(1)]
    )
    finish_h = models.PositiveIntegerField(_("finish within (hours)"), default=24, validators=[MinValueValidator(1)])

    class Meta:
        verbose_name = _("partner's diversion terms")
        verbose_name_plural = _("partners' diversion terms")

    def __str__(self) -> str:
        return f"{self.partner}: {self.accept_min} min / {self.finish_h} h"


DEFAULT_DIVERSION_TERMS = {"accept_min": 30, "finish_h": 24}


class DiversionTransition(TransitionLog):
    subject = models.ForeignKey(Diversion, on_delete=models.PROTECT, related_name="transitions")


# The dispatch clock's kind (received → first order): started and stopped by incidents' services, ranked by
# the board (dispatch/board.py URGENCY), which reads it from here rather than from a service module.
CLOCK_DISPATCH = "incidents.dispatch"


class SlaPolicy(models.Model):
    """Clock lengths by category prefix, level and quick-response ring; the most specific match wins."""

    name = models.CharField(_("name"), max_length=60)
    category_prefix = models.CharField(
        _("category prefix"), max_length=6, blank=True, help_text=_("Empty: any category.")
    )
    level = models.PositiveSmallIntegerField(_("level"), null=True, blank=True, help_text=_("Empty: any level."))
    ring_minutes = models.PositiveSmallIntegerField(
        _("quick-response ring (minutes)"), null=True, blank=True, help_text=_("Empty: any ring.")
    )
    dispatch_s = models.PositiveIntegerField(
        _("dispatch within (s)"),
        null=True,
        blank=True,
        help_text=_("From the call to the first order. Empty: by level (1: 60 s, 2: 120 s, 3: 300 s, 4: 600 s)."),
    )
    sign_s = models.PositiveIntegerField(_("sign within (s)"), default=30)
    arrive_s = models.PositiveIntegerField(_("arrive within (s)"), default=300)
    feedback_s = models.PositiveIntegerField(_("feed back within (s)"), default=3600)
    callback_s = models.PositiveIntegerField(_("call back within (s)"), default=86400)

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")

    def __str__(self) -> str:
        return self.name


class HandlingGuide(models.Model):
    """处置指引: what an officer checks at a scene of a category (by prefix) and level, as a checklist.

    A version is never edited: revising a guide (services.guide_revise, which the admin calls) stores a new
    row of the same `family` with `version + 1` and retires the old one, so a feedback's ticks always name
    the very list they were ticked against. The current version of each (prefix, level) is unique; the
    longest matching prefix wins, then a set level over "any" (selectors.best_guide)."""

    family = models.UUIDField(default=uuid.uuid4, editable=False)
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    current = models.BooleanField(_("current"), default=True, editable=False)
    category_prefix = models.CharField(
        _("category prefix"), max_length=6, blank=True, help_text=_("Empty: any category.")
    )
    level = models.PositiveSmallIntegerField(
        _("level"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(4)],
        help_text=_("Empty: any level."),
    )
    title = models.CharField(_("title"), max_length=100)
    # [{"n": 1, "text": "...", "required": true}, ...], in order; `n` is what a feedback's ticks name.
    items = models.JSONField(_("checklist"), default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("handling guide")
        verbose_name_plural = _("handling guides")
        ordering = ["category_prefix", "level", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["family", "version"], name="guide_family_version"),
            # One current guide per (prefix, level): the match is never a coin toss. NULLS NOT DISTINCT: "any
            # level" counts as one value.
            models.UniqueConstraint(
                fields=["category_prefix", "level"],
                condition=Q(current=True),
                name="guide_current_prefix_level",
                nulls_distinct=False,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} v{self.version}"

    def required_items(self) -> list[dict[str, object]]:
        return [i for i in self.items if i.get("required")]


class DiversionRule(models.Model):
    """非警务警情自动分流: calls of a category (prefix), in a time window, in a place, go to `target` — a
    partner agency or a community/village. At intake the best active match (highest priority) is proposed
    to the desk (a DiversionProposal: a hit), which confirms it with one key (the diversion names the rule:
    a confirmation) or ignores it; a diversion the target sends back counts as a return."""

    name = models.CharField(_("name"), max_length=60)
    category_prefix = models.CharField(
        _("category prefix"), max_length=6, blank=True, help_text=_("Empty: any category.")
    )
    start = models.TimeField(_("window from"), null=True, blank=True, help_text=_("Local time. Both empty: all day."))
    end = models.TimeField(
        _("window until"), null=True, blank=True, help_text=_("Earlier than the start: the window wraps midnight.")
    )
    weekdays = models.CharField(
        _("weekdays"),
        max_length=7,
        blank=True,
        validators=[RegexValidator(r"^[1-7]{0,7}$", _("Digits 1 (Monday) to 7 (Sunday)."))],
        help_text=_(
            "Digits 1 (Monday) to 7 (Sunday), e.g. 12345. Empty: every day. A window past midnight "
            "counts from the day it began."
        ),
    )
    place = models.ForeignKey(
        Org,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        limit_choices_to={"kind": "police"},
        verbose_name=_("place"),
        help_text=_("Only incidents whose responsible org lies in this org's area. Empty: anywhere."),
    )
    target = models.ForeignKey(
        Org,
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to=Q(kind="partner") | Q(level="community"),
        verbose_name=_("divert to"),
    )
    priority = models.IntegerField(_("priority"), default=0, help_text=_("The highest matching priority wins."))
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("auto-diversion rule")
        verbose_name_plural = _("auto-diversion rules")
        ordering = ["-priority", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(start__isnull=True, end__isnull=True) | Q(start__isnull=False, end__isnull=False),
                name="diversion_rule_window_both_or_none",
            )
        ]

    def __str__(self) -> str:
        return self.name


class DiversionProposal(models.Model):
    """A rule proposed at intake (a hit), whether the desk confirmed it or not."""

    incident = models.OneToOneField(Incident, on_delete=models.PROTECT, related_name="proposal")
    rule = models.ForeignKey(DiversionRule, on_delete=models.PROTECT, related_name="proposals")
    target = models.ForeignKey(Org, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("diversion proposal")
        verbose_name_plural = _("diversion proposals")
        # The rules' counters: hits per rule.
        indexes = [models.Index(fields=["rule", "-at"], name="proposal_rule")]

    def __str__(self) -> str:
        return f"{self.incident} → {self.target} ({self.rule})"


def _webhook_events() -> list[str]:
    return [e.value for e in PartnerWebhook.Event]


class PartnerWebhook(models.Model):
    """A partner's endpoint (12345's system, say) that receives its diversions as signed JSON
    (incidents/webhooks.py). The secret signs every delivery (webhook_signing.py); it is kept as it is,
    since signing needs it, shown once in the admin when made or rotated, and masked after."""

    class Event(models.TextChoices):
        PUSHED = "diversion.pushed", _("Diversion pushed")
        UPDATED = "diversion.updated", _("Diversion changed")

    partner = models.ForeignKey(
        Org,
        on_delete=models.CASCADE,
        related_name="webhooks",
        limit_choices_to=Q(kind="partner") | Q(level="community"),
        verbose_name=_("partner"),
    )
    url = models.URLField(_("URL"), max_length=500, help_text=_("HTTPS only."))
    secret = models.CharField(_("signing secret"), max_length=80, editable=False)
    active = models.BooleanField(_("active"), default=True)
    events = models.JSONField(_("events"), default=_webhook_events)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("partner webhook")
        verbose_name_plural = _("partner webhooks")
        ordering = ["partner", "id"]

    def __str__(self) -> str:
        return f"{self.partner} → {self.url}"

    @property
    def masked_secret(self) -> str:
        return f"{self.secret[:6]}…{self.secret[-4:]}" if self.secret else ""


class WebhookDelivery(models.Model):
    """One event for one endpoint (the outbox): written in the transaction of the diversion's step, sent
    after commit and retried with backoff by webhooks.py until a 2xx or the last attempt (then DEAD)."""

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        DELIVERED = "delivered", _("Delivered")
        DEAD = "dead", _("Dead letter")

    webhook = models.ForeignKey(
        PartnerWebhook, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("webhook")
    )
    diversion = models.ForeignKey(
        Diversion, on_delete=models.PROTECT, related_name="webhook_deliveries", verbose_name=_("diversion")
    )
    event = models.CharField(_("event"), max_length=32)
    payload = models.JSONField(_("payload"), encoder=DjangoJSONEncoder)
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    # When the next attempt is due (a claimed attempt in flight pushes it a lease ahead); null once settled.
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    last_status = models.PositiveIntegerField(_("last HTTP status"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at", "-id"]
        indexes = [
            # The sweep: pending deliveries whose next attempt is due (webhooks.deliveries_claim).
            models.Index(fields=["next_attempt_at"], name="webhook_delivery_due", condition=Q(state="pending")),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.event} → {self.webhook_id}"
