"""数字督察: automatic inspection. Rules are code (this registry) plus data (InspectionRule: on/off and
thresholds; InspectionRuleOrg: the same for one org's subtree, the most specific org up the tree winning).
Each rule looks at a time window and names what offends it — an incident, a report, a ledger line, a desk
officer on a day — with the org that answers for it, a sentence and the facts behind it. `inspect` runs
every rule and writes a Finding per subject once (unique per rule, subject and bucket), so running it again
(beat every 10 minutes, `manage.py inspect` by hand) finds nothing twice.

A supervisor or commander of the finding's org confirms it (it counts against the org: `findings_count`,
for the scores) or dismisses it with a reason (it counts against the rule: `rule_counts`' dismissal rate
shows a rule that cries wolf).

Supervision sits above intel, dispatch and incidents: the rules read their tables; nothing below knows of
this module.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from command_center import orgs, words
from command_center.errors import Refused
from command_center.models import Org, Person, Role
from command_center.transitions import InvalidTransition
from dispatch.models import DispatchOrder
from incidents.models import (
    Callback,
    Diversion,
    DiversionTransition,
    Feedback,
    Incident,
    IncidentTransition,
    RepeatCluster,
    Satisfaction,
    State,
)
from intel.models import Directive, TaskReport

from .models import Finding, InspectionRule, InspectionRuleOrg

DECIDE_ROLES = [Role.SUPERVISOR, Role.COMMANDER]
# Who sets the rules: an administrator or a supervisor of a top org (depth 1), or a superuser.
RULE_ROLES = [Role.ADMIN, Role.SUPERVISOR]


# --- The registry --------------------------------------------------------------------------------------


@dataclass
class Hit:
    """What a rule found: the subject (a model row), the org that answers for it, a sentence, the facts
    (JSON) behind it, and a bucket (a local date for the rules that count per day; else empty)."""

    subject: models.Model
    org: Org
    detail: str
    facts: dict[str, Any]
    bucket: str = ""


@dataclass
class Config:
    """A rule's settings as the run sees them: its row, and the overrides by org path."""

    rule: Rule
    row: InspectionRule
    overrides: list[tuple[str, bool, dict[str, Any]]] = field(default_factory=list)  # (org path, enabled, params)

    def for_org(self, org: Org) -> dict[str, Any] | None:
        """The params at `org` (the most specific override up the tree, over the rule's row, over the code's
        defaults), or None when the rule is off there."""
        best = max((o for o in self.overrides if org.path.startswith(o[0])), key=lambda o: len(o[0]), default=None)
        enabled = best[1] if best else self.row.enabled
        if not enabled:
            return None
        return {**self.rule.defaults, **self.row.params, **(best[2] if best else {})}

    def runs(self) -> bool:
        return self.row.enabled or any(o[1] for o in self.overrides)

    def values(self, name: str) -> list[Any]:
        """Every value `name` takes anywhere (for the widest candidate query; each org's own is checked)."""
        found = [self.row.params.get(name, self.rule.defaults[name])]
        return found + [o[2][name] for o in self.overrides if name in o[2]]


Finder = Callable[[Config, datetime, datetime], Iterable[Hit]]


@dataclass(frozen=True)
class Rule:
    key: str
    label: str | Promise
    description: str | Promise
    defaults: dict[str, Any]
    find: Finder
    subject: str  # "app_label.model" of the subjects it names


RULES: list[Rule] = []
BY_KEY: dict[str, Rule] = {}


def rule(key: str, label: str | Promise, description: str | Promise, subject: str, **defaults: Any) -> Any:
    def register(fn: Finder) -> Finder:
        r = Rule(key, label, description, defaults, fn, subject)
        RULES.append(r)
        BY_KEY[key] = r
        return fn

    return register


def _local(dt: datetime | None) -> str:
    return timezone.localtime(dt).strftime("%Y-%m-%d %H:%M:%S") if dt else ""


# --- The rules -----------------------------------------------------------------------------------------


