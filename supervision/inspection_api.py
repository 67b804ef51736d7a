"""数字督察 API: the findings of the automatic inspection in the caller's area (confirm, dismiss with a
reason), and the rules with their counts (set by an administrator or a top supervisor). See inspection.py."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import generics, mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from command_center.models import Org
from command_center.serializers import PersonBriefField, StrictSerializer

from . import inspection
from .models import Finding


class FindingSerializer(serializers.ModelSerializer[Finding]):
    rule_label = serializers.SerializerMethodField()
    org_name = serializers.CharField(source="org.name", read_only=True)
    subject = serializers.SerializerMethodField(help_text="{type, id, title, detail, org_name, url}")
    decided_by = PersonBriefField(read_only=True, allow_null=True)

    class Meta:
        model = Finding
        fields = [
            "id", "rule", "rule_label", "org", "org_name", "subject", "detail", "facts", "found_at", "state",
            "decided_by", "decided_at", "reason",
        ]  # fmt: skip

    def get_rule_label(self, obj: Finding) -> str:
        r = inspection.BY_KEY.get(obj.rule)
        return str(r.label) if r else obj.rule

    def get_subject(self, obj: Finding) -> dict[str, Any]:
        described = self.context.get("subjects")
        if described is None:
            described = inspection.describe([obj])
        return dict(described.get(obj.pk, {}))


class FindingFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(choices=Finding.State.choices)
    rule = django_filters.CharFilter(field_name="rule")
    org = django_filters.NumberFilter(method="filter_org", label="org id (its subtree)")

    class Meta:
        model = Finding
        fields = ["state", "rule", "org"]

    def filter_org(self, qs: QuerySet[Finding], name: str, value: int) -> QuerySet[Finding]:
        org = Org.objects.filter(pk=value).first()
        return qs.filter(org__path__startswith=org.path) if org else qs.none()


class DecisionSerializer(StrictSerializer):
    reason = serializers.CharField(
        max_length=2000, required=False, allow_blank=True, default="", label=gettext_lazy("Reason")
    )


class FindingViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Finding]):
    """数字督察: what the inspection rules found in the caller's area, newest first. Supervisors and
    commanders of the finding's org confirm it, or dismiss it with a reason; 409 once decided."""

    serializer_class = FindingSerializer
    filterset_class = FindingFilter

    def get_queryset(self) -> QuerySet[Finding]:
        return inspection.visible_findings(self.request.user).select_related("org", "decided_by__person")

    def get_serializer_class(self) -> Any:
        return DecisionSerializer if self.action in ("confirm", "dismiss") else FindingSerializer

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        qs = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(qs)
        rows = list(page if page is not None else qs)
        data = FindingSerializer(rows, many=True, context={"subjects": inspection.describe(rows)}).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    def _decide(self, request: Request, fn: Any) -> Response:
        f = self.get_object()
        s = DecisionSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        fn(finding_id=f.pk, actor=request.user, reason=s.validated_data["reason"])
        return Response(FindingSerializer(self.get_queryset().get(pk=f.pk)).data)

    @extend_schema(request=DecisionSerializer, responses=FindingSerializer)
    @action(detail=True, methods=["post"])
    def confirm(self, request: Request, pk: str) -> Response:
        """确认: the finding stands (a reason is optional)."""
        return self._decide(request, inspection.finding_confirm)

    @extend_schema(request=DecisionSerializer, responses=FindingSerializer)
    @action(detail=True, methods=["post"])
    def dismiss(self, request: Request, pk: str) -> Response:
        """排除: the rule was wrong here; the reason is required (400 without)."""
        return self._decide(request, inspection.finding_dismiss)


class RuleUpdateSerializer(StrictSerializer):
    enabled = serializers.BooleanField(required=False, label=gettext_lazy("Enabled"))
    params = serializers.JSONField(required=False, label=gettext_lazy("Parameters"))


def rule_rows(user: Any) -> list[dict[str, Any]]:
    rows = inspection.rules_read()
    counts = inspection.rule_counts(inspection.visible_findings(user))
    return [
        {
            "key": r.key,
            "label": str(r.label),
            "description": str(r.description),
            "enabled": rows[r.key].enabled,
            "defaults": r.defaults,
            "params": {**r.defaults, **rows[r.key].params},
            "overrides": getattr(rows[r.key], "n_overrides", 0),
            **counts[r.key],
        }
        for r in inspection.RULES
    ]


class InspectionRuleListView(generics.GenericAPIView[Any]):
    """The inspection rules: label, description, on/off, thresholds (the code's defaults under the row's),
    and their findings in the caller's area — found, open, confirmed, dismissed, dismissal rate."""

    serializer_class = RuleUpdateSerializer
    pagination_class = None
    queryset = Finding.objects.none()

    @extend_schema(operation_id="inspection_rules_list", responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        return Response(rule_rows(request.user))


class InspectionRuleView(generics.GenericAPIView[Any]):
    """One rule: GET as in the list; PATCH `enabled` and/or `params` (an administrator or a supervisor of a
    top org; 403 otherwise, 400 for an unknown or ill-typed parameter)."""

    serializer_class = RuleUpdateSerializer
    queryset = Finding.objects.none()

    def _row(self, request: Request, key: str) -> dict[str, Any]:
        for row in rule_rows(request.user):
            if row["key"] == key:
                return row
        raise Http404

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, key: str) -> Response:
        return Response(self._row(request, key))

    @extend_schema(request=RuleUpdateSerializer, responses=OpenApiTypes.OBJECT)
    def patch(self, request: Request, key: str) -> Response:
        if key not in inspection.BY_KEY:
            raise Http404
        s = RuleUpdateSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        v = s.validated_data
        inspection.rule_update(key=key, actor=request.user, enabled=v.get("enabled"), params=v.get("params"))
        return Response(self._row(request, key))
