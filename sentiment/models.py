"""网情 (online public opinion): posts from the sources a center watches, each scored offline (polarity, police
relevance, topics in the incident categories, places, a risk colour), grouped into events with their
near-duplicates, matched against each org's watch lists, and counted against a baseline for spikes. Fields,
constraints and indexes only; writes live in services.py, scoring in scoring.py and classifier.py.

Sentiment sits beside dispatch, above incidents and places (it maps topics to incident categories and places
to the orgs that own them); it imports no intel: the loop turns a warning or an event into a 研判 from above
(intel's `Analysis.source` and `Analysis.posts`).
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from command_center.models import Org


class Polarity(models.TextChoices):
    NEGATIVE = "negative", _("Negative")
    NEUTRAL = "neutral", _("Neutral")
    POSITIVE = "positive", _("Positive")


class Risk(models.TextChoices):
    """A post's, an event's or a warning's colour: red is the worst. NONE: nothing to watch."""

    RED = "red", _("Red")
    YELLOW = "yellow", _("Yellow")
    BLUE = "blue", _("Blue")
    NONE = "", _("None")


RISK_RANK = {Risk.RED: 3, Risk.YELLOW: 2, Risk.BLUE: 1, Risk.NONE: 0}


class Source(models.Model):
    """Where posts come from (微博, 微信, 抖音, a news site, a feed). A post naming an unknown or retired source
    is refused: the center decides what it watches."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("source")
        verbose_name_plural = _("sources")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Event(models.Model):
    """舆情事件: near-duplicate posts (reposts, copies, the same story retold; text.py) grouped. Counts are
    kept by the service that adds a post, in the post's transaction."""

    org = models.ForeignKey(
        Org, on_delete=models.PROTECT, related_name="sentiment_events", verbose_name=_("organisation")
    )
    title = models.CharField(_("title"), max_length=200)
    category = models.CharField(_("category"), max_length=12, blank=True)
    first_seen = models.DateTimeField(_("first seen"))
    last_seen = models.DateTimeField(_("last seen"))
    posts_n = models.PositiveIntegerField(_("posts"), default=0)
    negative_n = models.PositiveIntegerField(_("negative"), default=0)
    neutral_n = models.PositiveIntegerField(_("neutral"), default=0)
    positive_n = models.PositiveIntegerField(_("positive"), default=0)
    reach = models.BigIntegerField(_("reach"), default=0, help_text=_("Reposts, comments and likes of its posts."))
    places = models.JSONField(_("places"), default=list, blank=True)
    risk = models.CharField(_("risk"), max_length=8, choices=Risk.choices, blank=True)
    version = models.PositiveIntegerField(_("version"), default=1)

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        ordering = ["-last_seen", "-id"]
        indexes = [models.Index(fields=["org", "-last_seen"], name="sentiment_event_org_seen")]

    def __str__(self) -> str:
        return self.title


