"""反馈审核 (issue 13, "supervision completes its own loop"): a supervisor reviews feedback forms (反馈单) — a
sample of them or all — accepting each, or returning it for rectification (整改) with a note; the station
that filed it answers with a rectification on a clock, which the supervisor accepts or returns again.

- The sample: a rule per org (FeedbackSampling, percent; the most specific org up the tree wins, else
  settings.SUPERVISION_FEEDBACK_SAMPLE_PERCENT). A feedback is drawn when its bucket — a hash of its id,
  salted with a key derived from SECRET_KEY so that a station cannot tell at filing time whether it will
  be drawn — is below the percent: the same feedback is always drawn or not (a stable queue a test can
  predict), and raising the percent only adds to the sample.
- The queue (`review_queue`): feedback of the supervisor's area awaiting a decision — unreviewed and in the
  sample, or rectified — oldest first.
- The steps (`feedback_accept`, `feedback_return`, `feedback_rectify`), each in one transaction:
  1. lock the feedback row (FOR NO KEY UPDATE): every step on one feedback — the first decision, which
     writes its review row, included — waits for the one before it, so two supervisors deciding at once
     take turns and the second finds the first's decision (409);
  2. check the actor's area and role (403), then the step against the table (supervision/transitions.py;
     409);
  3. write the review, its log row and the rectification; start the rework clock on a return, meet it on a
     rectification; push to the filing org after commit.
- The clock: `supervision.feedback.rework` (settings.SUPERVISION_FEEDBACK_REWORK_S) escalates as an
  incident's clocks do: its breach writes a reminder (催办) to the station about the incident and starts
  `supervision.feedback.rework.escalate` (SUPERVISION_FEEDBACK_REWORK_ESCALATE_S); that one breaking while
  the rectification is still missing raises a 督办 at the incident's next level, and starts again until the
  highest level. Supervision owns both kinds, so their handlers are the kinds' own (`register_clocks`).
- Scores: every return is a deduction (`returned_feedback`, the scheme's `deductions["feedback_returned"]`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Case, F, Func, IntegerField, Q, QuerySet, TextField, Value, When
from django.db.models.functions import Cast
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from command_center import clocks, orgs, realtime, transitions, words
from command_center.audit import log_transition
from command_center.errors import Refused
from command_center.models import Deadline, Org
from command_center.transitions import InvalidTransition
from incidents.models import Feedback

from . import services
from .models import (
    FeedbackRectification,
    FeedbackReview,
    FeedbackReviewTransition,
    FeedbackSampling,
    Reminder,
)
from .transitions import FEEDBACK_REVIEW, NEW, RECTIFY_ROLES, REVIEW_ROLES, Event

CLOCK_REWORK = "supervision.feedback.rework"
CLOCK_REWORK_ESCALATE = "supervision.feedback.rework.escalate"
NOTE_MAX = 2000


# --- The sample ----------------------------------------------------------------------------------------


def _salt() -> str:
    return hashlib.sha256(f"feedback-sample:{settings.SECRET_KEY}".encode()).hexdigest()[:16]


def sample_bucket(feedback_id: int) -> int:
    """The feedback's bucket, 0–99: drawn when below the percent. The same as SampleBucket in SQL."""
    digest = hashlib.md5(f"{_salt()}{feedback_id}".encode(), usedforsecurity=False).hexdigest()
    return int(digest[:8], 16) % 100


class SampleBucket(Func):
    """sample_bucket(id) in SQL: the first 32 bits of md5(salt || id), modulo 100."""

    template = "mod(('x' || substr(md5(%(expressions)s), 1, 8))::bit(32)::bigint, 100)"
    arg_joiner = " || "
    output_field = IntegerField()

    def __init__(self, field: str = "pk") -> None:
        super().__init__(Value(_salt()), Cast(F(field), TextField()))


def default_percent() -> int:
    return max(0, min(100, int(settings.SUPERVISION_FEEDBACK_SAMPLE_PERCENT)))


