"""Supervision API: the reminders inbox (催办), 督办 orders, the commanders' watch list (盯办), the
supervisors' review queue and the overdue list. Views check scope (404 outside it) and call services."""

from __future__ import annotations

from typing import Any

import django_filters
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from command_center import clocks, exports, orgs, words
from command_center.drf import Pagination
from command_center.errors import Refused
from command_center.models import Deadline, Org, Role
from command_center.serializers import NoBodySerializer, PersonBriefField, StrictSerializer
from incidents.selectors import visible_incidents
from intel.api import TaskSerializer
from intel.models import OPEN_TASK_STATES, Task
from intel.selectors import TASK_CLOCK_PREFIX, visible_tasks

from . import kpis, scores, selectors, services
from .models import Reminder, Score, SupervisionOrder, Watch
from .payloads import TaskBriefSerializer, WatchIncidentSerializer, WatchSerializer


def _subtree(qs: QuerySet[Any], org_id: int, field: str) -> QuerySet[Any]:
    org = Org.objects.filter(pk=org_id).first()
    return qs.filter(**{f"{field}__path__startswith": org.path}) if org else qs.none()


# --- Reminders ------------------------------------------------------------------------------------------


class ReminderSerializer(serializers.ModelSerializer[Reminder]):
    recipient_name = serializers.CharField(source="recipient.name", read_only=True)
    task = TaskBriefSerializer(read_only=True, allow_null=True)
    incident = WatchIncidentSerializer(read_only=True, allow_null=True)
    clock = serializers.CharField(source="deadline.kind", read_only=True)
    due_at = serializers.DateTimeField(source="deadline.due_at", read_only=True)
    by = PersonBriefField(read_only=True, allow_null=True, help_text="Who raised it by hand; null: the sweep.")
    acknowledged_by = PersonBriefField(read_only=True, allow_null=True)

    class Meta:
        model = Reminder
        fields = [
            "id", "level", "recipient", "recipient_name", "task", "incident", "deadline", "clock", "due_at",
            "text", "by", "created_at", "acknowledged_at", "acknowledged_by",
        ]  # fmt: skip


class ReminderFilter(django_filters.FilterSet):
    level = django_filters.TypedChoiceFilter(choices=Reminder.Level.choices, coerce=int)
    task = django_filters.NumberFilter(field_name="task_id")
    recipient = django_filters.NumberFilter(method="filter_recipient", label="recipient org id (its subtree)")
    acknowledged = django_filters.BooleanFilter(field_name="acknowledged_at", lookup_expr="isnull", exclude=True)
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Reminder
        fields = ["level", "task", "recipient", "acknowledged"]

    def filter_recipient(self, qs: QuerySet[Reminder], name: str, value: int) -> QuerySet[Reminder]:
        return _subtree(qs, value, "recipient")


class ReminderViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Reminder]):
    """催办: reminders about tasks the caller sees — a station's inbox of its own, the issuing command
    center's board of its directives' tasks — newest first."""

    serializer_class = ReminderSerializer
    filterset_class = ReminderFilter

    def get_queryset(self) -> QuerySet[Reminder]:
        return selectors.visible_reminders(self.request.user).select_related(
            "recipient", "task__org", "incident", "deadline", "by__person", "acknowledged_by__person"
        )

    def get_serializer_class(self) -> Any:
        return NoBodySerializer if self.action == "acknowledge" else ReminderSerializer

    @extend_schema(request=NoBodySerializer, responses=ReminderSerializer)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, pk: str) -> Response:
        """The recipient saw it (its own people)."""
        r = self.get_object()
        NoBodySerializer(data=request.data).is_valid(raise_exception=True)
        services.reminder_acknowledge(reminder_id=r.pk, actor=request.user)
        return Response(ReminderSerializer(self.get_queryset().get(pk=r.pk)).data)


# --- 督办 orders ----------------------------------------------------------------------------------------


class SupervisionOrderSerializer(serializers.ModelSerializer[SupervisionOrder]):
    org_name = serializers.CharField(source="org.name", read_only=True)
    task = TaskBriefSerializer(read_only=True, allow_null=True)
    incident = WatchIncidentSerializer(read_only=True, allow_null=True)
    by = PersonBriefField(read_only=True, allow_null=True, help_text="Who raised it by hand; null: the sweep.")
    level = serializers.CharField(source="level.code", read_only=True)
    level_rank = serializers.IntegerField(source="level.rank", read_only=True)
    level_name = serializers.CharField(source="level.local_name", read_only=True)
    clock = serializers.CharField(source="deadline.kind", read_only=True)

    class Meta:
        model = SupervisionOrder
        fields = [
            "id", "task", "incident", "org", "org_name", "level", "level_rank", "level_name", "deadline", "clock",
            "reason", "by", "created_at",
        ]  # fmt: skip


