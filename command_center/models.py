"""Kernel models: the org tree, people, code tables and deadlines (clocks).

Fields, constraints and indexes only; every write that carries meaning lives in a service module
(`orgs`, `clocks`, `audit`).
"""

from __future__ import annotations

import functools

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from treebeard.mp_tree import MP_Node

from .audit import TransitionLog, log_transition

__all__ = [
    "ApiToken",
    "Category",
    "Deadline",
    "HandlingResult",
    "Org",
    "Person",
    "Role",
    "SupervisionLevel",
    "TransitionLog",
    "log_transition",
]


class Org(MP_Node):
    """One unit of the organisation tree: province › city › county › station › community, or a partner.

    Materialised paths make "this org and everything under it" one `path LIKE 'xxxx%'` index scan, which
    is what scoping asks on every request.
    """

    class Level(models.TextChoices):
        PROVINCE = "province", _("Province")
        CITY = "city", _("City")
        COUNTY = "county", _("County / district")
        STATION = "station", _("Police station")
        COMMUNITY = "community", _("Community / village")

    class Kind(models.TextChoices):
        POLICE = "police", _("Police")
        PARTNER = "partner", _("Partner agency")

    name = models.CharField(_("name"), max_length=100)
    level = models.CharField(_("level"), max_length=16, choices=Level.choices)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.POLICE)
    region_code = models.CharField(
        _("region code"),
        max_length=12,
        blank=True,
        validators=[RegexValidator(r"^\d{6}(\d{3}|\d{6})?$", _("A region code has 6, 9 or 12 digits."))],
        help_text=_("行政区划代码: 6 digits for a county or above, 9 or 12 below."),
    )
    lat = models.FloatField(
        _("latitude"), null=True, blank=True, validators=[MinValueValidator(-90), MaxValueValidator(90)]
    )
    lon = models.FloatField(
        _("longitude"), null=True, blank=True, validators=[MinValueValidator(-180), MaxValueValidator(180)]
    )
    is_command_center = models.BooleanField(_("command center"), default=False)

    # No node_order_by: siblings keep insertion order, so adding an org never rewrites other orgs' paths.

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")

    def __str__(self) -> str:
        return self.name

    def subtree(self) -> models.QuerySet[Org]:
        """This org and every org under it."""
        return Org.objects.filter(path__startswith=self.path, depth__gte=self.depth)

    def lineage(self) -> list[Org]:
        """The root first, this org last: the groups a broadcast about this org reaches.

        Asked on every push and intake, answered from the per-process memory (memo.py).
        """
        from . import memo

        prefixes = [self.path[: i * self.steplen] for i in range(1, self.depth + 1)]
        found = memo.remember(
            ("org.lineage", self.pk, self.path),
            lambda: list(Org.objects.filter(path__in=prefixes).order_by("depth")),
        )
        return list(found)

    def contains(self, other: Org) -> bool:
        return other.path.startswith(self.path)


class Role(models.TextChoices):
    """What a person does. Each role is a Django group of the same name holding its permissions."""

    CALL_TAKER = "call_taker", _("Call-taker")
    DUTY_OFFICER = "duty_officer", _("Duty officer")
    COMMANDER = "commander", _("Commander")
    STATION_OFFICER = "station_officer", _("Station officer")
    ANALYST = "analyst", _("Analyst")
    SUPERVISOR = "supervisor", _("Supervisor")
    PARTNER = "partner", _("Partner")
    VOLUNTEER = "volunteer", _("Volunteer")
    ADMIN = "admin", _("Administrator")