def percent_for(org: Org) -> int:
    """The sampling percent at `org`: its own rule, else the nearest one up the tree, else the setting."""
    rules = FeedbackSampling.objects.filter(org__in=org.lineage()).select_related("org")
    best = max(rules, key=lambda r: r.org.depth, default=None)
    return best.percent if best is not None else default_percent()


def _percent_case(org_field: str = "org") -> Case | Value:
    """Each row's percent, by the most specific rule up its org's path (a rule per org that set one)."""
    rules = sorted(FeedbackSampling.objects.values_list("org__path", "percent"), key=lambda r: -len(r[0]))
    if not rules:
        return Value(default_percent())
    whens = [When(**{f"{org_field}__path__startswith": path}, then=Value(pct)) for path, pct in rules]
    return Case(*whens, default=Value(default_percent()), output_field=IntegerField())


def sampling_read(user: Any) -> dict[str, Any]:
    """The caller's rule: the percent at their org, whether it is the org's own, and whether they may set it."""
    person = orgs.person_of(user)
    if person is None:
        return {"org": None, "org_name": "", "percent": default_percent(), "own": False, "can_set": False}
    own = FeedbackSampling.objects.filter(org=person.org).first()
    return {
        "org": person.org_id,
        "org_name": person.org.name,
        "percent": own.percent if own else percent_for(person.org),
        "own": own is not None,
        "can_set": person.has_role(*REVIEW_ROLES),
        "default": default_percent(),
    }


@transaction.atomic
def sampling_set(*, actor: Any, percent: int, org: Org | None = None) -> FeedbackSampling:
    """Set the sampling percent of the actor's org (a supervisor), or of `org` in their area."""
    person = orgs.person_of(actor)
    target = org or (person.org if person else None)
    if target is None:
        raise Refused("org", _("Act as a person of an organisation (your user has no profile)."))
    orgs.require(actor, target, roles=REVIEW_ROLES)
    if not 0 <= percent <= 100:
        raise Refused("percent", _("A percent from 0 to 100."))
    row, _created = FeedbackSampling.objects.update_or_create(
        org=target, defaults={"percent": percent, "updated_by": actor}
    )
    return row


# --- Reading -------------------------------------------------------------------------------------------

QUEUE_STATES = ["queue", "unreviewed", *FeedbackReview.State.values, "all"]


def visible_feedback(user: Any) -> QuerySet[Feedback]:
    """Feedback filed by the caller's org or below it."""
    return orgs.restrict(Feedback.objects.all(), user, org_field="org")


def annotated(user: Any) -> QuerySet[Feedback]:
    """Feedback of the caller's area, each with its sample `bucket` and its org's sampling `percent`, with
    what a queue row shows, oldest first."""
    qs = visible_feedback(user).annotate(bucket=SampleBucket(), percent=_percent_case())
    return (
        qs.select_related(
            "incident__category", "incident__org", "incident__callback", "org", "result", "review__reviewer__person"
        )
        .prefetch_related("review__rectifications")
        .order_by("created_at", "pk")
    )


def narrow(qs: QuerySet[Feedback], *, state: str = "queue", sample: bool = True) -> QuerySet[Feedback]:
    """`state`: `queue` (unreviewed and drawn, or rectified: what awaits a decision), `unreviewed`, a review
    state, or `all`. `sample`: keep the unreviewed to the drawn ones (a reviewed feedback is listed whether
    it was drawn or not)."""
    if sample:
        qs = qs.filter(Q(review__isnull=False) | Q(bucket__lt=F("percent")))
    if state == "queue":
        qs = qs.filter(Q(review__isnull=True) | Q(review__state=FeedbackReview.State.RECTIFIED))
    elif state == "unreviewed":
        qs = qs.filter(review__isnull=True)
    elif state in FeedbackReview.State.values:
        qs = qs.filter(review__state=state)
    return qs


def review_queue(user: Any, *, state: str = "queue", sample: bool = True) -> QuerySet[Feedback]:
    """The queue of the caller's area (see `narrow`), oldest first."""
    return narrow(annotated(user), state=state, sample=sample)