class SupervisionOrderFilter(django_filters.FilterSet):
    task = django_filters.NumberFilter(field_name="task_id")
    org = django_filters.NumberFilter(method="filter_org", label="supervised org id (its subtree)")
    level = django_filters.CharFilter(field_name="level_id")
    open = django_filters.BooleanFilter(method="filter_open", label="its task is not approved or withdrawn")

    class Meta:
        model = SupervisionOrder
        fields = ["task", "org", "level", "open"]

    def filter_org(self, qs: QuerySet[SupervisionOrder], name: str, value: int) -> QuerySet[SupervisionOrder]:
        return _subtree(qs, value, "org")

    def filter_open(self, qs: QuerySet[SupervisionOrder], name: str, value: bool) -> QuerySet[SupervisionOrder]:
        return qs.filter(task__state__in=OPEN_TASK_STATES) if value else qs.exclude(task__state__in=OPEN_TASK_STATES)


class SupervisionOrderViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[SupervisionOrder]
):
    """督办: formal supervision orders on tasks the caller sees, newest first."""

    serializer_class = SupervisionOrderSerializer
    filterset_class = SupervisionOrderFilter

    def get_queryset(self) -> QuerySet[SupervisionOrder]:
        return selectors.visible_orders(self.request.user).select_related(
            "org", "task__org", "incident", "level", "deadline", "by__person"
        )


# --- Watch list -----------------------------------------------------------------------------------------


class WatchCreateSerializer(StrictSerializer):
    task = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    incident = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if (attrs.get("task") is None) == (attrs.get("incident") is None):
            msg = _("Name a task or an incident.")
            raise serializers.ValidationError({"task": [msg], "incident": [msg]})
        return attrs


class WatchViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet[Watch],
):
    """盯办: what the commanders of the caller's area keep an eye on, until it closes (`?all=true` also lists
    ended watches and closed subjects). Commanders add (`{"task": id}` or `{"incident": id}`) and end
    (DELETE) watches."""

    serializer_class = WatchSerializer

    def get_queryset(self) -> QuerySet[Watch]:
        qs = selectors.visible_watches(self.request.user).select_related(
            "task__org", "incident", "org", "by__person", "by_org"
        )
        if self.action == "list" and self.request.query_params.get("all", "").lower() not in ("1", "true", "yes"):
            qs = selectors.open_watches(qs)
        return qs

    def get_serializer_class(self) -> Any:
        return WatchCreateSerializer if self.action == "create" else WatchSerializer

    @extend_schema(parameters=[OpenApiParameter("all", bool, description="Also ended watches and closed subjects")])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(request=WatchCreateSerializer, responses={201: WatchSerializer, 200: WatchSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        s = WatchCreateSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        v = s.validated_data
        task = incident = None
        if v.get("task") is not None:
            task = visible_tasks(request.user).select_related("org").filter(pk=v["task"]).first()
            if task is None:
                return Response({"task": [_("Not found in your area.")]}, status=status.HTTP_400_BAD_REQUEST)
        else:
            incident = visible_incidents(request.user).select_related("org").filter(pk=v["incident"]).first()
            if incident is None:
                return Response({"incident": [_("Not found in your area.")]}, status=status.HTTP_400_BAD_REQUEST)
        w, created = services.watch_add(actor=request.user, task=task, incident=incident, note=v["note"])
        data = WatchSerializer(selectors.visible_watches(request.user).get(pk=w.pk)).data
        return Response(data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        w = self.get_object()
        services.watch_end(watch_id=w.pk, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Review queue ---------------------------------------------------------------------------------------


class ReviewIncidentSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    number = serializers.CharField()
    address = serializers.CharField()
    category = serializers.CharField(source="category_id")
    category_name = serializers.CharField(source="category.local_name")
    org = serializers.IntegerField(source="org_id")
    org_name = serializers.CharField(source="org.name")
    closed_at = serializers.DateTimeField(allow_null=True)
    rectification = serializers.DictField(allow_null=True, help_text="{directive, state} of its rectification")


class ReviewListSerializer(serializers.Serializer[Any]):
    count = serializers.IntegerField()
    results = TaskSerializer(many=True)


class ReviewIncidentListSerializer(serializers.Serializer[Any]):
    count = serializers.IntegerField()
    results = ReviewIncidentSerializer(many=True)


class ReviewSerializer(serializers.Serializer[Any]):
    tasks = ReviewListSerializer(help_text="Reported tasks awaiting a decision, oldest first.")
    incidents = ReviewIncidentListSerializer(help_text="Closed incidents marked for rectification, newest first.")


class ReviewView(generics.GenericAPIView[Any]):
    """The supervisors' queue: reports awaiting approval or return in the caller's area, and closed incidents
    a dissatisfied callback marked for rectification (with the loop's rectification, when opened). At most
    `limit` of each (default 100)."""

    serializer_class = ReviewSerializer
    pagination_class = None
    queryset = Task.objects.none()

    @extend_schema(parameters=[OpenApiParameter("limit", int, description="1–500, default 100")])
    def get(self, request: Request) -> Response:
        raw = request.query_params.get("limit", "100")
        if not raw.isdigit() or not 1 <= int(raw) <= 500:
            return Response({"limit": [_("Give a whole number from 1 to 500.")]}, status=status.HTTP_400_BAD_REQUEST)
        limit = int(raw)
        from django.db.models import Prefetch

        from intel.models import TaskDirective

        tasks_qs = selectors.review_tasks(request.user)
        tasks = list(
            tasks_qs.select_related("org", "signed_by__person", "approved_by__person").prefetch_related(
                Prefetch("carried", queryset=TaskDirective.objects.select_related("directive__issuer_org"))
            )[:limit]
        )
        incidents_qs = selectors.review_incidents(request.user)
        incidents = list(incidents_qs[:limit])
        rect = selectors.rectification_states([i.pk for i in incidents])
        for i in incidents:
            i.rectification = rect.get(i.pk)  # type: ignore[attr-defined]
        data = {
            "tasks": {
                "count": tasks_qs.count(),
                "results": TaskSerializer(
                    tasks,
                    many=True,
                    context={"overdue": clocks.overdue(Task, [t.pk for t in tasks], prefix=TASK_CLOCK_PREFIX)},
                ).data,
            },
            "incidents": {
                "count": incidents_qs.count(),
                "results": ReviewIncidentSerializer(incidents, many=True).data,
            },
        }
        return Response(data)


# --- Overdue list ---------------------------------------------------------------------------------------


class OverdueItemSerializer(serializers.ModelSerializer[Deadline]):
    label = serializers.SerializerMethodField()  # type: ignore[assignment]  # named like Field.label
    org_name = serializers.CharField(source="org.name", read_only=True)
    subject = serializers.SerializerMethodField()

    class Meta:
        model = Deadline
        fields = ["id", "kind", "label", "org", "org_name", "level", "started_at", "due_at", "breached_at", "subject"]

    def get_label(self, obj: Deadline) -> str:
        registered = clocks.registered()
        return str(registered[obj.kind].label) if obj.kind in registered else obj.kind

    def get_subject(self, obj: Deadline) -> dict[str, Any]:
        return dict(self.context.get("subjects", {}).get(obj.pk, {}))


class OverdueGroupSerializer(serializers.Serializer[Any]):
    org = serializers.IntegerField()
    org_name = serializers.CharField()
    kind = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # named like Field.label
    count = serializers.IntegerField()


class OverduePageSerializer(serializers.Serializer[Any]):
    count = serializers.IntegerField()
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)
    groups = OverdueGroupSerializer(many=True, help_text="Counts by org and clock kind (all pages).")
    results = OverdueItemSerializer(many=True)


class OverdueView(generics.GenericAPIView[Deadline]):
    """超期: clocks of every kind in the caller's area that broke and are still not met — counts by org and
    kind (`groups`) and the clocks themselves, longest overdue first. Filters: `org` (its subtree), `kind`
    (a prefix: `intel.` for the loop's, `dispatch.sign` for one kind)."""

    serializer_class = OverdueItemSerializer
    pagination_class = Pagination
    queryset = Deadline.objects.none()

    @extend_schema(
        parameters=[OpenApiParameter("org", int), OpenApiParameter("kind", str)],
        responses=OverduePageSerializer,
    )
    def get(self, request: Request) -> Response:
        qs = selectors.overdue_deadlines(request.user).select_related("org")
        raw_org = request.query_params.get("org")
        if raw_org:
            if not raw_org.isdigit():
                return Response({"org": [_("Give an organisation id.")]}, status=status.HTTP_400_BAD_REQUEST)
            qs = _subtree(qs, int(raw_org), "org")
        if request.query_params.get("kind"):
            qs = qs.filter(kind__startswith=request.query_params["kind"])
        qs = qs.order_by("due_at", "id")
        page = self.paginate_queryset(qs)
        rows = list(page if page is not None else qs)
        context = {"subjects": selectors.deadline_subjects(rows)}
        response = self.get_paginated_response(OverdueItemSerializer(rows, many=True, context=context).data)
        response.data["groups"] = selectors.overdue_groups(qs.order_by())
        return response


# --- By hand: 催办 and 督办 on an overdue clock -----------------------------------------------------------


class HandSerializer(StrictSerializer):
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="", label=_l("Note"))


class _ByHandView(generics.GenericAPIView[Deadline]):
    """A supervisor's act on one overdue clock (`act`: a service taking the clock, the actor and the note),
    answered 201 with what it raised (`answer`: its serializer)."""

    serializer_class = HandSerializer
    queryset = Deadline.objects.none()
    act: Any = None
    answer: Any = None

    def post(self, request: Request, pk: int) -> Response:
        s = HandSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        row = type(self).act(
            deadline_id=_overdue_in_scope(request, pk), actor=request.user, note=s.validated_data["note"]
        )
        return Response(type(self).answer(row).data, status=status.HTTP_201_CREATED)


@extend_schema_view(post=extend_schema(request=HandSerializer, responses={201: ReminderSerializer}))
class OverdueRemindView(_ByHandView):
    """催办 by hand: a supervisor or commander reminds the org that must act on this overdue clock (a task's,
    an incident's or one of its orders'), with a note. 201 with the reminder; 409 when this clock was
    reminded already, or is not overdue (not broken yet, or met)."""

    act = services.remind_by_hand
    answer = ReminderSerializer


@extend_schema_view(post=extend_schema(request=HandSerializer, responses={201: SupervisionOrderSerializer}))
class OverdueSuperviseView(_ByHandView):
    """督办 by hand on this overdue clock, at its subject's next level, the note as its reason (required).
    201 with the order; 409 when this clock has a 督办 already or is not overdue."""

    act = services.supervise_by_hand
    answer = SupervisionOrderSerializer


def _overdue_in_scope(request: Request, pk: int) -> int:
    """The clock's id if it is in the caller's area; 404 otherwise (another area's clock ids are not the
    caller's to probe)."""
    if not clocks.unmet().filter(pk=pk).exists() or not selectors.in_scope_deadline(request.user, pk):
        raise Http404
    return pk


# --- Measures (supervision/kpis.py) ---------------------------------------------------------------------

KPI_ROW_MODELS = {
    "incident": "incidents.incident",
    "order": "dispatch.dispatchorder",
    "diversion": "incidents.diversion",
    "task": "intel.task",
    "cluster": "incidents.repeatcluster",
}


class KpiScopeSerializer(StrictSerializer):
    """Which figures: an org (its subtree; default the reader's own), a period holding `date` (default
    today), or `custom` from `start` to `end` (local dates, inclusive), and a category prefix."""

    org = serializers.IntegerField(required=False, label=_l("Organisation"))
    period = serializers.ChoiceField(choices=kpis.PERIODS, default="month", label=_l("Period"))
    date = serializers.DateField(required=False, label=_l("Date"))
    start = serializers.DateField(required=False, label=_l("From"))
    end = serializers.DateField(required=False, label=_l("To"))
    category = serializers.RegexField(r"^\d{0,6}$", required=False, default="", label=_l("Category prefix"))
    missed = serializers.BooleanField(
        required=False, default=False, help_text="Rows only: just those that count against the figure."
    )
    page = serializers.IntegerField(required=False, min_value=1)
    page_size = serializers.IntegerField(required=False, min_value=1)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["period"] == "custom":
            if not attrs.get("start") or not attrs.get("end"):
                raise serializers.ValidationError({"start": [_("A custom period needs a start and an end.")]})
            if attrs["end"] < attrs["start"]:
                raise serializers.ValidationError({"end": [_("The end comes before the start.")]})
            if (attrs["end"] - attrs["start"]).days > 366:
                raise serializers.ValidationError({"end": [_("At most a year at a time.")]})
        return attrs


def _kpi_scope(request: Request, params: Any = None) -> tuple[kpis.Scope, str]:
    s = KpiScopeSerializer(data=request.query_params if params is None else params)
    s.is_valid(raise_exception=True)
    v = s.validated_data
    person = orgs.person_of(request.user)
    police = [r for r in Role if r not in (Role.PARTNER, Role.VOLUNTEER)]
    if not request.user.is_superuser and (person is None or not person.has_role(*police)):
        raise PermissionDenied
    if v.get("org") is not None:
        org = orgs.visible_orgs(request.user).filter(pk=v["org"]).first()
        if org is None:
            raise Http404
    elif person is not None:
        org = person.org
    else:
        org = Org.objects.filter(depth=1).order_by("path").first()
        if org is None:
            raise Http404
    anchor = v.get("date") or timezone.localdate()
    first, last = kpis.period_days(v["period"], anchor, start=v.get("start"), end=v.get("end"))
    return kpis.Scope(org, first, last, v.get("category", "")), v["period"]


def _kpi_and_scope(request: Request, key: str) -> tuple[kpis.Kpi, kpis.Scope]:
    """The measure named in the URL (404 for an unknown one) and the scope of the query."""
    k = kpis.BY_KEY.get(key)
    if k is None:
        raise Http404
    return k, _kpi_scope(request)[0]


def _value(v: kpis.Value) -> dict[str, Any]:
    return {"value": v.value, "numerator": v.numerator, "denominator": v.denominator}


def _scope_data(s: kpis.Scope) -> dict[str, Any]:
    return {"first": s.first, "last": s.last}


class KpiView(generics.GenericAPIView[Any]):
    """考评指标: every measure for an org's subtree and a period (Asia/Shanghai), with the previous period and
    the same period last year beside it. Each figure carries what it was computed from (numerator,
    denominator) and its formula; `GET /api/kpis/{key}/rows/` lists the rows behind it."""

    serializer_class = KpiScopeSerializer
    queryset = Deadline.objects.none()

    @extend_schema(parameters=[KpiScopeSerializer], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        scope, period = _kpi_scope(request)
        before, year = kpis.previous(scope, period), kpis.last_year(scope, period)
        now, prev, last = kpis.compute(scope), kpis.compute(before), kpis.compute(year)
        return Response(
            {
                "scope": {
                    "org": scope.org.pk,
                    "org_name": scope.org.name,
                    "period": period,
                    "category": scope.category,
                    **_scope_data(scope),
                },
                "previous": _scope_data(before),
                "last_year": _scope_data(year),
                "kpis": [
                    {
                        "key": k.key,
                        "label": str(k.label),
                        "group": k.group,
                        "unit": k.unit,
                        "better": k.better,
                        "formula": k.formula,
                        "missed": k.key in kpis.MISSED,
                        "breakdown": kpis.breakdowns(k),
                        **_value(now[k.key]),
                        "previous": _value(prev[k.key]),
                        "last_year": _value(last[k.key]),
                    }
                    for k in kpis.KPIS
                ],
            }
        )


class KpiRowsView(generics.GenericAPIView[Any]):
    """The rows a measure counts, for the same scope (drill-down): each as a person reads it — an incident's
    or an order's number, address and page, a task's title — newest first."""

    serializer_class = KpiScopeSerializer
    pagination_class = Pagination
    queryset = Deadline.objects.none()

    @extend_schema(parameters=[KpiScopeSerializer], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, key: str) -> Response:
        k, scope = _kpi_and_scope(request, key)
        against = kpis.missed(k, scope) if request.query_params.get("missed") in ("1", "true") else None
        qs = (against if against is not None else k.rows(scope)).order_by("-pk")
        page = self.paginate_queryset(qs.values_list("pk", flat=True))
        ids = list(page if page is not None else qs.values_list("pk", flat=True)[:200])
        model = KPI_ROW_MODELS.get(k.rows_of, "")
        described = words.describe(model, ids) if model else {}
        overdue = _overdue_of(request.user, model, ids) if model else {}
        rows = [
            {"type": k.rows_of, "id": pk, "title": f"#{pk}", **described.get(pk, {}), "overdue": overdue.get(pk, [])}
            for pk in ids
        ]
        return self.get_paginated_response(rows) if page is not None else Response(rows)


def _overdue_of(user: Any, model: str, ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """The broken, unmet clocks of these rows in the caller's area — what a supervisor may 催办 or 督办 by
    hand from the drill-down — each with whether a reminder or a 督办 was raised on it already."""
    if not ids:
        return {}
    app_label, name = model.split(".")
    ct = ContentType.objects.get_by_natural_key(app_label, name)
    rows = list(
        orgs.restrict(clocks.unmet().breached(), user).filter(subject_type=ct, subject_id__in=ids).order_by("due_at")
    )
    reminded = set(Reminder.objects.filter(deadline__in=rows).values_list("deadline_id", flat=True))
    supervised = set(SupervisionOrder.objects.filter(deadline__in=rows).values_list("deadline_id", flat=True))
    out: dict[int, list[dict[str, Any]]] = {}
    for d in rows:
        out.setdefault(d.subject_id, []).append(
            {
                "id": d.pk,
                "label": services.clock_label(d.kind),
                "due_at": d.due_at,
                "reminded": d.pk in reminded,
                "supervised": d.pk in supervised,
            }
        )
    return out


class KpiTrendView(generics.GenericAPIView[Any]):
    """One measure day by day over the scope's period (the last 62 days of a longer one), for a trend line."""

    serializer_class = KpiScopeSerializer
    queryset = Deadline.objects.none()

    @extend_schema(parameters=[KpiScopeSerializer], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, key: str) -> Response:
        k, scope = _kpi_and_scope(request, key)
        return Response([{"day": d, **_value(v)} for d, v in kpis.trend(k, scope)])


class KpiRankingView(generics.GenericAPIView[Any]):
    """One measure for each org right under the scope's org, best first (a county's stations, a city's
    counties)."""

    serializer_class = KpiScopeSerializer
    queryset = Deadline.objects.none()

    @extend_schema(parameters=[KpiScopeSerializer], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, key: str) -> Response:
        k, scope = _kpi_and_scope(request, key)
        rows = kpis.ranking(k, scope)
        return Response(
            [{"rank": n, "org": o.pk, "org_name": o.name, **_value(v)} for n, (o, v) in enumerate(rows, start=1)]
        )


class KpiBreakdownView(generics.GenericAPIView[Any]):
    """One measure broken down otherwise than by org: `by=partner` for the diversions' measures (each partner
    the scope's diversions went to), `by=kind` or `by=theme` for the repeat ledger's (挂账销号). 400 for a
    breakdown the measure does not have."""

    serializer_class = KpiScopeSerializer
    queryset = Deadline.objects.none()

    @extend_schema(
        parameters=[KpiScopeSerializer, OpenApiParameter("by", str, enum=["partner", "kind", "theme"])],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request: Request, key: str) -> Response:
        by = request.query_params.get("by", "")
        params = request.query_params.copy()
        params.pop("by", None)
        k = kpis.BY_KEY.get(key)
        if k is None:
            raise Http404
        scope = _kpi_scope(request, params)[0]
        if by not in kpis.breakdowns(k):
            raise serializers.ValidationError({"by": [_("This measure does not break down that way.")]})
        if by == "partner":
            rows = [{"key": o.pk, "name": o.name, **_value(v)} for o, v in kpis.by_partner(k, scope)]
        else:
            rows = [{"key": c, "name": n, **_value(v)} for c, n, v in kpis.cluster_breakdown(k, scope, by)]
        return Response(rows)


class KpiExportView(generics.GenericAPIView[Any]):
    """The measures of the scope as XLSX (or CSV with `file=csv`): each with this period, the previous one
    and last year's, numerator and denominator — what the page shows, for a report."""

    serializer_class = KpiScopeSerializer
    queryset = Deadline.objects.none()

    @extend_schema(parameters=[KpiScopeSerializer], responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    def get(self, request: Request) -> Any:
        kind = request.query_params.get("file", "xlsx")
        if kind not in ("xlsx", "csv"):
            return Response({"file": [_("Choose xlsx or csv.")]}, status=status.HTTP_400_BAD_REQUEST)
        params = request.query_params.copy()
        params.pop("file", None)  # the scope's strict serializer knows no `file`
        scope, period = _kpi_scope(request, params)
        before, year = kpis.previous(scope, period), kpis.last_year(scope, period)
        now, prev, last = kpis.compute(scope), kpis.compute(before), kpis.compute(year)
        sheet = exports.Sheet(str(_("Measures")), widths=[28, 12, 12, 12, 12, 12, 12, 70])
        sheet.row(f"{scope.org.name} {scope.first} – {scope.last}", style="title")
        sheet.row(
            str(_("Measure")), str(_("This period")), str(_("Numerator")), str(_("Denominator")),
            str(_("Previous period")), str(_("Same period last year")), str(_("Key")), str(_("Formula")),
            style="header",
        )  # fmt: skip
        for k in kpis.KPIS:
            sheet.row(
                str(k.label), now[k.key].value, now[k.key].numerator, now[k.key].denominator,
                prev[k.key].value, last[k.key].value, k.key, k.formula,
            )  # fmt: skip
        return exports.write(sheet, kind=kind, filename=f"measures-{scope.org.pk}-{scope.first}-{scope.last}.{kind}")


# --- Scores (考评, supervision/scores.py) ----------------------------------------------------------------

SCORE_ROLES = [Role.SUPERVISOR, Role.COMMANDER]


class ScoreQuerySerializer(StrictSerializer):
    period = serializers.ChoiceField(choices=["week", "month"], default="month", label=_l("Period"))
    date = serializers.DateField(required=False, label=_l("Date"))
    level = serializers.ChoiceField(
        choices=[Org.Level.STATION, Org.Level.COUNTY], default=Org.Level.STATION, label=_l("Level")
    )
    page = serializers.IntegerField(required=False, min_value=1)
    page_size = serializers.IntegerField(required=False, min_value=1)


def _score_row(s: Any, lists: dict[str, Any] | None = None) -> dict[str, Any]:
    row = {
        "id": s.pk,
        "org": s.org_id,
        "org_name": s.org.name,
        "period": s.period,
        "first": s.first,
        "last": s.last,
        "total": float(s.total),
        "rank": s.rank,
        "of": s.of,
        "scheme": {"name": s.scheme.name, "version": s.scheme.version},
    }
    if lists is not None:
        row["list"] = "red" if s in lists["red"] else "black" if s in lists["black"] else ""
    return row


class ScoreListView(generics.GenericAPIView[Any]):
    """考评: the scores of one level (stations among stations) for a week or a month under the active scheme,
    ranked, each marked for the 红榜 (十佳) or the 黑榜 with the rule that made the lists. A station sees its
    own row (its score and its rank among all); a supervisor or commander the orgs of their area."""

    serializer_class = ScoreQuerySerializer
    queryset = Deadline.objects.none()

    @extend_schema(operation_id="scores_list", parameters=[ScoreQuerySerializer], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        q = ScoreQuerySerializer(data=request.query_params)
        q.is_valid(raise_exception=True)
        v = q.validated_data
        scheme = scores.active_scheme()
        if scheme is None:
            return Response({"scheme": None, "rule": "", "results": []})
        first, _last = kpis.period_days(v["period"], v.get("date") or timezone.localdate())
        qs = Score.objects.filter(period=v["period"], first=first, scheme=scheme, org__level=v["level"])
        everyone = list(qs.select_related("org", "scheme").order_by("rank"))
        made = scores.lists(everyone, scheme)
        mine = orgs.restrict(qs, request.user).values_list("pk", flat=True)
        seen = set(mine)
        return Response(
            {
                "scheme": {"name": scheme.name, "version": scheme.version},
                "rule": made["rule"],
                "results": [_score_row(s, made) for s in everyone if s.pk in seen],
            }
        )


class ScoreDetailView(generics.GenericAPIView[Any]):
    """One score with every part that made it: each measure's points, each bonus, each deduction with its
    cause (the 督办 order, reminder or finding, and the task or incident it is about, with its page)."""

    serializer_class = ScoreQuerySerializer
    queryset = Deadline.objects.none()

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, pk: int) -> Response:
        s = orgs.restrict(Score.objects.select_related("org", "scheme"), request.user).filter(pk=pk).first()
        if s is None:
            raise Http404
        return Response({**_score_row(s), "parts": s.parts})


class ScoreComputeSerializer(StrictSerializer):
    period = serializers.ChoiceField(choices=["week", "month"], label=_l("Period"))
    date = serializers.DateField(label=_l("Date"))
    level = serializers.ChoiceField(
        choices=[Org.Level.STATION, Org.Level.COUNTY], default=Org.Level.STATION, label=_l("Level")
    )


class ScoreComputeView(generics.GenericAPIView[Any]):
    """Compute (again) one level's scores for a period under the active scheme: supervisors and commanders
    at the top of the tree (a score ranks every org of its level)."""

    serializer_class = ScoreComputeSerializer
    queryset = Deadline.objects.none()

    @extend_schema(request=ScoreComputeSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request) -> Response:
        person = orgs.person_of(request.user)
        top = Org.objects.filter(depth=1).order_by("path").first()
        allowed = request.user.is_superuser or (
            person is not None and person.has_role(*SCORE_ROLES) and top is not None and person.org_id == top.pk
        )
        if not allowed:
            raise PermissionDenied
        v = self.get_serializer(data=request.data)
        v.is_valid(raise_exception=True)
        if scores.active_scheme() is None:
            raise Refused("period", _("No scoring scheme is active: add one in the admin."))
        rows = scores.compute_scores(period=v.validated_data["period"], anchor=v.validated_data["date"],
                                     level=v.validated_data["level"])  # fmt: skip
        return Response({"computed": len(rows)}, status=status.HTTP_201_CREATED)


# --- Bulletins (通报) ------------------------------------------------------------------------------------
# Appended, with its imports here, to keep merges of this shared file simple.

from django.http import HttpResponse  # noqa: E402
from django.urls import reverse  # noqa: E402

from . import bulletins  # noqa: E402
from .models import Bulletin  # noqa: E402


class BulletinSerializer(serializers.ModelSerializer[Bulletin]):
    org_name = serializers.CharField(source="org.name", read_only=True)
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    state_label = serializers.CharField(source="get_state_display", read_only=True)
    published_by = PersonBriefField(read_only=True, allow_null=True)
    urls = serializers.SerializerMethodField()

    class Meta:
        model = Bulletin
        fields = [
            "id", "kind", "kind_label", "org", "org_name", "first", "last", "title", "state", "state_label",
            "summary", "problems", "requirements", "figures", "directive", "version", "created_at",
            "published_at", "published_by", "urls",
        ]  # fmt: skip
        read_only_fields = [f for f in fields if f not in bulletins.TEXT_FIELDS]

    def get_urls(self, b: Bulletin) -> dict[str, str]:
        return {
            "page": bulletins.page_url(b),
            "docx": reverse("bulletin-docx", args=[b.pk]),
            "xlsx": reverse("bulletin-xlsx", args=[b.pk]),
        }


class BulletinListSerializer(BulletinSerializer):
    class Meta(BulletinSerializer.Meta):
        fields = [f for f in BulletinSerializer.Meta.fields if f not in ("figures", "summary", "problems")]


class BulletinUpdateSerializer(StrictSerializer):
    title = serializers.CharField(required=False, max_length=200)
    summary = serializers.CharField(required=False, allow_blank=True, max_length=bulletins.MAX_TEXT)
    problems = serializers.CharField(required=False, allow_blank=True, max_length=bulletins.MAX_TEXT)
    requirements = serializers.CharField(required=False, allow_blank=True, max_length=bulletins.MAX_TEXT)


class BulletinFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=Bulletin.Kind.choices)
    state = django_filters.ChoiceFilter(choices=Bulletin.State.choices)
    org = django_filters.NumberFilter(field_name="org_id")

    class Meta:
        model = Bulletin
        fields = ["kind", "state", "org"]


class BulletinViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Bulletin]):
    """通报: daily, weekly and monthly bulletins. Published ones are read by the org they cover and every
    org above and below it; drafts by its supervisors and commanders, who edit the text (PATCH) and
    publish (the covered orgs get a task to sign for it). `docx` and `xlsx` download it."""

    pagination_class = Pagination
    filterset_class = BulletinFilter

    def get_queryset(self) -> QuerySet[Bulletin]:
        return bulletins.visible_bulletins(self.request.user).order_by("-first", "kind", "-id")

    def get_serializer_class(self) -> Any:
        if self.action == "list":
            return BulletinListSerializer
        if self.action == "partial_update":
            return BulletinUpdateSerializer
        if self.action == "publish":
            return NoBodySerializer
        return BulletinSerializer

    @extend_schema(request=BulletinUpdateSerializer, responses=BulletinSerializer)
    def partial_update(self, request: Request, pk: str) -> Response:
        b = self.get_object()
        s = BulletinUpdateSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        b = bulletins.bulletin_update(bulletin_id=b.pk, actor=request.user, changes=s.validated_data)
        return Response(BulletinSerializer(b).data)

    @extend_schema(request=NoBodySerializer, responses=BulletinSerializer)
    @action(detail=True, methods=["post"])
    def publish(self, request: Request, pk: str) -> Response:
        b = self.get_object()
        NoBodySerializer(data=request.data).is_valid(raise_exception=True)
        b = bulletins.bulletin_publish(bulletin_id=b.pk, actor=request.user)
        return Response(BulletinSerializer(b).data)

    @extend_schema(responses={(200, exports.CONTENT_TYPES["docx"]): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"])
    def docx(self, request: Request, pk: str) -> HttpResponse:
        b = self.get_object()
        return exports.download(bulletins.bulletin_docx(b), kind="docx", filename=bulletins.filename(b, "docx"))

    @extend_schema(responses={(200, exports.CONTENT_TYPES["xlsx"]): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"])
    def xlsx(self, request: Request, pk: str) -> HttpResponse:
        b = self.get_object()
        return exports.download(bulletins.bulletin_xlsx(b), kind="xlsx", filename=bulletins.filename(b, "xlsx"))