@rule(
    "feedback_too_fast",
    gettext_lazy("Feedback filed too soon after arrival"),
    gettext_lazy("A feedback form filed less than `seconds` after the unit arrived: nobody handles a scene that fast."),
    "incidents.incident",
    seconds=120,
)
def _feedback_too_fast(cfg: Config, since: datetime, now: datetime) -> Iterable[Hit]:
    widest = max(cfg.values("seconds"))
    rows = (
        Feedback.objects.filter(created_at__gte=since, created_at__lt=now)
        .annotate(arrival=Coalesce("arrived_at", "incident__arrived_at"))
        .filter(arrival__isnull=False, created_at__gte=F("arrival"))
        .annotate(gap=ExpressionWrapper(F("created_at") - F("arrival"), output_field=DurationField()))
        .filter(gap__lt=timedelta(seconds=widest))
        .select_related("incident__org")
        .order_by("incident_id", "created_at")
    )
    for fb in rows:
        p = cfg.for_org(fb.incident.org)
        gap = int(fb.gap.total_seconds())
        if p is None or gap >= p["seconds"]:
            continue
        yield Hit(
            fb.incident,
            fb.incident.org,
            _("Feedback filed %(gap)d s after arrival (the rule: at least %(min)d s).")
            % {"gap": gap, "min": p["seconds"]},
            {
                "feedback": fb.pk,
                "arrived_at": _local(fb.arrival),
                "filed_at": _local(fb.created_at),
                "seconds": gap,
            },
        )


@rule(
    "closed_without_arrival",
    gettext_lazy("Closed without an arrival record"),
    gettext_lazy(
        "A closed incident with no arrival anywhere: no order arrived, no feedback gives an arrival time. "
        "Incidents a partner closed are left out; self-handled ones too when `include_self_handled` is false."
    ),
    "incidents.incident",
    include_self_handled=True,
)
def _closed_without_arrival(cfg: Config, since: datetime, now: datetime) -> Iterable[Hit]:
    rows = (
        Incident.objects.filter(state=State.CLOSED, closed_at__gte=since, closed_at__lt=now, arrived_at__isnull=True)
        .exclude(pk__in=DispatchOrder.objects.filter(arrived_at__isnull=False).values("incident_id"))
        .exclude(pk__in=Feedback.objects.filter(arrived_at__isnull=False).values("incident_id"))
        .exclude(pk__in=Diversion.objects.filter(state=Diversion.State.DONE).values("incident_id"))
        .select_related("org")
        .order_by("pk")
    )
    self_handled = set(
        IncidentTransition.objects.filter(subject__in=rows, event="self_handle").values_list("subject_id", flat=True)
    )
    for i in rows:
        p = cfg.for_org(i.org)
        if p is None or (i.pk in self_handled and not p["include_self_handled"]):
            continue
        yield Hit(
            i,
            i.org,
            _("Closed at %(at)s with no arrival recorded.") % {"at": _local(i.closed_at)},
            {"closed_at": _local(i.closed_at), "self_handled": i.pk in self_handled},
        )


@rule(
    "dissatisfied_unrectified",
    gettext_lazy("Dissatisfied callback without a rectification"),
    gettext_lazy(
        "A callback found the caller dissatisfied, and `grace_minutes` later no rectification (整改) was opened."
    ),
    "incidents.incident",
    grace_minutes=60,
)
def _dissatisfied_unrectified(cfg: Config, since: datetime, now: datetime) -> Iterable[Hit]:
    widest = max(cfg.values("grace_minutes"))
    narrowest = min(cfg.values("grace_minutes"))
    rows = (
        Callback.objects.filter(
            satisfaction=Satisfaction.DISSATISFIED,
            at__gte=since - timedelta(minutes=widest),
            at__lt=now - timedelta(minutes=narrowest),
        )
        .exclude(incident_id__in=Directive.objects.filter(source=Directive.Source.RECTIFICATION).values("incident_id"))
        .select_related("incident__org")
        .order_by("incident_id")
    )
    for cb in rows:
        p = cfg.for_org(cb.incident.org)
        if p is None or cb.at >= now - timedelta(minutes=p["grace_minutes"]):
            continue
        yield Hit(
            cb.incident,
            cb.incident.org,
            _("Dissatisfied callback at %(at)s; no rectification opened %(min)d minutes on.")
            % {"at": _local(cb.at), "min": p["grace_minutes"]},
            {"callback_at": _local(cb.at), "callback_text": cb.text},
        )