class Person(models.Model):
    """A user acting for one org. Roles are the user's groups named after `Role` values."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="person", verbose_name=_("user")
    )
    org = models.ForeignKey(Org, on_delete=models.PROTECT, related_name="people", verbose_name=_("organisation"))
    display_name = models.CharField(_("display name"), max_length=60, blank=True)
    badge_no = models.CharField(_("badge number"), max_length=20, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("people")

    def __str__(self) -> str:
        return self.display_name or self.user.get_username()

    @functools.cached_property
    def roles(self) -> list[str]:
        """Asked several times per request (scope checks, masking): read once per Person instance."""
        names = {g.name for g in self.user.groups.all()}
        return [r.value for r in Role if r.value in names]

    def has_role(self, *roles: str) -> bool:
        return bool(set(roles) & set(self.roles))


# --- API tokens -----------------------------------------------------------------------------------------


class ApiToken(models.Model):
    """An API token, sent as `Authorization: Token <id>.<secret>` (issue, check and revoke in `tokens.py`).

    `id` is public: a random name to list and revoke the token by, and the part of the token the server looks
    it up with. Of the secret only its SHA-256 `digest` is stored (32 random bytes: a fast hash is enough, no
    one guesses 256 bits), so a copy of this table logs nobody in. `password_fp` is a fingerprint of the
    user's password hash when the token was issued: a token whose user's password changed since, by any path
    (even raw SQL), is refused and deleted.

    Not django-rest-knox's AuthToken: knox keys its rows by the digest (the only id it has to list and revoke
    by is the digest or the first characters of the secret itself), has no name, last use or password
    binding, and its authentication and views (two queries per request, login by session or basic auth) are
    what this project replaces anyway; what would remain of it is a hash call.
    """

    id = models.CharField(_("id"), max_length=16, primary_key=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("user")
    )
    name = models.CharField(_("name"), max_length=100, blank=True, help_text=_("What the token is for."))
    digest = models.CharField(_("digest"), max_length=64, editable=False)
    password_fp = models.CharField(_("password fingerprint"), max_length=64, editable=False)
    created_at = models.DateTimeField(_("created at"), editable=False)
    expires_at = models.DateTimeField(_("expires at"), editable=False)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        indexes = [
            # The hourly chore: `DELETE WHERE expires_at <= now`.
            models.Index(fields=["expires_at"], name="apitoken_expires"),
        ]

    def __str__(self) -> str:
        return f"{self.pk} ({self.name})" if self.name else self.pk


# --- Code tables ----------------------------------------------------------------------------------------

category_code_validator = RegexValidator(r"^\d{6}$", _("A category code has six digits (AABBCD)."))


class LocalName:
    """A code table row's name in the active language: `name_en` when English is chosen and the row has one,
    else the (Chinese) `name`. Read per request, so a page and its API answer in the reader's language."""

    name: str
    name_en: str

    @property
    def local_name(self) -> str:
        if (translation.get_language() or "").startswith("en") and self.name_en:
            return self.name_en
        return self.name


