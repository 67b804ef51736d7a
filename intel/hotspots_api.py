"""Hotspots API (intel/hotspots.py): the ranked list with the map's heat, the incidents behind one hotspot,
and 研判 from a hotspot in one click. Every answer is of the caller's area: `org` must lie in it (400
otherwise), and counts and incidents are those of that org's subtree."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from command_center import orgs
from command_center.errors import Refused
from command_center.models import Role
from command_center.serializers import NoBodySerializer, StrictSerializer

from . import cap, hotspots
from .models import Colour, Hotspot

READ_ROLES = [Role.ANALYST, Role.COMMANDER, Role.DUTY_OFFICER, Role.SUPERVISOR]
MAX_ROWS = 200

ASK_PARAMETERS = [
    OpenApiParameter("org", int, description="an org of the caller's area (default: the caller's own)"),
    OpenApiParameter("period", str, enum=list(hotspots.PERIODS), description="day (default), week or month"),
    OpenApiParameter("at", str, description="a date in the period (YYYY-MM-DD, local); today by default"),
    OpenApiParameter("start", str, description="or a range: first local day (YYYY-MM-DD)"),
    OpenApiParameter("end", str, description="… and the day after the last (exclusive)"),
    OpenApiParameter("area", str, enum=list(hotspots.AREAS), description="cell (grid, default) or station"),
    OpenApiParameter("category", str, description="a category code or its significant digits (02, 0201, …)"),
]


def _reader(request: Request) -> None:
    if request.user.is_superuser:
        return
    person = orgs.person_of(request.user)
    if person is None or not person.has_role(*READ_ROLES):
        raise PermissionDenied(_("Your role does not allow this action."))


def _key(raw: Any) -> int:
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise Refused("key", _("Give the cell id or the org id of the hotspot.")) from None


def ask_payload(a: hotspots.Ask) -> dict[str, Any]:
    return {
        "org": a.scope.pk,
        "org_name": a.scope.name,
        "period": a.window.period,
        "start": a.window.start,
        "end": a.window.end,
        "area": a.area,
        "category": a.category,
    }


class HotspotListView(generics.GenericAPIView[Any]):
    """The flagged areas of the period, ranked red → yellow → blue then by z, each with its count, baseline
    (mean, σ, the previous weeks' counts), z, ratio, colour, why, and a cell's bounds and centre (or the
    station); `heat` is [lat, lon, count] of every cell with incidents (area=cell); `rule` the thresholds."""

    serializer_class = NoBodySerializer

    @extend_schema(
        parameters=[*ASK_PARAMETERS, OpenApiParameter("limit", int, description=f"rows (1–{MAX_ROWS}; 50)")],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> Response:
        _reader(request)
        a = hotspots.ask(request.user, request.query_params)
        raw = request.query_params.get("limit") or "50"
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_ROWS:
            raise Refused("limit", _("Between 1 and %(n)d rows.") % {"n": MAX_ROWS})
        m = hotspots.ask_map(a, limit=int(raw))
        rows = [r.as_dict() for r in m.rows]
        kept = {
            (h.cell if h.area == "cell" else h.org_id): h.pk
            for h in Hotspot.objects.filter(
                scope=a.scope, area=a.area, category=a.category, start=a.window.start, end=a.window.end
            )
        }
        made = hotspots.analyses_of(list(kept.values()), request.user)
        publishes = cap.can_publish(request.user)
        for r in rows:
            h = kept.get(r["key"])
            r["hotspot"] = h
            r["analyses"] = made.get(h, []) if h else []
            # A kept red hotspot's CAP alert for the public (cap_api.py), for those who may publish it.
            r["cap"] = reverse("cap-hotspot", args=[h]) if h and publishes and r["colour"] == Colour.RED else None
        return Response(
            {
                **ask_payload(a),
                "category_name": hotspots.category_words(a.category),
                "period_words": hotspots.period_words(m.window, timezone.localdate()),
                "rule_words": _(
                    "Baseline: the %(n)d earlier periods; blue from z %(blue)s, yellow %(yellow)s, red %(red)s; "
                    "at least %(min)d incidents"
                )
                % {
                    "n": m.rule.weeks,
                    "blue": m.rule.z[2],
                    "yellow": m.rule.z[1],
                    "red": m.rule.z[0],
                    "min": m.rule.min_count,
                },
                "rule": {
                    "prefix": m.rule.prefix,
                    "weeks": m.rule.weeks,
                    "min_count": m.rule.min_count,
                    "sigma_floor": m.rule.sigma_floor,
                    "z": dict(zip(["red", "yellow", "blue"], m.rule.z, strict=True)),
                },
                "colours": {c.value: str(c.label) for c in Colour},
                "rows": rows,
                "heat": [list(h) for h in m.heat],
            }
        )


class HotspotIncidentsView(generics.GenericAPIView[Any]):
    """The incidents behind one area's count (`key`: the cell id or the org id), newest first, at most
    500 — the same filters as the list: the period, the category, the org's subtree."""

    serializer_class = NoBodySerializer

    @extend_schema(
        parameters=[*ASK_PARAMETERS, OpenApiParameter("key", int, required=True, description="cell id or org id")],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> Response:
        _reader(request)
        a = hotspots.ask(request.user, request.query_params)
        key = _key(request.query_params.get("key"))
        qs = hotspots.hotspot_incidents(
            scope=a.scope, start=a.window.start, end=a.window.end, area=a.area, key=key, category_prefix=a.category
        )
        qs = orgs.restrict(qs, request.user).select_related("category", "org")
        rows = [
            {
                "id": i.pk,
                "number": i.number,
                "reported_at": i.reported_at,
                "category": i.category_id,
                "category_name": i.category.local_name,
                "address": i.address,
                "org": i.org_id,
                "org_name": i.org.name,
                "state": i.state,
                "url": reverse("incidents:detail", args=[i.pk]),
            }
            for i in qs[: hotspots.DRILL_LIMIT]
        ]
        return Response({**ask_payload(a), "key": key, "count": len(rows), "incidents": rows})


class HotspotAnalyseSerializer(StrictSerializer):
    org = serializers.IntegerField(min_value=1, required=False)
    period = serializers.ChoiceField(choices=list(hotspots.PERIODS), required=False)
    at = serializers.DateField(required=False)
    start = serializers.DateField(required=False)
    end = serializers.DateField(required=False)
    area = serializers.ChoiceField(choices=list(hotspots.AREAS), required=False)
    category = serializers.CharField(max_length=6, required=False, allow_blank=True)
    key = serializers.IntegerField(help_text="the cell id, or the org id of a station hotspot")


class HotspotAnalyseView(generics.GenericAPIView[Any]):
    """研判 from a hotspot: keeps the hotspot (its numbers now) and opens a draft analysis of the caller's
    org with its incidents attached and the hotspot as its source; answers the analysis's id and the
    workspace page that opens it (where the directive is issued)."""

    serializer_class = HotspotAnalyseSerializer

    @extend_schema(request=HotspotAnalyseSerializer, responses={201: OpenApiTypes.OBJECT})
    def post(self, request: Request) -> Response:
        s = HotspotAnalyseSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        v = s.validated_data
        params = {k: (val.isoformat() if hasattr(val, "isoformat") else str(val)) for k, val in v.items()}
        a = hotspots.ask(request.user, params)
        analysis = hotspots.hotspot_analyse(actor=request.user, ask_=a, key=v["key"])
        return Response(
            {
                "analysis": analysis.pk,
                "hotspot": analysis.source_id,
                "title": analysis.title,
                "incidents": analysis.incidents.count(),
                "url": reverse("intel:workspace") + f"?analysis={analysis.pk}",
            },
            status=status.HTTP_201_CREATED,
        )