@rule(
    "many_invalid",
    gettext_lazy("One desk officer marking many calls invalid"),
    gettext_lazy("One person marked at least `count` calls invalid within the last `hours` hours."),
    "auth.user",
    count=10,
    hours=24,
)
def _many_invalid(cfg: Config, since: datetime, now: datetime) -> Iterable[Hit]:
    hours = max(cfg.values("hours"))
    rows = IncidentTransition.objects.filter(
        event="invalidate", actor__isnull=False, at__gte=now - timedelta(hours=hours), at__lt=now
    ).values_list("actor_id", "at")
    by_actor: dict[int, list[datetime]] = defaultdict(list)
    for actor_id, at in rows:
        by_actor[actor_id].append(at)
    people = Person.objects.filter(user_id__in=by_actor).select_related("org", "user")
    day = timezone.localdate(now).isoformat()
    for person in people:
        p = cfg.for_org(person.org)
        if p is None:
            continue
        n = sum(1 for at in by_actor[person.user_id] if at >= now - timedelta(hours=p["hours"]))
        if n < p["count"]:
            continue
        yield Hit(
            person.user,
            person.org,
            _("%(who)s marked %(n)d calls invalid in %(h)d hours (the rule: fewer than %(max)d).")
            % {"who": str(person), "n": n, "h": p["hours"], "max": p["count"]},
            {"count": n, "hours": p["hours"], "up_to": _local(now)},
            bucket=day,
        )


@rule(
    "diversion_returned_twice",
    gettext_lazy("A diversion returned again and again"),
    gettext_lazy("An incident whose diversions partners returned `returns` times or more: nobody owns it."),
    "incidents.incident",
    returns=2,
)
def _diversion_returned(cfg: Config, since: datetime, now: datetime) -> Iterable[Hit]:
    recent = DiversionTransition.objects.filter(to_state=Diversion.State.RETURNED, at__gte=since, at__lt=now)
    incident_ids = set(recent.values_list("subject__incident_id", flat=True))
    counts = Counter(
        DiversionTransition.objects.filter(
            to_state=Diversion.State.RETURNED, subject__incident_id__in=incident_ids
        ).values_list("subject__incident_id", flat=True)
    )
    for i in Incident.objects.filter(pk__in=incident_ids).select_related("org").order_by("pk"):
        p = cfg.for_org(i.org)
        if p is None or counts[i.pk] < p["returns"]:
            continue
        yield Hit(
            i,
            i.org,
            _("Partners returned its diversion %(n)d times.") % {"n": counts[i.pk]},
            {"returns": counts[i.pk]},
        )


@rule(
    "empty_checklist_note",
    gettext_lazy("A task reported with an empty checklist note"),
    gettext_lazy(
        "A report whose checklist answers carry a note shorter than `min_chars` characters: ticked, not told."
    ),
    "intel.taskreport",
    min_chars=1,
)
def _empty_checklist_note(cfg: Config, since: datetime, now: datetime) -> Iterable[Hit]:
    rows = TaskReport.objects.filter(created_at__gte=since, created_at__lt=now).select_related("task__org")
    for r in rows.order_by("pk"):
        p = cfg.for_org(r.task.org)
        if p is None or not isinstance(r.checklist, list):
            continue
        empty = [
            str(a.get("action", ""))
            for a in r.checklist
            if isinstance(a, dict) and len(str(a.get("note") or "").strip()) < p["min_chars"]
        ]
        if not empty:
            continue
        yield Hit(
            r,
            r.task.org,
            _("Reported with no note on: %(actions)s") % {"actions": "；".join(empty)},
            {"task": r.task_id, "actions": empty, "reported_at": _local(r.created_at)},
        )