def history(review: FeedbackReview) -> list[dict[str, Any]]:
    """Each step of the review in order: who (words), when, what, the note or the rectification's text."""
    rows = list(
        FeedbackReviewTransition.objects.filter(subject=review)
        .select_related("actor__person__org")
        .order_by("at", "pk")
    )
    labels = {
        Event.ACCEPT: _("Review accepted"),
        Event.RETURN: _("Returned for rectification"),
        Event.RECTIFY: _("Rectified"),
    }
    return [
        {
            "event": t.event,
            "label": str(labels.get(t.event, t.event)),
            "at": t.at,
            "text": t.reason,
            **words.who(t.actor),
        }
        for t in rows
    ]


def review_payload(review: FeedbackReview) -> dict[str, Any]:
    """What a push says about a review (the filing org's screens)."""
    return {
        "id": review.pk,
        "feedback": review.feedback_id,
        "incident": review.feedback.incident_id,
        "incident_number": review.feedback.incident.number,
        "org": review.org_id,
        "state": review.state,
        "rounds": review.rounds,
        "note": review.note,
        "decided_at": review.decided_at,
        "version": review.version,
    }


# --- The steps -----------------------------------------------------------------------------------------


def _lock(feedback_id: int) -> tuple[Feedback, FeedbackReview | None]:
    fb = transitions.lock(Feedback, feedback_id, related=["org", "incident"], no_key=True)
    review = FeedbackReview.objects.select_for_update(of=("self",)).filter(feedback=fb).first()
    if review is not None:
        review.feedback = fb
    return fb, review


def _decide(*, feedback_id: int, actor: Any, event: str, note: str) -> FeedbackReview:
    fb, review = _lock(feedback_id)
    orgs.require(actor, fb.org, roles=REVIEW_ROLES)
    now = timezone.now()
    note = note.strip()
    state = review.state if review is not None else NEW
    # The round a rectification answered: the one this decision is about when the state is `rectified`.
    answered = review.rounds if review is not None else 0
    if review is None:
        new = transitions.next_state(FEEDBACK_REVIEW, NEW, event)
        review = FeedbackReview.objects.create(
            feedback=fb,
            org=fb.org,
            state=new,
            rounds=1 if event == Event.RETURN else 0,
            reviewer=actor,
            note=note,
            at=now,
            decided_at=now,
        )
        log_transition(review, from_state=NEW, to_state=new, event=event, actor=actor, reason=note)
    else:
        transitions.apply(review, FEEDBACK_REVIEW, event, actor, reason=note, offer=[Event.ACCEPT, Event.RETURN])
        review.reviewer, review.note, review.decided_at = actor, note, now
        if event == Event.RETURN:
            review.rounds += 1
        transitions.save(review, "reviewer", "note", "decided_at", "rounds")
    if state == FeedbackReview.State.RECTIFIED:
        # The decision is on the rectification the station filed last.
        d = FeedbackRectification.Decision
        decision = d.ACCEPTED if event == Event.ACCEPT else d.RETURNED
        FeedbackRectification.objects.filter(review=review, round=answered).update(
            decision=decision, decided_by=actor, decided_at=now, note=note
        )
    if event == Event.RETURN:
        due = now + timedelta(seconds=int(settings.SUPERVISION_FEEDBACK_REWORK_S))
        clocks.start(review, CLOCK_REWORK, due=due, org=review.org)
    realtime.broadcast_on_commit(review.org, f"feedback_review.{review.state}", review_payload(review))
    return review


@transaction.atomic
def feedback_accept(*, feedback_id: int, actor: Any, note: str = "") -> FeedbackReview:
    """采纳: the feedback (or its latest rectification) stands. 409 when already accepted, or returned and
    not rectified yet."""
    return _decide(feedback_id=feedback_id, actor=actor, event=Event.ACCEPT, note=note)


@transaction.atomic
def feedback_return(*, feedback_id: int, actor: Any, note: str) -> FeedbackReview:
    """退回整改: the filing org must rectify, within the rework clock; the note (what is wrong) is required."""
    if not note.strip():
        raise Refused("note", _("Say what must be rectified (a return needs a note)."))
    return _decide(feedback_id=feedback_id, actor=actor, event=Event.RETURN, note=note)


