"""反馈审核 API (supervision/feedback_review.py): the review queue of the caller's area, one feedback with its
review, and the steps — accept, return with a note (supervisors), rectify (the filing org's people) — and
the sampling rule. Rows are feedback forms, keyed by the feedback's id: an unreviewed one has no review yet.

404 outside the caller's area, 403 for a role that may not take the step (or another org's rectification),
400 with the field's message (a return without a note), 409 when the review's state does not allow it.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

import django_filters
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from command_center import clocks
from command_center.models import Org
from command_center.serializers import PersonBriefField, StrictSerializer
from incidents.models import Feedback

from . import feedback_review as fr
from .models import FeedbackRectification, FeedbackReview


class FeedbackRectificationSerializer(serializers.ModelSerializer[FeedbackRectification]):
    by = PersonBriefField(read_only=True)
    decided_by = PersonBriefField(read_only=True, allow_null=True)

    class Meta:
        model = FeedbackRectification
        fields = ["round", "text", "by", "at", "decision", "decided_by", "decided_at", "note"]


class FeedbackReviewBriefSerializer(serializers.ModelSerializer[FeedbackReview]):
    reviewer = PersonBriefField(read_only=True)
    verdict = serializers.ChoiceField(
        choices=["accepted", "returned"], read_only=True, help_text="The last decision (returned also while rectified)."
    )

    class Meta:
        model = FeedbackReview
        fields = ["id", "state", "verdict", "rounds", "reviewer", "note", "at", "decided_at"]


class FeedbackRowSerializer(serializers.ModelSerializer[Feedback]):
    """A row of the queue: the feedback with its incident's number, address, station, category, times and
    callback satisfaction, whether the sample drew it, and its review (null before the first decision)."""

    incident = serializers.IntegerField(source="incident_id", read_only=True)
    number = serializers.CharField(source="incident.number", read_only=True)
    address = serializers.CharField(source="incident.address", read_only=True)
    category = serializers.CharField(source="incident.category_id", read_only=True)
    category_name = serializers.CharField(source="incident.category.local_name", read_only=True)
    org_name = serializers.CharField(source="org.name", read_only=True)
    incident_org_name = serializers.CharField(source="incident.org.name", read_only=True)
    result = serializers.CharField(source="result_id", read_only=True)
    result_name = serializers.CharField(source="result.local_name", read_only=True)
    arrived = serializers.SerializerMethodField(help_text="The feedback's arrival time, else the incident's.")
    cleared = serializers.SerializerMethodField(help_text="The feedback's scene-cleared time, else the incident's.")
    satisfaction = serializers.SerializerMethodField(help_text="The callback's satisfaction, null before it.")
    sampled = serializers.SerializerMethodField(help_text="Whether the sample draws it.")
    review = serializers.SerializerMethodField()
    rectification = serializers.SerializerMethodField(help_text="The latest rectification: {round, text, at}.")

    class Meta:
        model = Feedback
        fields = [
            "id", "incident", "number", "address", "category", "category_name", "org", "org_name",
            "incident_org_name", "text", "result", "result_name", "rescued", "injured", "dead", "detained",
            "handover_to", "arrived", "cleared", "created_at", "satisfaction", "sampled", "review", "rectification",
        ]  # fmt: skip

    def get_arrived(self, obj: Feedback) -> datetime | None:
        return obj.arrived_at or obj.incident.arrived_at

    def get_cleared(self, obj: Feedback) -> datetime | None:
        return obj.cleared_at or obj.incident.scene_cleared_at

    def get_satisfaction(self, obj: Feedback) -> dict[str, str] | None:
        cb = getattr(obj.incident, "callback", None)
        return None if cb is None else {"value": cb.satisfaction, "label": str(cb.get_satisfaction_display())}

    def get_sampled(self, obj: Feedback) -> bool:
        bucket = getattr(obj, "bucket", None)
        return bool(bucket is not None and bucket < obj.percent)  # type: ignore[attr-defined]

    def get_review(self, obj: Feedback) -> dict[str, Any] | None:
        review = getattr(obj, "review", None)
        return None if review is None else dict(FeedbackReviewBriefSerializer(review).data)

    def get_rectification(self, obj: Feedback) -> dict[str, Any] | None:
        review = getattr(obj, "review", None)
        rows = sorted(review.rectifications.all(), key=lambda r: r.round) if review is not None else []
        return {"round": rows[-1].round, "text": rows[-1].text, "at": rows[-1].at} if rows else None


class FeedbackDetailSerializer(FeedbackRowSerializer):
    """One feedback: the row, with its review's steps, the station's rectifications and the rework clock."""

    steps = serializers.SerializerMethodField(help_text="[{event, label, at, text, actor, actor_org}]")
    rectifications = serializers.SerializerMethodField()
    rework_due_at = serializers.SerializerMethodField()

    class Meta(FeedbackRowSerializer.Meta):
        fields = [*FeedbackRowSerializer.Meta.fields, "steps", "rectifications", "rework_due_at"]

    def _review(self, obj: Feedback) -> FeedbackReview | None:
        return getattr(obj, "review", None)

    def get_steps(self, obj: Feedback) -> list[dict[str, Any]]:
        review = self._review(obj)
        return fr.history(review) if review else []

    def get_rectifications(self, obj: Feedback) -> list[dict[str, Any]]:
        review = self._review(obj)
        if review is None:
            return []
        rows = review.rectifications.select_related("by__person", "decided_by__person").order_by("round")
        return [dict(x) for x in FeedbackRectificationSerializer(rows, many=True).data]

    def get_rework_due_at(self, obj: Feedback) -> datetime | None:
        review = self._review(obj)
        if review is None:
            return None
        d = clocks.unmet_for(review).filter(kind=fr.CLOCK_REWORK).first()
        return d.due_at if d else None


STATE_CHOICES = [
    ("queue", gettext_lazy("Awaiting a decision")),
    ("unreviewed", gettext_lazy("Not reviewed")),
    *FeedbackReview.State.choices,
    ("all", gettext_lazy("All")),
]


class FeedbackQueueFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(
        choices=STATE_CHOICES, method="keep", label="queue (default): unreviewed and drawn, or rectified"
    )
    sample = django_filters.BooleanFilter(
        method="keep", label="true (default): unreviewed feedback only when the sample draws it; false: all"
    )
    org = django_filters.NumberFilter(method="filter_org", label="filing org id (its subtree)")
    date_from = django_filters.DateFilter(method="filter_from", label="filed on or after (local date)")
    date_to = django_filters.DateFilter(method="filter_to", label="filed on or before (local date)")
    result = django_filters.CharFilter(field_name="result_id", label="result code (处理结果)")

    class Meta:
        model = Feedback
        fields = ["state", "sample", "org", "date_from", "date_to", "result"]

    def keep(self, qs: QuerySet[Feedback], name: str, value: Any) -> QuerySet[Feedback]:
        return qs  # applied together in filter_queryset (one rule decides state and sample)

    def filter_queryset(self, queryset: QuerySet[Feedback]) -> QuerySet[Feedback]:
        data = self.form.cleaned_data
        sample = data.get("sample")
        queryset = fr.narrow(queryset, state=data.get("state") or "queue", sample=True if sample is None else sample)
        return super().filter_queryset(queryset)

    def filter_org(self, qs: QuerySet[Feedback], name: str, value: int) -> QuerySet[Feedback]:
        org = Org.objects.filter(pk=value).first()
        return qs.filter(org__path__startswith=org.path) if org else qs.none()

    def _local(self, day: Any) -> datetime:
        return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())

    def filter_from(self, qs: QuerySet[Feedback], name: str, value: Any) -> QuerySet[Feedback]:
        return qs.filter(created_at__gte=self._local(value))

    def filter_to(self, qs: QuerySet[Feedback], name: str, value: Any) -> QuerySet[Feedback]:
        return qs.filter(created_at__lt=self._local(value + timedelta(days=1)))


class FeedbackDecisionSerializer(StrictSerializer):
    note = serializers.CharField(
        max_length=fr.NOTE_MAX, required=False, allow_blank=True, default="", label=gettext_lazy("Note")
    )


class FeedbackRectifySerializer(StrictSerializer):
    text = serializers.CharField(max_length=fr.NOTE_MAX, allow_blank=True, label=gettext_lazy("Rectification"))


class FeedbackSamplingSerializer(StrictSerializer):
    percent = serializers.IntegerField(min_value=0, max_value=100, label=gettext_lazy("Percent reviewed"))


class FeedbackReviewViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Feedback]):
    """反馈审核: the queue of the caller's area (default: unreviewed feedback the sample draws, and
    rectifications awaiting review), oldest first; one feedback with its review; the steps."""

    serializer_class = FeedbackRowSerializer
    filterset_class = FeedbackQueueFilter
    queryset = Feedback.objects.none()  # the schema's model, without a database (get_queryset is the caller's)

    def get_queryset(self) -> QuerySet[Feedback]:
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular generating the schema
            return Feedback.objects.none()
        return fr.annotated(self.request.user)

    def filter_queryset(self, queryset: Any) -> Any:
        # The queue's filters narrow the list only: a detail or a step finds any feedback of the area.
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    def get_serializer_class(self) -> Any:
        return {
            "retrieve": FeedbackDetailSerializer,
            "accept": FeedbackDecisionSerializer,
            "return_": FeedbackDecisionSerializer,
            "rectify": FeedbackRectifySerializer,
            "sampling": FeedbackSamplingSerializer,
        }.get(self.action, FeedbackRowSerializer)

    def _detail(self, pk: int) -> Response:
        return Response(FeedbackDetailSerializer(self.get_queryset().get(pk=pk)).data)

    @extend_schema(request=FeedbackDecisionSerializer, responses=FeedbackDetailSerializer)
    @action(detail=True, methods=["post"])
    def accept(self, request: Request, pk: str) -> Response:
        """采纳: the feedback, or its latest rectification, stands (a note is optional)."""
        fb = self.get_object()
        s = FeedbackDecisionSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        fr.feedback_accept(feedback_id=fb.pk, actor=request.user, note=s.validated_data["note"])
        return self._detail(fb.pk)

    @extend_schema(request=FeedbackDecisionSerializer, responses=FeedbackDetailSerializer)
    @action(detail=True, methods=["post"], url_path="return", url_name="return")
    def return_(self, request: Request, pk: str) -> Response:
        """退回整改: the filing org must rectify; the note is required (400 without)."""
        fb = self.get_object()
        s = FeedbackDecisionSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        fr.feedback_return(feedback_id=fb.pk, actor=request.user, note=s.validated_data["note"])
        return self._detail(fb.pk)

    @extend_schema(request=FeedbackRectifySerializer, responses=FeedbackDetailSerializer)
    @action(detail=True, methods=["post"])
    def rectify(self, request: Request, pk: str) -> Response:
        """整改: the filing org's answer to a return (its own people only)."""
        fb = self.get_object()
        s = FeedbackRectifySerializer(data=request.data)
        s.is_valid(raise_exception=True)
        fr.feedback_rectify(feedback_id=fb.pk, actor=request.user, text=s.validated_data["text"])
        return self._detail(fb.pk)

    @extend_schema(
        methods=["GET"],
        operation_id="feedback_reviews_sampling_read",
        responses=OpenApiResponse(description="{org, org_name, percent, own, can_set, default}"),
    )
    @extend_schema(
        methods=["PUT"],
        operation_id="feedback_reviews_sampling_set",
        request=FeedbackSamplingSerializer,
        responses=OpenApiResponse(description="{org, org_name, percent, own, can_set, default}"),
    )
    @action(detail=False, methods=["get", "put"], pagination_class=None, filterset_class=None)
    def sampling(self, request: Request) -> Response:
        """抽查比例: the percent of feedback the queue draws at the caller's org (its own rule, else the nearest
        one up the tree, else the default); PUT sets the caller's org's rule (supervisors)."""
        if request.method == "PUT":
            s = FeedbackSamplingSerializer(data=request.data)
            s.is_valid(raise_exception=True)
            fr.sampling_set(actor=request.user, percent=s.validated_data["percent"])
        return Response(fr.sampling_read(request.user))