@rule(
    "cluster_ungoverned",
    gettext_lazy("A repeat cluster left ungoverned"),
    gettext_lazy(
        "A line of the repeat ledger still open (not put into the loop) `days` days after its first incident."
    ),
    "incidents.repeatcluster",
    days=7,
)
def _cluster_ungoverned(cfg: Config, since: datetime, now: datetime) -> Iterable[Hit]:
    shortest = min(cfg.values("days"))
    rows = RepeatCluster.objects.filter(
        status=RepeatCluster.Status.OPEN, first_at__lt=now - timedelta(days=shortest)
    ).select_related("org")
    for c in rows.order_by("pk"):
        p = cfg.for_org(c.org)
        if p is None or c.first_at >= now - timedelta(days=p["days"]):
            continue
        days = (now - c.first_at).days
        yield Hit(
            c,
            c.org,
            _("Open on the repeat ledger %(days)d days after its first incident (the rule: %(max)d).")
            % {"days": days, "max": p["days"]},
            {"first_at": _local(c.first_at), "count": c.count, "days": days},
        )


# --- Rows and settings ----------------------------------------------------------------------------------


def rules_sync() -> dict[str, InspectionRule]:
    """A row for every rule in code (enabled, the code's defaults); rows of rules no longer in code stay,
    unused. Cheap enough to call on every run and every listing."""
    have = {r.key: r for r in InspectionRule.objects.all()}
    missing = [InspectionRule(key=r.key) for r in RULES if r.key not in have]
    if missing:
        InspectionRule.objects.bulk_create(missing, ignore_conflicts=True)
        have = {r.key: r for r in InspectionRule.objects.all()}
    return have


def rules_read() -> dict[str, InspectionRule]:
    """The rows by key, an unsaved default row for a rule not synced yet (reading writes nothing)."""
    have = {r.key: r for r in InspectionRule.objects.annotate(n_overrides=Count("overrides"))}
    return {r.key: have.get(r.key) or InspectionRule(key=r.key) for r in RULES}


def configs() -> list[Config]:
    rows = rules_sync()
    overrides: dict[int, list[tuple[str, bool, dict[str, Any]]]] = defaultdict(list)
    for o in InspectionRuleOrg.objects.select_related("org"):
        overrides[o.rule_id].append((o.org.path, o.enabled, dict(o.params or {})))
    return [Config(r, rows[r.key], overrides[rows[r.key].pk]) for r in RULES]


def check_params(r: Rule, params: Any) -> dict[str, Any]:
    """Thresholds as given for `r`: known names, each of its default's type (whole numbers ≥ 0, yes/no)."""
    if not isinstance(params, dict):
        raise Refused("params", _("Give the parameters as an object."))
    out: dict[str, Any] = {}
    for name, value in params.items():
        if name not in r.defaults:
            raise Refused("params", _("Unknown parameter: %(name)s") % {"name": name})
        want = r.defaults[name]
        if isinstance(want, bool):
            if not isinstance(value, bool):
                raise Refused("params", _("%(name)s is true or false.") % {"name": name})
        elif isinstance(value, bool) or not isinstance(value, int) or value < 0 or value > 10_000_000:
            raise Refused("params", _("%(name)s is a whole number from 0.") % {"name": name})
        out[name] = value
    return out


def may_set_rules(user: Any) -> bool:
    if getattr(user, "is_superuser", False):
        return True
    person = orgs.person_of(user)
    return person is not None and person.org.depth == 1 and person.has_role(*RULE_ROLES)