@transaction.atomic
def feedback_rectify(*, feedback_id: int, actor: Any, text: str) -> FeedbackRectification:
    """整改: the filing org's answer to a return (its own people only): meets the rework clock and puts the
    feedback back in the reviewers' queue. 409 unless it was returned and not rectified since."""
    if not text.strip():
        raise Refused("text", _("Say what was rectified."))
    fb, review = _lock(feedback_id)
    person = orgs.require(actor, review.org if review else fb.org, roles=RECTIFY_ROLES)
    if person is not None and person.org_id != (review.org_id if review else fb.org_id):
        raise PermissionDenied(_("Only the organisation that filed the feedback rectifies it."))
    if review is None:
        raise InvalidTransition(NEW, Event.RECTIFY, [])
    transitions.apply(review, FEEDBACK_REVIEW, Event.RECTIFY, actor, reason=text.strip(), offer=[Event.RECTIFY])
    now = timezone.now()
    rect = FeedbackRectification.objects.create(review=review, round=review.rounds, text=text.strip(), by=actor, at=now)
    transitions.save(review)
    clocks.meet(review, CLOCK_REWORK, at=now)
    clocks.cancel(review, CLOCK_REWORK_ESCALATE, breached=True)  # escalation is over, broken ones too
    realtime.broadcast_on_commit(review.org, "feedback_review.rectified", review_payload(review))
    return rect


# --- The clock -----------------------------------------------------------------------------------------


def register_clocks() -> None:
    clocks.register(CLOCK_REWORK, label=gettext_lazy("Rectify the returned feedback"), on_breach=rework_late)
    clocks.register(
        CLOCK_REWORK_ESCALATE,
        label=gettext_lazy("Feedback rectification still late after a reminder"),
        on_breach=rework_still_late,
    )


def _awaiting(deadline: Deadline) -> tuple[FeedbackReview, services.Subject] | None:
    """The review a rework clock is about, while it still awaits the station's rectification."""
    review = (
        FeedbackReview.objects.select_related("org", "feedback__incident")
        .filter(pk=deadline.subject_id, state=FeedbackReview.State.RETURNED)
        .first()
    )
    if review is None:
        return None
    incident = review.feedback.incident
    title = _("the feedback on %(number)s %(address)s") % {"number": incident.number, "address": incident.address}
    return review, services.Subject(org=review.org, title=title, incident=incident)


def _start_escalation(review: FeedbackReview, now: datetime) -> None:
    if not clocks.open_for(review).filter(kind=CLOCK_REWORK_ESCALATE).exists():
        due = now + timedelta(seconds=int(settings.SUPERVISION_FEEDBACK_REWORK_ESCALATE_S))
        clocks.start(review, CLOCK_REWORK_ESCALATE, due=due, org=review.org)


def rework_late(deadline: Deadline) -> None:
    """The rectification is late: 催办 to the station (about the incident), and the escalation clock."""
    found = _awaiting(deadline)
    if found is None:
        return
    review, subject = found
    now = deadline.breached_at or timezone.now()
    text = _("Reminder (催办): the rectification (整改) of %(title)s is overdue (due %(due)s).") % {
        "title": subject.title,
        "due": timezone.localtime(deadline.due_at).strftime("%Y-%m-%d %H:%M"),
    }
    services._remind(deadline, subject, Reminder.Level.REMINDER, text, now)
    _start_escalation(review, now)


def rework_still_late(deadline: Deadline) -> None:
    """Still no rectification after the reminder: 督办 at the incident's next level, and again later."""
    found = _awaiting(deadline)
    if found is None:
        return
    review, subject = found
    now = deadline.breached_at or timezone.now()
    reason = _("Still not rectified after a reminder: %(title)s.") % {"title": subject.title}
    order = services._raise_order(deadline, subject, now, reason)
    if order is not None and order.level.rank < services.levels()[-1].rank:
        _start_escalation(review, now)


# --- Scores --------------------------------------------------------------------------------------------