class Post(models.Model):
    """One post as it came in, and what scoring found in it. Idempotent on (source, external id): a post sent
    again updates its metrics, never doubles."""

    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="posts", verbose_name=_("source"))
    external_id = models.CharField(_("external id"), max_length=200)
    author = models.CharField(_("author"), max_length=200, blank=True)
    url = models.URLField(_("link"), max_length=1000, blank=True)
    text = models.TextField(_("text"))
    published_at = models.DateTimeField(_("published at"))
    received_at = models.DateTimeField(_("received at"))
    place = models.CharField(_("place"), max_length=200, blank=True, help_text=_("The place the source gives."))
    lat = models.FloatField(
        _("latitude"), null=True, blank=True, validators=[MinValueValidator(-90), MaxValueValidator(90)]
    )
    lon = models.FloatField(
        _("longitude"), null=True, blank=True, validators=[MinValueValidator(-180), MaxValueValidator(180)]
    )
    reposts = models.PositiveIntegerField(_("reposts"), default=0)
    comments = models.PositiveIntegerField(_("comments"), default=0)
    likes = models.PositiveIntegerField(_("likes"), default=0)
    # Scoring (scoring.py), in the ingest's transaction.
    polarity = models.CharField(_("polarity"), max_length=8, choices=Polarity.choices)
    polarity_score = models.FloatField(_("polarity score"), help_text=_("From -1 (negative) to 1 (positive)."))
    police = models.BooleanField(_("police-related (涉警)"), default=False)
    police_terms = models.JSONField(_("police terms"), default=list, blank=True)
    categories = models.JSONField(_("topics"), default=list, blank=True, help_text=_("Incident category codes."))
    category = models.CharField(_("main topic"), max_length=12, blank=True)
    topic_terms = models.JSONField(_("topic terms"), default=list, blank=True)
    places = models.JSONField(_("places found"), default=list, blank=True)
    org = models.ForeignKey(
        Org,
        on_delete=models.PROTECT,
        related_name="sentiment_posts",
        verbose_name=_("organisation"),
        help_text=_("The org whose area the post's place lies in; the root of the tree when none is found."),
    )
    risk = models.CharField(_("risk"), max_length=8, choices=Risk.choices, blank=True)
    flagged = models.BooleanField(_("flagged"), default=False, help_text=_("Police-related, risky or watched."))
    model = models.CharField(_("model"), max_length=100, blank=True)
    # The four bands of the text's MinHash signature (text.py): near-duplicates share at least one, mostly.
    band0 = models.IntegerField()
    band1 = models.IntegerField()
    band2 = models.IntegerField()
    band3 = models.IntegerField()
    event = models.ForeignKey(
        Event, on_delete=models.SET_NULL, null=True, blank=True, related_name="posts", verbose_name=_("event")
    )

    class Meta:
        verbose_name = _("post")
        verbose_name_plural = _("posts")
        ordering = ["-published_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["source", "external_id"], name="sentiment_post_once")]
        indexes = [
            models.Index(fields=["org", "-published_at"], name="sentiment_post_org_time"),
            models.Index(fields=["published_at", "category"], name="sentiment_post_time_cat"),
            models.Index(fields=["band0", "published_at"], name="sentiment_post_band0"),
            models.Index(fields=["band1", "published_at"], name="sentiment_post_band1"),
            models.Index(fields=["band2", "published_at"], name="sentiment_post_band2"),
            models.Index(fields=["band3", "published_at"], name="sentiment_post_band3"),
            models.Index(fields=["org", "-received_at"], name="sentiment_post_flagged", condition=Q(flagged=True)),
        ]

    def __str__(self) -> str:
        return self.text[:40]


class WatchList(models.Model):
    """布控: an org's watch list — a keyword expression (AND, OR, NOT, brackets; words side by side mean AND),
    accounts and places. A new post that matches raises a hit on the org's board."""

    org = models.ForeignKey(Org, on_delete=models.PROTECT, related_name="watch_lists", verbose_name=_("organisation"))
    name = models.CharField(_("name"), max_length=100)
    expression = models.CharField(_("keywords"), max_length=1000, blank=True)
    accounts = models.JSONField(_("accounts"), default=list, blank=True)
    places = models.JSONField(_("places"), default=list, blank=True)
    colour = models.CharField(_("colour"), max_length=8, choices=Risk.choices, default=Risk.YELLOW)
    active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("created by")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("watch list")
        verbose_name_plural = _("watch lists")
        ordering = ["org__path", "name"]
        constraints = [models.UniqueConstraint(fields=["org", "name"], name="sentiment_watch_name_once")]

    def __str__(self) -> str:
        return self.name


class WatchHit(models.Model):
    """A post that matched a watch list, and what matched."""

    watch = models.ForeignKey(WatchList, on_delete=models.CASCADE, related_name="hits", verbose_name=_("watch list"))
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="hits", verbose_name=_("post"))
    org = models.ForeignKey(Org, on_delete=models.PROTECT, related_name="+", verbose_name=_("organisation"))
    matched = models.JSONField(_("matched"), default=list)
    created_at = models.DateTimeField(_("created at"))
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)

    class Meta:
        verbose_name = _("watch hit")
        verbose_name_plural = _("watch hits")
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["watch", "post"], name="sentiment_hit_once")]
        indexes = [models.Index(fields=["org", "-created_at"], name="sentiment_hit_org_time")]

    def __str__(self) -> str:
        return f"{self.watch_id}:{self.post_id}"


class SpikeRule(models.Model):
    """How far above its baseline an hour's count must be, per org (the nearest ancestor's rule applies; the
    row without an org is the default): the hour's count against the same hour of the previous `days` days,
    mean + k·σ per colour, and at least `min_count` posts."""

    org = models.OneToOneField(
        Org, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("organisation")
    )
    days = models.PositiveSmallIntegerField(_("baseline days"), default=7, validators=[MinValueValidator(2)])
    k_blue = models.FloatField(_("k for blue"), default=2.0)
    k_yellow = models.FloatField(_("k for yellow"), default=3.0)
    k_red = models.FloatField(_("k for red"), default=5.0)
    min_count = models.PositiveIntegerField(_("minimum posts"), default=5)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("spike rule")
        verbose_name_plural = _("spike rules")
        constraints = [
            models.UniqueConstraint(fields=["org"], name="sentiment_spike_default_once", nulls_distinct=False),
            models.CheckConstraint(
                condition=Q(k_blue__lte=models.F("k_yellow")) & Q(k_yellow__lte=models.F("k_red")),
                name="sentiment_spike_k_order",
            ),
        ]

    def __str__(self) -> str:
        return str(self.org or _("Default"))