@transaction.atomic
def rule_update(*, key: str, actor: Any, enabled: bool | None = None, params: Any = None) -> InspectionRule:
    """Turn a rule on or off, or set its thresholds (those given replace the row's; the rest keep the code's
    defaults). An administrator or a supervisor at the top of the tree."""
    if not may_set_rules(actor):
        raise PermissionDenied(_("Only an administrator or a supervisor at the top sets the rules."))
    r = BY_KEY[key]
    rules_sync()
    row = InspectionRule.objects.select_for_update().get(key=key)
    fields = []
    if enabled is not None:
        row.enabled = enabled
        fields.append("enabled")
    if params is not None:
        row.params = check_params(r, params)
        fields.append("params")
    if fields:
        row.save(update_fields=fields)
    return row


# --- The run --------------------------------------------------------------------------------------------


def inspect(now: datetime | None = None, since: datetime | None = None) -> dict[str, int]:
    """Run every rule that is on somewhere over [since, now) (since: now − INSPECTION_LOOKBACK_S) and write
    what is new; returns the new findings by rule. Idempotent: a subject a rule found before is skipped by
    the unique constraint, whatever its state (a dismissed finding is not raised again)."""
    now = now or timezone.now()
    since = since or now - timedelta(seconds=settings.INSPECTION_LOOKBACK_S)
    created: dict[str, int] = {}
    for cfg in configs():
        if not cfg.runs():
            continue
        hits = list(cfg.rule.find(cfg, since, now))
        types = ContentType.objects.get_for_models(*{type(h.subject) for h in hits}) if hits else {}
        rows = [
            Finding(
                rule=cfg.rule.key,
                subject_type=types[type(h.subject)],
                subject_id=h.subject.pk,
                bucket=h.bucket,
                org=h.org,
                detail=h.detail,
                facts=h.facts,
                found_at=now,
            )
            for h in hits
        ]
        with transaction.atomic():
            before = Finding.objects.filter(rule=cfg.rule.key).count()
            Finding.objects.bulk_create(rows, ignore_conflicts=True)
            created[cfg.rule.key] = Finding.objects.filter(rule=cfg.rule.key).count() - before
    return created


# --- Decisions -----------------------------------------------------------------------------------------


def _decide(*, finding_id: int, actor: Any, state: str, reason: str, event: str) -> Finding:
    f = Finding.objects.select_for_update().select_related("org").get(pk=finding_id)
    orgs.require(actor, f.org, roles=DECIDE_ROLES)
    if f.state != Finding.State.OPEN:
        raise InvalidTransition(f.state, event, [])
    f.state, f.reason, f.decided_by, f.decided_at = state, reason.strip(), actor, timezone.now()
    f.save(update_fields=["state", "reason", "decided_by", "decided_at"])
    return f


@transaction.atomic
def finding_confirm(*, finding_id: int, actor: Any, reason: str = "") -> Finding:
    """确认: the finding stands and counts against its org. 409 when already decided."""
    return _decide(finding_id=finding_id, actor=actor, state=Finding.State.CONFIRMED, reason=reason, event="confirm")


@transaction.atomic
def finding_dismiss(*, finding_id: int, actor: Any, reason: str) -> Finding:
    """排除: the rule was wrong here; the reason is required, and the dismissal counts against the rule."""
    if not reason.strip():
        raise Refused("reason", _("Say why the finding is dismissed."))
    return _decide(finding_id=finding_id, actor=actor, state=Finding.State.DISMISSED, reason=reason, event="dismiss")


# --- Reading -------------------------------------------------------------------------------------------


def visible_findings(user: Any) -> QuerySet[Finding]:
    return orgs.restrict(Finding.objects.all(), user)


def rule_counts(qs: QuerySet[Finding]) -> dict[str, dict[str, Any]]:
    """Per rule: found, open, confirmed, dismissed, and the dismissal rate (dismissed / decided; None
    before any decision)."""
    rows = (
        qs.order_by()
        .values("rule")
        .annotate(
            found=Count("id"),
            open=Count("id", filter=Q(state=Finding.State.OPEN)),
            confirmed=Count("id", filter=Q(state=Finding.State.CONFIRMED)),
            dismissed=Count("id", filter=Q(state=Finding.State.DISMISSED)),
        )
    )
    out = {r.key: {"found": 0, "open": 0, "confirmed": 0, "dismissed": 0, "dismissal_rate": None} for r in RULES}
    for row in rows:
        decided = row["confirmed"] + row["dismissed"]
        out[row["rule"]] = {
            "found": row["found"],
            "open": row["open"],
            "confirmed": row["confirmed"],
            "dismissed": row["dismissed"],
            "dismissal_rate": round(row["dismissed"] / decided, 4) if decided else None,
        }
    return out


