"""Dispatch (派警): police units and where they are, the duty roster (勤务), and dispatch orders (派警单).

Fields, constraints and indexes only; every write lives in services.py, every state table in transitions.py.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from command_center.models import Org, Person, TransitionLog
from incidents.models import Incident

LAT = [MinValueValidator(-90), MaxValueValidator(90)]
LON = [MinValueValidator(-180), MaxValueValidator(180)]

capability_validator = RegexValidator(
    r"^\d{1,6}$", _("A capability is the beginning of a category code: 1 to 6 digits (e.g. 02 or 0205).")
)


class Unit(models.Model):
    """A police unit (警力): a patrol car, a foot patrol, a post (警务站), a motorbike, a group of officers.

    `org` is the station (or other org) the unit belongs to: orders to the unit are addressed to it, and it
    decides who sees the unit. `status` moves only through services (transitions.UNIT).
    """

    class Kind(models.TextChoices):
        PATROL_CAR = "patrol_car", _("Patrol car")
        FOOT_PATROL = "foot_patrol", _("Foot patrol")
        POST = "post", _("Police post (警务站)")
        MOTORBIKE = "motorbike", _("Motorbike")
        OFFICER_GROUP = "officer_group", _("Officer group")

    class Status(models.TextChoices):
        AVAILABLE = "available", _("Available")
        EN_ROUTE = "en_route", _("En route")
        ON_SCENE = "on_scene", _("On scene")
        BUSY = "busy", _("Busy")
        OFF_DUTY = "off_duty", _("Off duty")
        OUT_OF_SERVICE = "out_of_service", _("Out of service")

    class Ring(models.IntegerChoices):
        """The quick-response ring (快反圈) of the 1-3-5 mechanism: arrive within 1, 3 or 5 minutes."""

        ONE = 1, _("1 minute")
        THREE = 3, _("3 minutes")
        FIVE = 5, _("5 minutes")

    call_sign = models.CharField(_("call sign"), max_length=32, unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.PATROL_CAR)
    org = models.ForeignKey(Org, on_delete=models.PROTECT, related_name="units", verbose_name=_("organisation"))
    capabilities = ArrayField(
        models.CharField(max_length=6, validators=[capability_validator]),
        verbose_name=_("capabilities"),
        default=list,
        blank=True,
        help_text=_("Category code prefixes the unit may take (02 = all 治安, 0205 = one type); empty = any."),
    )
    ring_minutes = models.PositiveSmallIntegerField(
        _("quick-response ring (minutes)"), choices=Ring.choices, default=Ring.THREE
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.AVAILABLE)
    status_reason = models.CharField(_("status reason"), max_length=200, blank=True)
    status_changed_at = models.DateTimeField(_("status changed at"), null=True, blank=True)
    lat = models.FloatField(_("latitude"), null=True, blank=True, validators=LAT)
    lon = models.FloatField(_("longitude"), null=True, blank=True, validators=LON)
    position_at = models.DateTimeField(_("position reported at"), null=True, blank=True)
    version = models.PositiveIntegerField(_("version"), default=1)

    class Meta:
        verbose_name = _("unit")
        verbose_name_plural = _("units")
        ordering = ["call_sign"]
        constraints = [
            models.CheckConstraint(condition=Q(ring_minutes__in=[1, 3, 5]), name="unit_ring_1_3_5"),
            models.CheckConstraint(
                condition=Q(lat__isnull=True, lon__isnull=True) | Q(lat__isnull=False, lon__isnull=False),
                name="unit_position_whole",
            ),
        ]
        indexes = [
            # Recommendation: available units inside a bounding box (`lat BETWEEN … AND lon BETWEEN …`);
            # only available units are indexed, so the index is small and a position ping of a busy unit
            # does not touch it.
            models.Index(fields=["lat", "lon"], condition=Q(status="available"), name="unit_available_position"),
            # Lists and boards: an org's units by status.
            models.Index(fields=["org", "status"], name="unit_org_status"),
        ]

    def __str__(self) -> str:
        return self.call_sign

    @property
    def has_position(self) -> bool:
        return self.lat is not None and self.lon is not None


class UnitTransition(TransitionLog):
    subject = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="transitions")


class Shift(models.Model):
    """One stretch of duty (勤务): `person` on duty at `org` (optionally on `unit`) from `starts_at` to
    `ends_at`. `is_commander` marks the commander of the day (值班长/指挥长) of a command center."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="shifts", verbose_name=_("person"))
    org = models.ForeignKey(Org, on_delete=models.PROTECT, related_name="shifts", verbose_name=_("organisation"))
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, null=True, blank=True, related_name="shifts", verbose_name=_("unit")
    )
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    is_commander = models.BooleanField(
        _("commander of the day"), default=False, help_text=_("Only on a shift at a command center.")
    )
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("shift")
        verbose_name_plural = _("shifts")
        ordering = ["starts_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="shift_ends_after_start"),
        ]
        indexes = [
            # "Who is on duty at org X now": `org = X AND starts_at <= now AND ends_at > now`.
            models.Index(fields=["org", "starts_at", "ends_at"], name="shift_org_time"),
            # "Commander of the day of command center X": only commander shifts are indexed.
            models.Index(fields=["org", "-starts_at"], condition=Q(is_commander=True), name="shift_commander"),
        ]

    def __str__(self) -> str:
        return f"{self.person} @ {self.org} {self.starts_at:%m-%d %H:%M}–{self.ends_at:%m-%d %H:%M}"

    def clean(self) -> None:
        errors: dict[str, Any] = {}
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            errors["ends_at"] = _("A shift ends after it starts.")
        if self.is_commander and self.org_id and not self.org.is_command_center:
            errors["is_commander"] = _("The commander of the day is on duty at a command center.")
        if self.unit is not None and self.org_id and not self.org.contains(self.unit.org):
            errors["unit"] = _("The unit belongs to another organisation.")
        if errors:
            raise ValidationError(errors)