def returned_feedback(org_subtree: Org, first_day: date, last_day: date) -> list[dict[str, Any]]:
    """For the scores' deductions (scores.provide_deductions, key `feedback_returned`): every return of a
    feedback of `org_subtree` in the period (local dates, inclusive), with the incident in words and the
    page that shows the review."""
    tz = timezone.get_current_timezone()
    start = datetime.combine(first_day, datetime.min.time(), tzinfo=tz)
    end = datetime.combine(last_day + timedelta(days=1), datetime.min.time(), tzinfo=tz)
    steps = list(
        FeedbackReviewTransition.objects.filter(
            event=Event.RETURN, subject__org__path__startswith=org_subtree.path, at__gte=start, at__lt=end
        )
        .select_related("subject__feedback")
        .order_by("at", "pk")
    )
    described = words.describe("incidents.incident", sorted({t.subject.feedback.incident_id for t in steps}))
    out = []
    for t in steps:
        incident_id = t.subject.feedback.incident_id
        found = described.get(incident_id, {})
        out.append(
            {
                "type": "feedback_review",
                "id": t.subject_id,
                "key": "feedback_returned",
                "label": _("Feedback returned for rectification"),
                "subject": "incidents.incident",
                "subject_id": incident_id,
                **found,
                "detail": t.reason,
                "url": reverse("incidents:detail", args=[incident_id]) + f"#feedback-{t.subject.feedback_id}",
            }
        )
    return out


def describe_reviews(ids: list[int]) -> dict[int, dict[str, Any]]:
    """A review as a supervisor reads it in a list of clocks (words.provide_subject): its incident's number
    and address, the station that must rectify, and the incident page at the feedback's panel."""
    rows = FeedbackReview.objects.filter(pk__in=ids).values_list(
        "pk", "feedback_id", "feedback__incident_id", "feedback__incident__number", "feedback__incident__address",
        "org__name",
    )  # fmt: skip
    return {
        pk: {
            "title": number,
            "detail": address,
            "org_name": org,
            "url": reverse("incidents:detail", args=[incident_id]) + f"#feedback-{feedback_id}",
            "incident": incident_id,
        }
        for pk, feedback_id, incident_id, number, address, org in rows
    }


# --- The incident page's panel (command_center.screens.provide_panel) ---------------------------------


def _may(user: Any, org: Org, roles: Sequence[str], *, own: bool = False) -> bool:
    if getattr(user, "is_superuser", False):
        return True
    person = orgs.person_of(user)
    if person is None or not person.has_role(*roles) or not orgs.can_act(user, org):
        return False
    return not own or person.org_id == org.pk


def incident_review_panel(user: Any, incident_id: int) -> dict[str, Any] | None:
    """The reviews of the incident's feedback the user may read: each with its steps and rectifications; a
    returned one with the rectification form for the filing org's people, a rectified or unreviewed one with
    accept / return for supervisors. None when there is nothing to show."""
    rows = []
    feedback = visible_feedback(user).filter(incident_id=incident_id).select_related("org", "result", "review")
    for fb in feedback.order_by("created_at", "pk"):
        review = getattr(fb, "review", None)
        may_review = _may(user, fb.org, REVIEW_ROLES) and (
            review is None or review.state == FeedbackReview.State.RECTIFIED
        )
        if review is None and not may_review:
            continue
        rows.append(
            {
                "feedback": fb,
                "review": review,
                "steps": history(review) if review else [],
                "may_review": may_review,
                "may_rectify": review is not None
                and review.state == FeedbackReview.State.RETURNED
                and _may(user, review.org, RECTIFY_ROLES, own=True),
                "due": clocks.unmet_for(review).filter(kind=CLOCK_REWORK).first() if review else None,
            }
        )
    if not rows:
        return None
    return {"template": "supervision/_feedback_review_panel.html", "rows": rows, "note_max": NOTE_MAX}


def station_returns(user: Any) -> QuerySet[FeedbackReview]:
    """The reviews awaiting the caller's org's rectification (returned), oldest return first."""
    qs = FeedbackReview.objects.filter(state=FeedbackReview.State.RETURNED)
    if not getattr(user, "is_superuser", False):
        person = orgs.person_of(user)
        qs = qs.filter(org=person.org) if person is not None else qs.none()
    return qs.select_related("feedback__incident__category", "feedback__result", "org").order_by("decided_at", "pk")
