"""The briefing's API: morning reports (read, edit with the version loaded, publish, re-draft, download as
DOCX or PDF, preview Markdown as safe HTML) and duty logs (read, notes, handover, sign)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from command_center import exports
from command_center.drf import Pagination
from command_center.serializers import NoBodySerializer, StrictSerializer

from . import files, payloads, rendering, selectors, services
from .models import DailyReport, DutyLog


class ReportSaveSerializer(StrictSerializer):
    body = serializers.CharField(max_length=services.MAX_BODY, allow_blank=True, trim_whitespace=False)
    version = serializers.IntegerField(min_value=1, help_text="The version the editor loaded: 409 if stale.")


class PreviewSerializer(StrictSerializer):
    body = serializers.CharField(max_length=services.MAX_BODY, allow_blank=True, trim_whitespace=False)


class NoteSerializer(StrictSerializer):
    text = serializers.CharField(max_length=services.MAX_NOTE)


class HandoverSerializer(StrictSerializer):
    handover = serializers.CharField(max_length=services.MAX_BODY, allow_blank=True, trim_whitespace=False)


def _stale(e: services.StaleVersion) -> Response:
    return Response(
        {"detail": _("Someone saved this report since you loaded it: reload it first."), "version": e.current},
        status=status.HTTP_409_CONFLICT,
    )


STATE_FILTER = OpenApiParameter("state", str, enum=DailyReport.State.values)
ORG_FILTER = OpenApiParameter("org", int)
DAY_FILTER = OpenApiParameter("day", OpenApiTypes.DATE)


def _filtered(qs: QuerySet[Any], request: Request, states: list[str]) -> QuerySet[Any]:
    p = request.query_params
    if p.get("state") in states:
        qs = qs.filter(state=p["state"])
    if (org := p.get("org", "")).isdigit():
        qs = qs.filter(org_id=int(org))
    if day := p.get("day"):
        try:
            qs = qs.filter(day=date.fromisoformat(day))
        except ValueError:  # a malformed date: nothing matches it
            return qs.none()
    return qs


class ReportViewSet(viewsets.GenericViewSet[DailyReport]):
    """三情研判报告: the morning reports of the caller's subtree. Analysts and commanders edit a draft's text
    (PATCH with the version they loaded: 409 when stale) and re-draft it (figures refreshed, edits kept);
    a commander publishes it. `docx` and `pdf` download it."""

    serializer_class = NoBodySerializer  # every answer is a payload (payloads.py); bodies are per action

    def get_queryset(self) -> QuerySet[DailyReport]:
        return selectors.visible_reports(self.request.user)

    def _get(self, pk: str) -> DailyReport:
        return self.get_queryset().get(pk=int(pk) if pk.isdigit() else 0)

    @extend_schema(
        operation_id="briefing_reports_list",
        parameters=[STATE_FILTER, ORG_FILTER, DAY_FILTER],
        responses=OpenApiTypes.OBJECT,
    )
    def list(self, request: Request) -> Response:
        qs = _filtered(selectors.visible_reports(request.user), request, DailyReport.State.values)
        pager = Pagination()
        page = pager.paginate_queryset(qs.order_by("-day", "org__path"), request, view=self) or []
        return pager.get_paginated_response([payloads.report_payload(r, full=False) for r in page])

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(payloads.report_payload(self._get(pk)))

    @extend_schema(request=ReportSaveSerializer, responses={200: OpenApiTypes.OBJECT, 409: OpenApiTypes.OBJECT})
    def partial_update(self, request: Request, pk: str) -> Response:
        r = self._get(pk)
        s = ReportSaveSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        try:
            r = services.report_save(report_id=r.pk, actor=request.user, **s.validated_data)
        except services.StaleVersion as e:
            return _stale(e)
        return Response(payloads.report_payload(r))

    @extend_schema(request=NoBodySerializer, responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["post"])
    def publish(self, request: Request, pk: str) -> Response:
        r = self._get(pk)
        NoBodySerializer(data=request.data).is_valid(raise_exception=True)
        return Response(payloads.report_payload(services.report_publish(report_id=r.pk, actor=request.user)))

    @extend_schema(request=NoBodySerializer, responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["post"])
    def redraft(self, request: Request, pk: str) -> Response:
        r = self._get(pk)
        NoBodySerializer(data=request.data).is_valid(raise_exception=True)
        r = services.report_draft(org=r.org, day=r.day, actor=request.user)
        return Response(payloads.report_payload(r))

    @extend_schema(responses={(200, exports.CONTENT_TYPES["docx"]): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"])
    def docx(self, request: Request, pk: str) -> HttpResponse:
        r = self._get(pk)
        return exports.download(files.report_docx(r), kind="docx", filename=files.filename(r, "docx"))

    @extend_schema(responses={(200, exports.CONTENT_TYPES["pdf"]): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"])
    def pdf(self, request: Request, pk: str) -> HttpResponse:
        r = self._get(pk)
        return exports.download(files.report_pdf(r), kind="pdf", filename=files.filename(r, "pdf"))


class PreviewView(APIView):
    """Markdown as the safe HTML the editor's preview shows (raw HTML off, cleaned to an allow-list)."""

    @extend_schema(request=PreviewSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request) -> Response:
        s = PreviewSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        return Response({"html": rendering.markdown_html(s.validated_data["body"])})


class DutyLogViewSet(viewsets.GenericViewSet[DutyLog]):
    """值班日志: a station reads its own logs, a county or city those under it. While open, the station's
    officers add notes and handover text; the duty officer signs it, and it is frozen (409 after)."""

    serializer_class = NoBodySerializer  # every answer is a payload (payloads.py); bodies are per action

    def get_queryset(self) -> QuerySet[DutyLog]:
        return selectors.visible_duty_logs(self.request.user)

    def _get(self, pk: str) -> DutyLog:
        return self.get_queryset().get(pk=int(pk) if pk.isdigit() else 0)

    @extend_schema(
        operation_id="briefing_duty_logs_list",
        parameters=[OpenApiParameter("state", str, enum=DutyLog.State.values), ORG_FILTER, DAY_FILTER],
        responses=OpenApiTypes.OBJECT,
    )
    def list(self, request: Request) -> Response:
        qs = _filtered(selectors.visible_duty_logs(request.user), request, DutyLog.State.values)
        pager = Pagination()
        page = pager.paginate_queryset(qs.order_by("-day", "org__path"), request, view=self) or []
        return pager.get_paginated_response([payloads.duty_log_payload(x) for x in page])

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(payloads.duty_log_payload(self._get(pk)))

    @extend_schema(request=HandoverSerializer, responses=OpenApiTypes.OBJECT)
    def partial_update(self, request: Request, pk: str) -> Response:
        log = self._get(pk)
        s = HandoverSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        log = services.duty_handover_save(log_id=log.pk, actor=request.user, text=s.validated_data["handover"])
        return Response(payloads.duty_log_payload(log))

    @extend_schema(request=NoteSerializer, responses={201: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"])
    def notes(self, request: Request, pk: str) -> Response:
        log = self._get(pk)
        s = NoteSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        services.duty_note_add(log_id=log.pk, actor=request.user, text=s.validated_data["text"])
        return Response(payloads.duty_log_payload(self._get(pk)), status=status.HTTP_201_CREATED)

    @extend_schema(request=NoBodySerializer, responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["post"])
    def sign(self, request: Request, pk: str) -> Response:
        log = self._get(pk)
        NoBodySerializer(data=request.data).is_valid(raise_exception=True)
        return Response(payloads.duty_log_payload(services.duty_log_sign(log_id=log.pk, actor=request.user)))