class Warning(models.Model):
    """网情预警: a spike of posts on a topic in an org's area above its baseline, or an event that grew past
    its thresholds. It becomes work in one click: a 研判 (intel) with its posts attached."""

    class Kind(models.TextChoices):
        SPIKE = "spike", _("Spike")
        EVENT = "event", _("Event")

    class State(models.TextChoices):
        OPEN = "open", _("Open")
        ANALYSED = "analysed", _("Analysed")
        DISMISSED = "dismissed", _("Dismissed")

    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    org = models.ForeignKey(
        Org, on_delete=models.PROTECT, related_name="sentiment_warnings", verbose_name=_("organisation")
    )
    category = models.CharField(_("topic"), max_length=12, blank=True)
    colour = models.CharField(_("colour"), max_length=8, choices=Risk.choices)
    hour = models.DateTimeField(_("hour"), help_text=_("The hour counted (its start)."))
    count = models.PositiveIntegerField(_("posts in the hour"))
    baseline_mean = models.FloatField(_("baseline mean"))
    baseline_sd = models.FloatField(_("baseline σ"))
    reason = models.CharField(_("reason"), max_length=300)
    event = models.ForeignKey(
        Event, on_delete=models.PROTECT, null=True, blank=True, related_name="warnings", verbose_name=_("event")
    )
    posts = models.ManyToManyField(Post, blank=True, related_name="warnings", verbose_name=_("posts"))
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.OPEN)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("sentiment warning")
        verbose_name_plural = _("sentiment warnings")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "org", "category", "hour"], name="sentiment_warning_once"),
        ]
        indexes = [models.Index(fields=["org", "-created_at"], name="sentiment_warning_org_time")]

    def __str__(self) -> str:
        return self.reason


class Feed(models.Model):
    """A feed pulled by beat: RSS/Atom, or JSON (a list of posts, or an object holding one under `items`).
    None is configured by default. A failing feed backs off (1, 2, 4 … minutes, at most a day) and shows as
    failing; it never holds up the others."""

    class Kind(models.TextChoices):
        RSS = "rss", _("RSS / Atom")
        JSON = "json", _("JSON")

    name = models.CharField(_("name"), max_length=100, unique=True)
    url = models.URLField(_("URL"), max_length=1000)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, default=Kind.RSS)
    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="feeds", verbose_name=_("source"))
    interval_s = models.PositiveIntegerField(_("interval (seconds)"), default=300, validators=[MinValueValidator(30)])
    auth_header = models.CharField(
        _("authorisation header"), max_length=500, blank=True, help_text=_('Sent as is, e.g. "Bearer …".')
    )
    active = models.BooleanField(_("active"), default=True)
    failures = models.PositiveIntegerField(_("failures in a row"), default=0)
    next_pull_at = models.DateTimeField(_("next pull"), null=True, blank=True)
    last_pulled_at = models.DateTimeField(_("last pulled"), null=True, blank=True)
    last_ok_at = models.DateTimeField(_("last success"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    last_stored = models.PositiveIntegerField(_("posts stored at the last pull"), default=0)

    class Meta:
        verbose_name = _("feed")
        verbose_name_plural = _("feeds")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def failing(self) -> bool:
        return self.failures > 0


class ScoringModel(models.Model):
    """A polarity model trained with `sentiment_train` on the center's own labelled posts (classifier.py
    stores it as numpy arrays, never a pickle). The active one scores new posts; with none active, the model
    that ships with the project does."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    classes = models.JSONField(_("classes"), default=list)
    data = models.BinaryField(_("model"))
    rows = models.PositiveIntegerField(_("training rows"), default=0)
    trained_on = models.CharField(_("trained on"), max_length=300, blank=True)
    metrics = models.JSONField(_("metrics"), default=dict, blank=True)
    active = models.BooleanField(_("active"), default=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("scoring model")
        verbose_name_plural = _("scoring models")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["active"], condition=Q(active=True), name="sentiment_one_active")
        ]

    def __str__(self) -> str:
        return self.name