class Category(LocalName, models.Model):
    """Incident category (警情类别), four levels in six digits AABBCD.

    Level 1 类别 `AA0000`, level 2 类型 `AABB00`, level 3 细类 `AABBC0`, level 4 子类 `AABBCD`; a code begins
    with its parent's significant digits. The default table is the project's own (the national names are not
    public); a province replaces it by importing its official table.
    """

    SIGNIFICANT_DIGITS = {1: 2, 2: 4, 3: 5, 4: 6}

    code = models.CharField(_("code"), max_length=6, primary_key=True, validators=[category_code_validator])
    name = models.CharField(_("name"), max_length=60)
    name_en = models.CharField(_("English name"), max_length=80, blank=True)
    level = models.PositiveSmallIntegerField(
        _("level"), validators=[MinValueValidator(1), MaxValueValidator(4)], help_text=_("1 类别 … 4 子类")
    )
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children", verbose_name=_("parent")
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("incident category")
        verbose_name_plural = _("incident categories")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(level__gte=1, level__lte=4), name="category_level_1_to_4"),
            models.CheckConstraint(
                condition=Q(level=1, parent__isnull=True) | Q(level__gt=1, parent__isnull=False),
                name="category_parent_iff_not_top",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def prefix(self) -> str:
        """The significant digits: what a category filter matches with `startswith`."""
        return self.code[: self.SIGNIFICANT_DIGITS[self.level]]


class HandlingResult(LocalName, models.Model):
    """Handling-result code (处理结果) of a feedback."""

    code = models.CharField(_("code"), max_length=4, primary_key=True)
    name = models.CharField(_("name"), max_length=60)
    name_en = models.CharField(_("English name"), max_length=80, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("handling result")
        verbose_name_plural = _("handling results")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class SupervisionLevel(LocalName, models.Model):
    """Supervision level (督办级别) of a formal supervision order; a higher rank is more severe."""

    code = models.CharField(_("code"), max_length=4, primary_key=True)
    rank = models.PositiveSmallIntegerField(_("rank"), unique=True)
    name = models.CharField(_("name"), max_length=60)
    name_en = models.CharField(_("English name"), max_length=80, blank=True)

    class Meta:
        verbose_name = _("supervision level")
        verbose_name_plural = _("supervision levels")
        ordering = ["rank"]

    def __str__(self) -> str:
        return self.name


# --- Clocks ---------------------------------------------------------------------------------------------


def unmet_q(relation: str = "") -> Q:
    """Not met and not cancelled (running, or broken and still awaited), as a condition. `relation` names the
    path from another model to its deadline ("deadline" from a reminder), so every query says it one way."""
    prefix = f"{relation}__" if relation else ""
    return Q(**{f"{prefix}met_at__isnull": True, f"{prefix}cancelled_at__isnull": True})


class DeadlineQuerySet(models.QuerySet["Deadline"]):
    def open(self) -> DeadlineQuerySet:
        return self.filter(OPEN)  # the partial index's own condition

    def due(self, now: object) -> DeadlineQuerySet:
        return self.open().filter(due_at__lte=now)

    def unmet(self) -> DeadlineQuerySet:
        """Running clocks and broken ones not met since (a late signature meets a breached sign clock)."""
        return self.filter(unmet_q())

    def breached(self) -> DeadlineQuerySet:
        return self.filter(breached_at__isnull=False)


OPEN = Q(met_at__isnull=True, cancelled_at__isnull=True, breached_at__isnull=True)


class Deadline(models.Model):
    """A clock: something that must happen to `subject` by `due_at`, answered for by `org`.

    Services start, meet and cancel deadlines inside the transaction that changes the subject's state
    (see `clocks.py`); the sweep marks due ones breached exactly once.
    """

    subject_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, verbose_name=_("subject type"))
    subject_id = models.BigIntegerField(_("subject id"))
    subject = GenericForeignKey("subject_type", "subject_id")
    kind = models.CharField(_("kind"), max_length=40)
    org = models.ForeignKey(Org, on_delete=models.PROTECT, related_name="deadlines", verbose_name=_("responsible org"))
    level = models.PositiveSmallIntegerField(_("escalation level"), default=0)
    started_at = models.DateTimeField(_("started at"))
    due_at = models.DateTimeField(_("due at"))
    met_at = models.DateTimeField(_("met at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    breached_at = models.DateTimeField(_("breached at"), null=True, blank=True)
    # When the breach reached the boards. A breach is recorded exactly once; its push is retried by the sweep
    # until it went out (a worker killed between commit and push, Redis down): pushed at least once.
    pushed_at = models.DateTimeField(_("pushed at"), null=True, blank=True)
    # Poison-row handling: a breach whose escalation raised is retried later, not in a tight loop.
    attempts = models.PositiveSmallIntegerField(_("failed attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)

    objects = DeadlineQuerySet.as_manager()

    class Meta:
        verbose_name = _("deadline")
        verbose_name_plural = _("deadlines")
        indexes = [
            # The sweep: `WHERE <open> AND due_at <= now ORDER BY due_at` — only open rows are indexed, so
            # the index stays small however many met deadlines pile up.
            models.Index(fields=["due_at"], condition=OPEN, name="deadline_open_due"),
            # A subject's clocks: meet/cancel by (subject, kind), timelines.
            models.Index(fields=["subject_type", "subject_id", "kind"], name="deadline_subject"),
            # Overdue lists by org.
            models.Index(fields=["org", "breached_at"], name="deadline_org_breached"),
            # The sweep's second look: breaches whose push did not go out.
            models.Index(
                fields=["breached_at"],
                condition=Q(breached_at__isnull=False, pushed_at__isnull=True),
                name="deadline_unpushed",
            ),
        ]
        constraints = [
            # One running clock of a kind per subject: starting it twice is a bug, not a second clock.
            models.UniqueConstraint(
                fields=["subject_type", "subject_id", "kind"], condition=OPEN, name="deadline_one_open_per_kind"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.subject_id} due {self.due_at:%Y-%m-%d %H:%M:%S}"

    @property
    def state(self) -> str:
        if self.met_at:
            return "met"
        if self.cancelled_at:
            return "cancelled"
        if self.breached_at:
            return "breached"
        return "open"