def findings_count(
    org_subtree: Org, first_day: date, last_day: date, state: str | None = Finding.State.CONFIRMED
) -> int:
    """For the scores (考评): findings against `org_subtree` (the org and everything under it) found from
    `first_day` to `last_day` (local dates, inclusive), in `state` (None: any)."""
    tz = timezone.get_current_timezone()
    start = datetime.combine(first_day, datetime.min.time(), tzinfo=tz)
    end = datetime.combine(last_day + timedelta(days=1), datetime.min.time(), tzinfo=tz)
    qs = Finding.objects.filter(org__path__startswith=org_subtree.path, found_at__gte=start, found_at__lt=end)
    if state is not None:
        qs = qs.filter(state=state)
    return qs.count()


def describe(findings: list[Finding]) -> dict[int, dict[str, Any]]:
    """Each finding's subject as a person reads it: {title, detail, org_name, url} (words.describe for
    incidents; a report reads as its task; a ledger line by its address; a person by name and org)."""
    by_type: dict[int, list[Finding]] = defaultdict(list)
    for f in findings:
        by_type[f.subject_type_id].append(f)
    out: dict[int, dict[str, Any]] = {}
    for type_id, group in by_type.items():
        ct = ContentType.objects.get_for_id(type_id)
        label = f"{ct.app_label}.{ct.model}"
        ids = [f.subject_id for f in group]
        if label == "intel.taskreport":
            task_of = dict(TaskReport.objects.filter(pk__in=ids).values_list("pk", "task_id"))
            tasks = words.describe("intel.task", sorted(set(task_of.values())))
            found = {pk: tasks.get(task_id, {}) for pk, task_id in task_of.items()}
        elif label == "incidents.repeatcluster":
            found = {
                c.pk: {"title": c.address, "detail": f"{c.get_kind_display()} ×{c.count}", "org_name": c.org.name}
                for c in RepeatCluster.objects.filter(pk__in=ids).select_related("org")
            }
        elif label == f"{get_user_model()._meta.app_label}.{get_user_model()._meta.model_name}":
            found = {
                p.user_id: {"title": str(p), "detail": p.org.name, "org_name": p.org.name}
                for p in Person.objects.filter(user_id__in=ids).select_related("org", "user")
            }
        else:
            found = words.describe(label, ids)
        for f in group:
            out[f.pk] = {
                "type": ct.model,
                "id": f.subject_id,
                "title": f"#{f.subject_id}",
                **found.get(f.subject_id, {}),
            }
    return out


def confirmed_findings(org_subtree: Org, first_day: date, last_day: date) -> list[dict[str, Any]]:
    """For the scores' deductions (scores.provide_findings): the confirmed findings against `org_subtree`
    found in the period, each with its rule and its subject in words (title, detail, org, page)."""
    tz = timezone.get_current_timezone()
    start = datetime.combine(first_day, datetime.min.time(), tzinfo=tz)
    end = datetime.combine(last_day + timedelta(days=1), datetime.min.time(), tzinfo=tz)
    rows = list(
        Finding.objects.filter(
            org__path__startswith=org_subtree.path,
            found_at__gte=start,
            found_at__lt=end,
            state=Finding.State.CONFIRMED,
        ).order_by("found_at", "pk")
    )
    words_of = describe(rows)
    labels = {r.key: str(r.label) for r in RULES}
    return [
        {"type": "finding", "id": f.pk, "key": f.rule, "label": labels.get(f.rule, f.rule), **words_of.get(f.pk, {})}
        for f in rows
    ]
