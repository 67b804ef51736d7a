"""社情 API: a volunteer's reports (POST with photos, GET their own), the station's triage queue and its four
actions, the scoped photo download, the register for stations and a volunteer's points. Views check scope
(404 outside it) and call services (403 for a wrong role, 409 for a second triage, 400 per field)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import QuerySet
from django.http import FileResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from command_center import clocks, orgs, realtime
from command_center.errors import Refused
from command_center.inputs import JSONParser
from command_center.models import Category, Org, Person, Role
from command_center.serializers import StrictSerializer

from . import payloads, selectors, services
from .models import Kind, ReportCategory, ReportPhoto, Volunteer, VolunteerReport


class ReportCreateSerializer(StrictSerializer):
    kind = serializers.ChoiceField(choices=Kind.choices)
    category = serializers.CharField(max_length=20)
    text = serializers.CharField(max_length=services.MAX_TEXT)
    address = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    lat = serializers.FloatField(required=False, allow_null=True, default=None, min_value=-90, max_value=90)
    lon = serializers.FloatField(required=False, allow_null=True, default=None, min_value=-180, max_value=180)
    accuracy_m = serializers.FloatField(required=False, allow_null=True, default=None, min_value=0)
    located_by = serializers.ChoiceField(
        choices=VolunteerReport.Located.choices, required=False, allow_blank=True, default=""
    )
    anonymous_to_public = serializers.BooleanField(required=False, default=False)
    photos = serializers.ListField(child=serializers.FileField(), required=False, default=list)


class MakeIncidentSerializer(StrictSerializer):
    category = serializers.CharField(max_length=6, required=False, help_text="Incident category; default mapped.")
    level = serializers.IntegerField(min_value=1, max_value=4, required=False, default=3)
    note = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")


class ReportTaskSerializer(StrictSerializer):
    note = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")
    assignee = serializers.IntegerField(
        required=False, allow_null=True, default=None, help_text="The community officer (a person id) to carry it."
    )
    actions = serializers.ListField(child=serializers.CharField(max_length=200), required=False, default=list)


class ForwardSerializer(StrictSerializer):
    target = serializers.IntegerField(help_text="A community under the station, or a partner agency.")
    note = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")


class CloseSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=1000)


def _late(rows: list[VolunteerReport]) -> dict[int, list[str]]:
    return clocks.overdue(VolunteerReport, [r.pk for r in rows])


class ReportViewSet(viewsets.GenericViewSet[VolunteerReport]):
    """A volunteer: POST a hazard or clue (multipart with `photos`), GET their own reports. Police: the
    reports of their area, awaiting triage first (`?state=`, `?kind=`), and the four triage actions."""

    queryset = VolunteerReport.objects.none()
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    serializer_class = ReportCreateSerializer

    def get_queryset(self) -> QuerySet[VolunteerReport]:
        if getattr(self, "swagger_fake_view", False):
            return VolunteerReport.objects.none()
        user = self.request.user
        if selectors.is_police(user):
            return selectors.visible_reports(user)
        return selectors.my_reports(user)

    def _rows(self, rows: list[VolunteerReport]) -> list[dict[str, Any]]:
        if not selectors.is_police(self.request.user):
            return [payloads.mine_payload(r) for r in rows]
        late = _late(rows)
        return [{**payloads.report_payload(r), "late": bool(late.get(r.pk))} for r in rows]

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, operation_id="community_reports_list")
    def list(self, request: Request) -> Response:
        qs = self.get_queryset()
        state, kind = request.query_params.get("state"), request.query_params.get("kind")
        if state:
            qs = qs.filter(state=state)
        if kind:
            qs = qs.filter(kind=kind)
        if selectors.is_police(request.user) and state == VolunteerReport.State.SUBMITTED:
            qs = qs.order_by("triage_due_at", "id")
        page = self.paginate_queryset(qs)
        assert page is not None
        return self.get_paginated_response(self._rows(list(page)))

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(self._rows([self.get_object()])[0])

    @extend_schema(
        request={"multipart/form-data": ReportCreateSerializer, "application/json": ReportCreateSerializer},
        responses={201: OpenApiTypes.OBJECT},
    )
    def create(self, request: Request) -> Response:
        s = ReportCreateSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        v = s.validated_data
        r = services.report_submit(
            actor=request.user,
            data=services.ReportData(
                kind=v["kind"],
                category=v["category"],
                text=v["text"],
                address=v["address"],
                lat=v["lat"],
                lon=v["lon"],
                accuracy_m=v["accuracy_m"],
                located_by=v["located_by"],
                anonymous_to_public=v["anonymous_to_public"],
                photos=v["photos"],
            ),
        )
        return Response(payloads.mine_payload(r), status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    @action(detail=False, methods=["get"])
    def queue(self, request: Request) -> Response:
        """The live triage queue's state (static/js/triage.js): the caller's group `seq` (read first, so a push
        after it is applied on top), the reports awaiting triage (soonest due first) and those triaged in the
        last day. Police only; empty for anyone else."""
        person = orgs.person_of(request.user)
        seq = realtime.current_seq(realtime.org_group(person.org_id)) if person else 0
        qs = selectors.visible_reports(request.user)
        waiting = list(qs.filter(state=VolunteerReport.State.SUBMITTED).order_by("triage_due_at", "id")[:200])
        since = timezone.now() - timedelta(days=1)
        done = list(qs.exclude(state=VolunteerReport.State.SUBMITTED).filter(triaged_at__gte=since)[:100])
        return Response(
            {
                "seq": seq,
                "at": timezone.now(),
                "acts": selectors.is_police(request.user),
                "reports": self._rows([*waiting, *done]),
                "targets": forward_targets(request.user),
                "officers": officers(request.user),
            }
        )

    def _triaged(self, r: VolunteerReport) -> Response:
        return Response(self._rows([selectors.reports_qs().get(pk=r.pk)])[0])

    @extend_schema(request=MakeIncidentSerializer, responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"], url_path="make-incident", serializer_class=MakeIncidentSerializer)
    def make_incident(self, request: Request, pk: str) -> Response:
        """Make an incident of the report (source volunteer), linked both ways."""
        r = self.get_object()
        s = MakeIncidentSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        category = None
        if s.validated_data.get("category"):
            category = Category.objects.filter(code=s.validated_data["category"], active=True).first()
            if category is None:
                raise Refused("category", _("No such category."))
        return self._triaged(
            services.report_make_incident(
                report_id=r.pk,
                actor=request.user,
                category=category,
                level=s.validated_data["level"],
                note=s.validated_data["note"],
            )
        )

    @extend_schema(request=ReportTaskSerializer, responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"], serializer_class=ReportTaskSerializer)
    def task(self, request: Request, pk: str) -> Response:
        """交 to the volunteer's community: a directive of the loop from the station."""
        r = self.get_object()
        s = ReportTaskSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        v = s.validated_data
        assignee = None
        if v["assignee"] is not None:
            assignee = (
                orgs.restrict(Person.objects.select_related("org"), request.user).filter(pk=v["assignee"]).first()
            )
            if assignee is None:
                raise Refused("assignee", _("Not found in your area."))
        return self._triaged(
            services.report_task(
                report_id=r.pk, actor=request.user, note=v["note"], actions=v["actions"], assignee=assignee
            )
        )

    @extend_schema(request=ForwardSerializer, responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"], serializer_class=ForwardSerializer)
    def forward(self, request: Request, pk: str) -> Response:
        """To a community under the station or a partner agency."""
        r = self.get_object()
        s = ForwardSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        target = Org.objects.filter(pk=s.validated_data["target"]).first()
        if target is None:
            raise Refused("target", _("No such organisation."))
        return self._triaged(
            services.report_forward(report_id=r.pk, actor=request.user, target=target, note=s.validated_data["note"])
        )

    @extend_schema(request=CloseSerializer, responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"], serializer_class=CloseSerializer)
    def close(self, request: Request, pk: str) -> Response:
        r = self.get_object()
        s = CloseSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        return self._triaged(
            services.report_close(report_id=r.pk, actor=request.user, reason=s.validated_data["reason"])
        )


class PhotoView(generics.GenericAPIView[ReportPhoto]):
    """A report's photo, for its volunteer and for police who may read the report (404 for anyone else)."""

    queryset = ReportPhoto.objects.none()

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    def get(self, request: Request, pk: int) -> FileResponse:
        p = get_object_or_404(selectors.visible_photos(request.user), pk=pk)
        response = FileResponse(p.file.open("rb"), filename=p.name, content_type=p.content_type)
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "private, no-store"
        return response


class VolunteerSerializer(serializers.ModelSerializer[Volunteer]):
    name = serializers.CharField(source="person.__str__", read_only=True)
    station_name = serializers.CharField(source="station.name", read_only=True)
    community_name = serializers.CharField(source="community.name", read_only=True, default="")

    class Meta:
        model = Volunteer
        fields = [
            "id",
            "name",
            "station",
            "station_name",
            "community",
            "community_name",
            "grid",
            "phone",
            "skills",
            "trainings",
            "points",
            "active",
            "joined_at",
        ]


class VolunteerListView(generics.ListAPIView[Volunteer]):
    """The register (平安义警) of the caller's area, for police; empty for anyone else."""

    serializer_class = VolunteerSerializer

    def get_queryset(self) -> QuerySet[Volunteer]:
        if getattr(self, "swagger_fake_view", False):
            return Volunteer.objects.none()
        return selectors.visible_volunteers(self.request.user)


class PointsView(generics.GenericAPIView[Any]):
    """The caller's own points and their last ledger lines (a volunteer; zero for anyone else)."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        return Response(selectors.my_points(request.user))


class CategoryListView(generics.GenericAPIView[Any]):
    """The report categories a volunteer picks from."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        rows = ReportCategory.objects.filter(active=True)
        return Response([{"code": c.code, "name": c.name, "kind": c.kind} for c in rows])


def forward_targets(user: Any) -> list[dict[str, Any]]:
    """Where the caller's station may forward: its communities, and the partner agencies."""
    person = orgs.person_of(user)
    if person is None:
        return []
    communities = person.org.subtree().filter(level=Org.Level.COMMUNITY)
    partners = Org.objects.filter(kind=Org.Kind.PARTNER)
    return [{"id": o.pk, "name": o.name, "kind": o.kind} for o in [*communities, *partners]]


def officers(user: Any) -> list[dict[str, Any]]:
    """Who may carry a task of the caller's station: its officers and its communities' (社区民警)."""
    person = orgs.person_of(user)
    if person is None:
        return []
    people = orgs.with_roles(Person.objects.filter(org__path__startswith=person.org.path).select_related("user", "org"))
    return [
        {"id": p.pk, "name": str(p), "org": p.org.name}
        for p in people.order_by("org__path", "id")[:200]
        if Role.STATION_OFFICER in p.role_names
    ]
