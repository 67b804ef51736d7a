"""Loop API: analyses (研), directives (交) with per-recipient progress and the closure report, the tasks
of a station's inbox and their actions (办), the scoped file download, and putting a repeat cluster into the
loop. Views check scope (404 outside it) and call services (403 for a wrong role, 409 for a move the state
does not allow, 400 per field). Reminders, 督办, the watch list, the review queue and the overdue list are
the supervision app's (supervision/api.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import django_filters
from django.db.models import Prefetch, QuerySet
from django.http import FileResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import generics, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.renderers import BaseRenderer, BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from command_center import clocks, exports, inputs, orgs, words
from command_center.errors import Refused
from command_center.inputs import JSONParser, TooDeep
from command_center.models import Org, Person
from command_center.serializers import NoBodySerializer, PersonBriefField, StrictSerializer
from incidents.models import RepeatCluster
from sentiment import selectors as sentiment_selectors

from . import reports, selectors, services
from .models import ISSUABLE_SOURCES, Analysis, Attachment, Colour, Directive, Task, TaskDirective, TaskReport
from .transitions import PEOPLE_EVENTS, TASK, TASK_EVENT_LABELS, allowed_events

XLSX = exports.CONTENT_TYPES["xlsx"]


class XlsxRenderer(BaseRenderer):
    """`?format=xlsx`: the view hands over the workbook's bytes; they go out as they are."""

    media_type = XLSX
    format = "xlsx"
    charset = None
    render_style = "binary"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> Any:
        if isinstance(data, bytes):
            return data
        # Not a workbook: an error (404, 403) to a request for one. It goes out as the JSON it is.
        response = (renderer_context or {}).get("response")
        if response is not None:
            response["Content-Type"] = "application/json"
        return JSONRenderer().render(data)