class DispatchOrder(models.Model):
    """派警单: one incident's order to a station or to a unit (then addressed to the unit's org).

    `sent → delivered (the station's screen showed it) → signed (签收, by a named person) → arrived → done`,
    or `returned` (退单, with a reason) / `cancelled`. Each step's time is kept apart; the due times of the
    running clocks are copied here so lists and pushes can show countdowns without reading the clocks.
    """

    class State(models.TextChoices):
        SENT = "sent", _("Sent")
        DELIVERED = "delivered", _("Delivered")
        SIGNED = "signed", _("Signed")
        ARRIVED = "arrived", _("Arrived")
        DONE = "done", _("Done")
        RETURNED = "returned", _("Returned")
        CANCELLED = "cancelled", _("Cancelled")

    class Kind(models.TextChoices):
        FIRST = "first", _("First responder")
        REINFORCEMENT = "reinforcement", _("Reinforcement")

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="orders", verbose_name=_("incident"))
    org = models.ForeignKey(Org, on_delete=models.PROTECT, related_name="orders", verbose_name=_("addressed to"))
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, null=True, blank=True, related_name="orders", verbose_name=_("unit")
    )
    dispatcher = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("dispatcher")
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.FIRST)
    note = models.TextField(_("instructions"), blank=True)
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.SENT)
    version = models.PositiveIntegerField(_("version"), default=1)
    ring_minutes = models.PositiveSmallIntegerField(_("quick-response ring (minutes)"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"))
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    signed_at = models.DateTimeField(_("signed at"), null=True, blank=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("signed by"),
    )
    arrived_at = models.DateTimeField(_("arrived at"), null=True, blank=True)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    returned_at = models.DateTimeField(_("returned at"), null=True, blank=True)
    return_reason = models.TextField(_("return reason"), blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancel_reason = models.TextField(_("cancel reason"), blank=True)
    # 改派: this order took over from a cancelled one (the same incident, another unit or station).
    replaces = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="replaced_by", verbose_name=_("replaces")
    )
    sign_due_at = models.DateTimeField(_("sign due at"), null=True, blank=True)
    arrive_due_at = models.DateTimeField(_("arrival due at"), null=True, blank=True)
    feedback_due_at = models.DateTimeField(_("report due at"), null=True, blank=True)

    class Meta:
        verbose_name = _("dispatch order")
        verbose_name_plural = _("dispatch orders")
        ordering = ["-sent_at", "-id"]
        constraints = [
            # A unit carries one live order at a time; the database refuses a second even if two dispatchers
            # race past the unit's status check.
            models.UniqueConstraint(
                fields=["unit"],
                condition=Q(state__in=["sent", "delivered", "signed", "arrived"]),
                name="order_one_live_per_unit",
            ),
        ]
        indexes = [
            # The station inbox: an org's orders by state, newest first.
            models.Index(fields=["org", "state", "-sent_at"], name="order_inbox"),
            # An incident's orders (first responder, reinforcements), in order.
            models.Index(fields=["incident", "sent_at"], name="order_incident"),
        ]

    def __str__(self) -> str:
        return f"{self.incident} → {self.unit or self.org}"


class OrderTransition(TransitionLog):
    subject = models.ForeignKey(DispatchOrder, on_delete=models.PROTECT, related_name="transitions")


LIVE_ORDER_STATES = [
    DispatchOrder.State.SENT,
    DispatchOrder.State.DELIVERED,
    DispatchOrder.State.SIGNED,
    DispatchOrder.State.ARRIVED,
]