class JSONListField(serializers.JSONField):
    """A list given as JSON: a list in a JSON body, or a JSON string in a multipart form field."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, str):
            try:
                data = inputs.loads(data)
            except TooDeep as exc:
                raise serializers.ValidationError(str(exc)) from None
            except ValueError:
                self.fail("invalid")
        if not isinstance(data, list):
            raise serializers.ValidationError(_("Give a list."))
        return data


def _subtree(qs: QuerySet[Any], org_id: int, field: str = "org") -> QuerySet[Any]:
    org = Org.objects.filter(pk=org_id).first()
    return qs.filter(**{f"{field}__path__startswith": org.path}) if org else qs.none()


# --- Files ----------------------------------------------------------------------------------------------


class AttachmentSerializer(serializers.ModelSerializer[Attachment]):
    url = serializers.SerializerMethodField(help_text="The scoped download (never a MEDIA_URL).")

    class Meta:
        model = Attachment
        fields = ["id", "name", "content_type", "size", "sha256", "uploaded_at", "url"]

    def get_url(self, obj: Attachment) -> str:
        return f"/api/attachments/{obj.pk}/"


class AttachmentDownloadView(generics.GenericAPIView[Attachment]):
    """A file of a directive or a report, for whoever may see that directive or task (404 for anyone else).
    Always a download (`Content-Disposition: attachment`) with the type the server decided at upload."""

    queryset = Attachment.objects.none()

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    def get(self, request: Request, pk: int) -> FileResponse:
        a = get_object_or_404(selectors.visible_attachments(request.user), pk=pk)
        response = FileResponse(a.file.open("rb"), as_attachment=True, filename=a.name, content_type=a.content_type)
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "private, no-store"
        return response


# --- Analyses -------------------------------------------------------------------------------------------


class AnalysisSerializer(serializers.ModelSerializer[Analysis]):
    org_name = serializers.CharField(source="org.name", read_only=True)
    author = PersonBriefField(read_only=True)
    allowed = serializers.SerializerMethodField()
    incidents: Any = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    clusters: Any = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    directives: Any = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    posts: Any = serializers.PrimaryKeyRelatedField(many=True, read_only=True, help_text="网情 posts attached.")
    source = serializers.SerializerMethodField(  # type: ignore[assignment]  # DRF's Field.source is another thing
        help_text="What it was opened from: {kind, id, title, url} or null."
    )

    class Meta:
        model = Analysis
        fields = [
            "id", "title", "body", "org", "org_name", "author", "state", "allowed", "version", "incidents",
            "clusters", "posts", "source", "directives", "created_at", "published_at",
        ]  # fmt: skip

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_source(self, obj: Analysis) -> dict[str, Any] | None:
        return selectors.analysis_source(obj)

    def get_allowed(self, obj: Analysis) -> list[str]:
        from .transitions import ANALYSIS

        return allowed_events(ANALYSIS, obj.state)


class AnalysisCreateSerializer(StrictSerializer):
    title = serializers.CharField(max_length=200, required=False, help_text="Required unless opened from 网情.")
    body = serializers.CharField(max_length=50000, required=False, allow_blank=True, default="")
    incidents = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False, default=list)
    clusters = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False, default=list)
    sentiment_warning = serializers.IntegerField(
        min_value=1, required=False, help_text="Open it from a 网情 warning: its posts attached, the warning analysed."
    )
    sentiment_event = serializers.IntegerField(min_value=1, required=False, help_text="… or from a 网情 event.")
    sentiment_post = serializers.IntegerField(min_value=1, required=False, help_text="… or from one post.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        given = [k for k in ("sentiment_warning", "sentiment_event", "sentiment_post") if k in attrs]
        if len(given) > 1:
            raise serializers.ValidationError({given[1]: [_("Open an analysis from one 网情 source at a time.")]})
        if not given and not (attrs.get("title") or "").strip():
            raise serializers.ValidationError({"title": [_("Give the analysis a title.")]})
        return attrs


SENTIMENT_POSTS_ATTACHED = 200  # an event's or a warning's newest posts attached to the analysis


def _sentiment_source(user: Any, v: dict[str, Any]) -> tuple[Any, list[int], str, str]:
    """The 网情 row an analysis is opened from (within the caller's area: 400 naming the field otherwise),
    the posts it attaches, a title and a body to start from."""
    if "sentiment_warning" in v:
        w = sentiment_selectors.visible_warnings(user).filter(pk=v["sentiment_warning"]).first()
        if w is None:
            raise Refused("sentiment_warning", _("No such warning in your area."))
        ids = list(w.posts.order_by("-published_at").values_list("pk", flat=True)[:SENTIMENT_POSTS_ATTACHED])
        return w, ids, _("网情研判：%(reason)s") % {"reason": w.reason}, w.reason
    if "sentiment_event" in v:
        e = sentiment_selectors.visible_events(user).filter(pk=v["sentiment_event"]).first()
        if e is None:
            raise Refused("sentiment_event", _("No such event in your area."))
        ids = list(e.posts.order_by("-published_at").values_list("pk", flat=True)[:SENTIMENT_POSTS_ATTACHED])
        return e, ids, _("网情研判：%(title)s") % {"title": e.title[:60]}, e.title
    p = sentiment_selectors.visible_posts(user).filter(pk=v["sentiment_post"]).first()
    if p is None:
        raise Refused("sentiment_post", _("No such post in your area."))
    return p, [p.pk], _("网情研判：%(text)s") % {"text": p.text[:60]}, p.text


class AnalysisUpdateSerializer(StrictSerializer):
    title = serializers.CharField(max_length=200, required=False)
    body = serializers.CharField(max_length=50000, required=False, allow_blank=True)
    incidents = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False)
    clusters = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False)


class AnalysisViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet[Analysis],
):
    """研判: drafts and published judgements of the caller's area. A draft may be edited (PATCH) and
    published; directives are issued from a published one (`POST /api/directives/` with `analysis`)."""

    serializer_class = AnalysisSerializer
    filterset_fields = ["state"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[Analysis]:
        return (
            selectors.visible_analyses(self.request.user)
            .select_related("org", "author__person")
            .prefetch_related("incidents", "clusters", "directives", "posts")
        )

    def get_serializer_class(self) -> Any:
        return {
            "create": AnalysisCreateSerializer,
            "partial_update": AnalysisUpdateSerializer,
            "publish": NoBodySerializer,
        }.get(self.action, AnalysisSerializer)

    def _answer(self, a: Analysis, code: int = status.HTTP_200_OK) -> Response:
        return Response(AnalysisSerializer(self.get_queryset().get(pk=a.pk)).data, status=code)

    @extend_schema(request=AnalysisCreateSerializer, responses={201: AnalysisSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        s = AnalysisCreateSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        v = s.validated_data
        source: Any = None
        post_ids: list[int] = []
        title = body = ""
        if {"sentiment_warning", "sentiment_event", "sentiment_post"} & set(v):
            source, post_ids, title, body = _sentiment_source(request.user, v)
        a = services.analysis_create(
            actor=request.user,
            title=(v.get("title") or "").strip() or title[:200],
            body=v["body"] or body,
            incident_ids=v["incidents"],
            cluster_ids=v["clusters"],
            source=source,
            post_ids=post_ids,
        )
        return self._answer(a, status.HTTP_201_CREATED)

    @extend_schema(request=AnalysisUpdateSerializer, responses=AnalysisSerializer)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        a = self.get_object()
        s = AnalysisUpdateSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        v = s.validated_data
        services.analysis_update(
            analysis_id=a.pk,
            actor=request.user,
            title=v.get("title"),
            body=v.get("body"),
            incident_ids=v.get("incidents"),
            cluster_ids=v.get("clusters"),
        )
        return self._answer(a)

    @extend_schema(exclude=True)
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.partial_update(request, *args, **kwargs)  # PUT is not offered (http_method_names)

    @extend_schema(request=NoBodySerializer, responses=AnalysisSerializer)
    @action(detail=True, methods=["post"])
    def publish(self, request: Request, pk: str) -> Response:
        """Draft → published."""
        a = self.get_object()
        NoBodySerializer(data=request.data).is_valid(raise_exception=True)
        return self._answer(services.analysis_publish(analysis_id=a.pk, actor=request.user))


# --- Directives -----------------------------------------------------------------------------------------


class OrgRefSerializer(serializers.ModelSerializer[Org]):
    class Meta:
        model = Org
        fields = ["id", "name", "level"]


class DirectiveProgressSerializer(serializers.Serializer[Any]):
    org = serializers.IntegerField()
    org_name = serializers.CharField()
    task = serializers.IntegerField()
    state = serializers.ChoiceField(choices=Task.State.choices)
    version = serializers.IntegerField()
    merged = serializers.BooleanField(help_text="The directive joined an open task of the same subject.")
    withdrawn = serializers.BooleanField()
    issued_at = serializers.DateTimeField()
    sign_due_at = serializers.DateTimeField(allow_null=True)
    signed_at = serializers.DateTimeField(allow_null=True)
    report_due_at = serializers.DateTimeField(allow_null=True)
    reported_at = serializers.DateTimeField(allow_null=True)
    approved_at = serializers.DateTimeField(allow_null=True)
    rework_count = serializers.IntegerField()
    overdue = serializers.ListField(child=serializers.CharField(), help_text="Broken clocks not yet met.")


class DirectiveSerializer(serializers.ModelSerializer[Directive]):
    issuer = PersonBriefField(read_only=True, allow_null=True)
    issuer_org_name = serializers.CharField(source="issuer_org.name", read_only=True)
    recipients = OrgRefSerializer(many=True, read_only=True)
    attachments = AttachmentSerializer(many=True, read_only=True)
    allowed = serializers.SerializerMethodField()
    counts = serializers.SerializerMethodField(help_text="Recipients by the state of their task.")

    class Meta:
        model = Directive
        fields = [
            "id", "title", "content", "actions", "colour", "source", "subject", "state", "allowed", "version",
            "issuer", "issuer_org", "issuer_org_name", "recipients", "analysis", "incident", "cluster",
            "sign_within_s", "report_within_s", "issued_at", "closed_at", "withdrawn_at", "withdraw_reason",
            "attachments", "counts",
        ]  # fmt: skip

    def get_allowed(self, obj: Directive) -> list[str]:
        from .transitions import DIRECTIVE

        return [e for e in allowed_events(DIRECTIVE, obj.state) if e == "withdraw"]

    def get_counts(self, obj: Directive) -> dict[str, int]:
        counts = self.context.get("counts")
        if counts is None:
            counts = selectors.progress_counts([obj.pk], _reader(self.context))
        return counts.get(obj.pk, {})


def _reader(context: Mapping[str, Any]) -> Any:
    """Who reads the serialized directive: its progress shows only the tasks they see."""
    request = context.get("request")
    if request is None:
        raise ValueError("serialize a directive with the request in the context: its progress depends on the reader")
    return request.user


class DirectiveDetailSerializer(DirectiveSerializer):
    progress = serializers.SerializerMethodField()

    class Meta(DirectiveSerializer.Meta):
        fields = [*DirectiveSerializer.Meta.fields, "progress"]

    @extend_schema_field(DirectiveProgressSerializer(many=True))
    def get_progress(self, obj: Directive) -> list[dict[str, Any]]:
        rows = selectors.directive_progress(obj, _reader(self.context))
        return DirectiveProgressSerializer(rows, many=True).data  # type: ignore[return-value]


class DirectiveCreateSerializer(StrictSerializer):
    title = serializers.CharField(max_length=200)
    content = serializers.CharField(max_length=20000)
    colour = serializers.ChoiceField(choices=Colour.choices, default=Colour.YELLOW)
    recipients = serializers.ListField(
        child=serializers.IntegerField(min_value=1), allow_empty=False, max_length=services.MAX_RECIPIENTS
    )
    actions = serializers.ListField(
        child=serializers.CharField(max_length=200), required=False, default=list, max_length=services.MAX_ACTIONS
    )
    subject = serializers.CharField(
        max_length=120,
        required=False,
        allow_blank=True,
        default="",
        help_text="Directives with the same subject to the same org meet in one task.",
    )
    source = serializers.ChoiceField(  # type: ignore[assignment]  # a field named like Field.source
        choices=ISSUABLE_SOURCES,
        default=Directive.Source.MANUAL,
        help_text="manual or superior; `analysis` makes it analysis",
    )
    analysis = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    sign_within_s = serializers.IntegerField(min_value=60, max_value=30 * 86400, required=False, allow_null=True)
    report_within_s = serializers.IntegerField(min_value=60, max_value=365 * 86400, required=False, allow_null=True)
    files = serializers.ListField(child=serializers.FileField(), required=False, default=list)


class DirectiveWithdrawSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class DirectiveFilter(django_filters.FilterSet):
    state = django_filters.MultipleChoiceFilter(choices=Directive.State.choices)
    colour = django_filters.MultipleChoiceFilter(choices=Colour.choices)
    source = django_filters.MultipleChoiceFilter(choices=Directive.Source.choices)
    issuer_org = django_filters.NumberFilter(method="filter_issuer_org", label="issuing org id (its subtree)")
    recipient = django_filters.NumberFilter(method="filter_recipient", label="a recipient org id")
    analysis = django_filters.NumberFilter(field_name="analysis_id")
    q = django_filters.CharFilter(field_name="title", lookup_expr="icontains", label="title contains")

    class Meta:
        model = Directive
        fields = ["state", "colour", "source", "analysis"]

    def filter_issuer_org(self, qs: QuerySet[Directive], name: str, value: int) -> QuerySet[Directive]:
        return _subtree(qs, value, "issuer_org")

    def filter_recipient(self, qs: QuerySet[Directive], name: str, value: int) -> QuerySet[Directive]:
        return qs.filter(pk__in=TaskDirective.objects.filter(org_id=value).values("directive_id"))


class DirectiveViewSet(
    mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Directive]
):
    """指令: directives issued in or addressed into the caller's area, newest first. The detail carries each
    recipient's progress; `report/` the closure report (办结报告, `?format=xlsx` for the workbook)."""

    serializer_class = DirectiveSerializer
    filterset_class = DirectiveFilter
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def get_queryset(self) -> QuerySet[Directive]:
        return (
            selectors.visible_directives(self.request.user)
            .select_related("issuer_org", "issuer__person")
            .prefetch_related("recipients", "attachments")
        )

    def get_serializer_class(self) -> Any:
        return {
            "create": DirectiveCreateSerializer,
            "withdraw": DirectiveWithdrawSerializer,
            "retrieve": DirectiveDetailSerializer,
        }.get(self.action, DirectiveSerializer)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        qs = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(qs)
        rows = list(page if page is not None else qs)
        counts = selectors.progress_counts([d.pk for d in rows], request.user)
        context = {**self.get_serializer_context(), "counts": counts}
        data = DirectiveSerializer(rows, many=True, context=context).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    def _answer(self, d: Directive, code: int = status.HTTP_200_OK) -> Response:
        obj = self.get_queryset().get(pk=d.pk)
        return Response(DirectiveDetailSerializer(obj, context=self.get_serializer_context()).data, status=code)

    @extend_schema(
        request={"application/json": DirectiveCreateSerializer, "multipart/form-data": DirectiveCreateSerializer},
        responses={201: DirectiveDetailSerializer},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """交: issue a directive to recipients in the caller's area (analysts, commanders, duty officers).
        JSON, or multipart with `files` (attachments) and repeated `recipients` / `actions` fields."""
        s = DirectiveCreateSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        v = s.validated_data
        recipients = list(orgs.visible_orgs(request.user).filter(pk__in=v["recipients"]))
        missing = sorted(set(v["recipients"]) - {o.pk for o in recipients})
        if missing:
            return Response(
                {"recipients": [_("Not found in your area: %(ids)s") % {"ids": ", ".join(map(str, missing))}]},
                status=status.HTTP_400_BAD_REQUEST,
            )
        analysis = None
        if v.get("analysis"):
            analysis = selectors.visible_analyses(request.user).filter(pk=v["analysis"]).first()
            if analysis is None:
                return Response({"analysis": [_("Not found in your area.")]}, status=status.HTTP_400_BAD_REQUEST)
        data = services.DirectiveData(
            title=v["title"],
            content=v["content"],
            recipients=recipients,
            colour=v["colour"],
            actions=v["actions"],
            subject=v["subject"],
            source=v["source"],
            sign_within_s=v.get("sign_within_s"),
            report_within_s=v.get("report_within_s"),
            analysis=analysis,
            files=v["files"],
        )
        return self._answer(services.directive_issue(actor=request.user, data=data), status.HTTP_201_CREATED)

    @extend_schema(request=DirectiveWithdrawSerializer, responses=DirectiveDetailSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request: Request, pk: str) -> Response:
        """The issuer calls the directive back; tasks carrying nothing else are withdrawn."""
        d = self.get_object()
        s = DirectiveWithdrawSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        return self._answer(
            services.directive_withdraw(directive_id=d.pk, actor=request.user, reason=s.validated_data["reason"])
        )

    @extend_schema(
        parameters=[OpenApiParameter("format", str, enum=["json", "xlsx"], description="xlsx: the workbook")],
        responses={(200, "application/json"): OpenApiTypes.OBJECT, (200, XLSX): OpenApiTypes.BINARY},
    )
    @action(detail=True, methods=["get"], renderer_classes=[JSONRenderer, BrowsableAPIRenderer, XlsxRenderer])
    def report(self, request: Request, pk: str, format: str | None = None) -> Response:
        """办结报告: stored when the directive closed (`final: true`); before that, a preview of the same data
        (`final: false`)."""
        d = self.get_object()
        data = reports.for_user(d, request.user)
        if request.accepted_renderer.format == "xlsx":
            xlsx = reports.closure_xlsx(data)
            return exports.download(xlsx, kind="xlsx", filename=f"directive-{d.pk}-closure.xlsx")  # type: ignore[return-value]
        return Response(data)


# --- Tasks ----------------------------------------------------------------------------------------------


class DirectiveBriefSerializer(serializers.ModelSerializer[Directive]):
    issuer_org_name = serializers.CharField(source="issuer_org.name", read_only=True)

    class Meta:
        model = Directive
        fields = ["id", "title", "colour", "source", "state", "issuer_org", "issuer_org_name", "issued_at"]


class AssigneeSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()


class TaskAssignSerializer(StrictSerializer):
    assignee = serializers.IntegerField(allow_null=True, help_text="A person's id (null: nobody).")


class TaskSerializer(serializers.ModelSerializer[Task]):
    org_name = serializers.CharField(source="org.name", read_only=True)
    assignee = serializers.SerializerMethodField()
    signed_by = PersonBriefField(read_only=True, allow_null=True)
    approved_by = PersonBriefField(read_only=True, allow_null=True)
    directives = serializers.SerializerMethodField()
    allowed = serializers.SerializerMethodField(help_text="What a person may do now (sign, start, report, …).")
    overdue = serializers.SerializerMethodField(help_text="Broken clocks not yet met.")

    class Meta:
        model = Task
        fields = [
            "id", "org", "org_name", "title", "colour", "subject", "state", "allowed", "version", "actions",
            "directives", "rework_count", "last_return_reason", "issued_at", "sign_due_at", "report_due_at",
            "signed_at", "signed_by", "started_at", "reported_at", "approved_at", "approved_by", "withdrawn_at",
            "overdue", "assignee",
        ]  # fmt: skip

    @extend_schema_field(DirectiveBriefSerializer(many=True))
    def get_directives(self, obj: Task) -> list[dict[str, Any]]:
        carried = [td.directive for td in obj.carried.all() if td.withdrawn_at is None]
        return DirectiveBriefSerializer(carried, many=True).data  # type: ignore[return-value]

    def get_allowed(self, obj: Task) -> list[str]:
        return [e for e in allowed_events(TASK, obj.state) if e in PEOPLE_EVENTS]

    @extend_schema_field(AssigneeSerializer(allow_null=True))
    def get_assignee(self, obj: Task) -> dict[str, Any] | None:
        return {"id": obj.assignee_id, "name": str(obj.assignee)} if obj.assignee is not None else None

    def get_overdue(self, obj: Task) -> list[str]:
        found = self.context.get("overdue")
        if found is None:
            found = clocks.overdue(Task, [obj.pk], prefix=selectors.TASK_CLOCK_PREFIX)
        return sorted(found.get(obj.pk, []))


class DirectiveFullSerializer(DirectiveBriefSerializer):
    attachments = AttachmentSerializer(many=True, read_only=True)

    class Meta(DirectiveBriefSerializer.Meta):
        fields = [*DirectiveBriefSerializer.Meta.fields, "content", "actions", "attachments"]


class TaskReportReadSerializer(serializers.ModelSerializer[TaskReport]):
    author = PersonBriefField(read_only=True)
    decided_by = PersonBriefField(read_only=True, allow_null=True)
    attachments = AttachmentSerializer(many=True, read_only=True)

    class Meta:
        model = TaskReport
        fields = [
            "id", "author", "org", "text", "checklist", "created_at", "decision", "decided_by", "decided_at",
            "reason", "attachments",
        ]  # fmt: skip


class TaskTransitionSerializer(serializers.Serializer[Any]):
    at = serializers.DateTimeField()
    from_state = serializers.CharField()
    to_state = serializers.CharField()
    event = serializers.CharField()
    actor = serializers.CharField(source="actor.username", allow_null=True, default=None)
    reason = serializers.CharField()
    # The same step in words ("东湖派出所 张三 签收"): the person's name, their org's, the event's label.
    in_words = serializers.SerializerMethodField()

    def get_in_words(self, obj: Any) -> dict[str, str]:
        return {**words.who(obj.actor), "event": words.event_label(TASK_EVENT_LABELS, obj.event)}


class TaskDetailSerializer(TaskSerializer):
    directives = serializers.SerializerMethodField()
    reports = TaskReportReadSerializer(many=True, read_only=True)
    timeline = TaskTransitionSerializer(source="transitions", many=True, read_only=True)

    class Meta(TaskSerializer.Meta):
        fields = [*TaskSerializer.Meta.fields, "reports", "timeline"]

    @extend_schema_field(DirectiveFullSerializer(many=True))
    def get_directives(self, obj: Task) -> list[dict[str, Any]]:
        carried = [td.directive for td in obj.carried.all() if td.withdrawn_at is None]
        return DirectiveFullSerializer(carried, many=True).data  # type: ignore[return-value]


class TaskReportSerializer(StrictSerializer):
    text = serializers.CharField(max_length=20000)
    checklist = JSONListField(
        required=False,
        help_text='[{"action": "…", "done": true, "note": "…"}] — every required action once; a JSON string in '
        "a multipart form",
    )
    files = serializers.ListField(child=serializers.FileField(), required=False, default=list)


class TaskApproveSerializer(StrictSerializer):
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class TaskReturnSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=2000)


class TaskFilter(django_filters.FilterSet):
    state = django_filters.MultipleChoiceFilter(choices=Task.State.choices)
    colour = django_filters.MultipleChoiceFilter(choices=Colour.choices)
    directive = django_filters.NumberFilter(method="filter_directive", label="a directive it carries")
    org = django_filters.NumberFilter(method="filter_org", label="org id (its subtree)")
    overdue = django_filters.BooleanFilter(method="filter_overdue", label="has a broken clock not yet met")
    open = django_filters.BooleanFilter(method="filter_open", label="not approved or withdrawn")

    class Meta:
        model = Task
        fields = ["state", "colour", "directive", "org", "overdue", "open"]

    def filter_directive(self, qs: QuerySet[Task], name: str, value: int) -> QuerySet[Task]:
        return qs.filter(pk__in=TaskDirective.objects.filter(directive_id=value).values("task_id"))

    def filter_org(self, qs: QuerySet[Task], name: str, value: int) -> QuerySet[Task]:
        return _subtree(qs, value)

    def filter_overdue(self, qs: QuerySet[Task], name: str, value: bool) -> QuerySet[Task]:
        late = clocks.overdue_ids(Task, prefix=selectors.TASK_CLOCK_PREFIX)
        return qs.filter(pk__in=late) if value else qs.exclude(pk__in=late)

    def filter_open(self, qs: QuerySet[Task], name: str, value: bool) -> QuerySet[Task]:
        from .models import OPEN_TASK_STATES

        return qs.filter(state__in=OPEN_TASK_STATES) if value else qs.exclude(state__in=OPEN_TASK_STATES)


class TaskViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Task]):
    """任务: a station's inbox of directives (its own tasks) — and for the issuing command center, the
    tasks of its directives. The recipient signs, starts and reports; a supervisor approves or returns."""

    serializer_class = TaskSerializer
    filterset_class = TaskFilter
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def get_queryset(self) -> QuerySet[Task]:
        carried = TaskDirective.objects.select_related("directive__issuer_org").prefetch_related(
            "directive__attachments"
        )
        qs = (
            selectors.visible_tasks(self.request.user)
            .select_related("org", "signed_by__person", "approved_by__person", "assignee__user")
            .prefetch_related(Prefetch("carried", queryset=carried))
        )
        if self.action == "retrieve":
            qs = qs.prefetch_related(
                Prefetch(
                    "reports",
                    queryset=TaskReport.objects.select_related("author__person", "decided_by__person").prefetch_related(
                        "attachments"
                    ),
                ),
                "transitions__actor__person__org",
            )
        return qs

    def get_serializer_class(self) -> Any:
        return {
            "retrieve": TaskDetailSerializer,
            "sign": NoBodySerializer,
            "start": NoBodySerializer,
            "report": TaskReportSerializer,
            "approve": TaskApproveSerializer,
            "return_": TaskReturnSerializer,
            "assign": TaskAssignSerializer,
        }.get(self.action, TaskSerializer)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        qs = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(qs)
        rows = list(page if page is not None else qs)
        context = {
            **self.get_serializer_context(),
            "overdue": clocks.overdue(Task, [t.pk for t in rows], prefix=selectors.TASK_CLOCK_PREFIX),
        }
        data = TaskSerializer(rows, many=True, context=context).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    def _input(self, request: Request) -> dict[str, Any]:
        s = self.get_serializer(data=request.data)
        s.is_valid(raise_exception=True)
        return dict(s.validated_data)

    def _answer(self, task_id: int) -> Response:
        self.action = "retrieve"  # read back with the detail's prefetches
        t = self.get_queryset().get(pk=task_id)
        return Response(TaskDetailSerializer(t, context=self.get_serializer_context()).data)

    @extend_schema(request=TaskAssignSerializer, responses=TaskDetailSerializer)
    @action(detail=True, methods=["post"])
    def assign(self, request: Request, pk: str) -> Response:
        """Name who carries the task: a person of its org or of a community under it (社区民警); by the
        officers of the task's org or above it."""
        t = self.get_object()
        v = self._input(request)
        assignee = None
        if v["assignee"] is not None:
            assignee = (
                orgs.restrict(Person.objects.select_related("org"), request.user).filter(pk=v["assignee"]).first()
            )
            if assignee is None:
                raise Refused("assignee", _("Not found in your area."))
        return self._answer(services.task_assign(task_id=t.pk, actor=request.user, assignee=assignee).pk)

    @extend_schema(request=NoBodySerializer, responses=TaskDetailSerializer)
    @action(detail=True, methods=["post"])
    def sign(self, request: Request, pk: str) -> Response:
        """签收, by the recipient's own officer."""
        t = self.get_object()
        self._input(request)
        return self._answer(services.task_sign(task_id=t.pk, actor=request.user).pk)

    @extend_schema(request=NoBodySerializer, responses=TaskDetailSerializer)
    @action(detail=True, methods=["post"])
    def start(self, request: Request, pk: str) -> Response:
        """Work begins (after signing, or again after a return)."""
        t = self.get_object()
        self._input(request)
        return self._answer(services.task_start(task_id=t.pk, actor=request.user).pk)

    @extend_schema(
        request={"multipart/form-data": TaskReportSerializer, "application/json": TaskReportSerializer},
        responses=TaskDetailSerializer,
    )
    @action(detail=True, methods=["post"])
    def report(self, request: Request, pk: str) -> Response:
        """反馈: text, the checklist answered (every required action once), files (multipart `files`)."""
        t = self.get_object()
        v = self._input(request)
        services.task_report(
            task_id=t.pk, actor=request.user, text=v["text"], checklist=v.get("checklist", []), files=v["files"]
        )
        return self._answer(t.pk)

    @extend_schema(request=TaskApproveSerializer, responses=TaskDetailSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str) -> Response:
        """办结 (supervisors). Closes each directive whose tasks are now all approved."""
        t = self.get_object()
        v = self._input(request)
        return self._answer(services.task_approve(task_id=t.pk, actor=request.user, note=v["note"]).pk)

    @extend_schema(request=TaskReturnSerializer, responses=TaskDetailSerializer)
    @action(detail=True, methods=["post"], url_path="return", url_name="return")
    def return_(self, request: Request, pk: str) -> Response:
        """退回整改 with a reason (supervisors)."""
        t = self.get_object()
        v = self._input(request)
        return self._answer(services.task_return(task_id=t.pk, actor=request.user, reason=v["reason"]).pk)


# --- Repeat clusters into the loop ------------------------------------------------------------------------


class GovernSerializer(StrictSerializer):
    title = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    content = serializers.CharField(max_length=20000, required=False, allow_blank=True, default="")
    colour = serializers.ChoiceField(choices=Colour.choices, default=Colour.YELLOW)
    actions = serializers.ListField(
        child=serializers.CharField(max_length=200), required=False, default=list, max_length=services.MAX_ACTIONS
    )
    sign_within_s = serializers.IntegerField(min_value=60, max_value=30 * 86400, required=False, allow_null=True)
    report_within_s = serializers.IntegerField(min_value=60, max_value=365 * 86400, required=False, allow_null=True)


class ClusterGovernView(generics.GenericAPIView[RepeatCluster]):
    """挂账: put a line of the repeat ledger into the loop. A directive (source repeat governance) goes to the
    cluster's org; the cluster is governed until its task is approved, then struck off (销号). 409 unless the
    cluster is open."""

    serializer_class = GovernSerializer
    queryset = RepeatCluster.objects.none()

    @extend_schema(request=GovernSerializer, responses={201: DirectiveDetailSerializer})
    def post(self, request: Request, pk: int) -> Response:
        cluster = get_object_or_404(orgs.restrict(RepeatCluster.objects.all(), request.user), pk=pk)
        s = GovernSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        v = s.validated_data
        d = services.cluster_govern(
            cluster_id=cluster.pk,
            actor=request.user,
            title=v["title"],
            content=v["content"],
            actions=v["actions"],
            colour=v["colour"],
            sign_within_s=v.get("sign_within_s"),
            report_within_s=v.get("report_within_s"),
        )
        d = (
            Directive.objects.select_related("issuer_org", "issuer__person")
            .prefetch_related("recipients", "attachments")
            .get(pk=d.pk)
        )
        return Response(DirectiveDetailSerializer(d, context={"request": request}).data, status=status.HTTP_201_CREATED)
