"""The gazetteer over HTTP: search while typing, the nearest address to a map click, the base map.

Any logged-in person (or token) may read the gazetteer: it is the city's public geography, not incidents.
Query parameters are strict: an unknown one, or a bad value, is a 400 naming the field."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from command_center.serializers import StrictSerializer

from . import selectors


class SearchParams(StrictSerializer):
    q = serializers.CharField(max_length=100, trim_whitespace=True)
    limit = serializers.IntegerField(min_value=1, max_value=selectors.MAX_RESULTS, required=False, default=10)


class PointParams(StrictSerializer):
    lat = serializers.FloatField(min_value=-90, max_value=90)
    lon = serializers.FloatField(min_value=-180, max_value=180)


class CandidateSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField(allow_null=True)
    name = serializers.CharField()
    kind = serializers.CharField()
    lat = serializers.FloatField()
    lon = serializers.FloatField()
    score = serializers.FloatField()
    station = serializers.DictField(allow_null=True)


def _params(cls: type[StrictSerializer], request: Request) -> tuple[dict[str, Any] | None, Response | None]:
    s = cls(data=request.query_params.dict())
    if not s.is_valid():
        return None, Response(s.errors, status=status.HTTP_400_BAD_REQUEST)
    return dict(s.validated_data), None


class PlaceSearchView(APIView):
    """Places and addresses matching `q`, best first, each with its point and owning station (the org
    whose jurisdiction polygon holds it)."""

    @extend_schema(
        parameters=[OpenApiParameter("q", str, required=True), OpenApiParameter("limit", int)],
        responses=CandidateSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        params, error = _params(SearchParams, request)
        if error:
            return error
        assert params is not None
        return Response([c.as_dict() for c in selectors.search(params["q"], limit=params["limit"])])


class PlaceReverseView(APIView):
    """The nearest address or place to a point (a click on the map) and the station that owns the point;
    404 when nothing is stored within 5 km."""

    @extend_schema(
        parameters=[OpenApiParameter("lat", float, required=True), OpenApiParameter("lon", float, required=True)],
        responses=CandidateSerializer,
    )
    def get(self, request: Request) -> Response:
        params, error = _params(PointParams, request)
        if error:
            return error
        assert params is not None
        found = selectors.reverse(params["lat"], params["lon"])
        if found is None:
            return Response({"detail": _("No address within 5 km of this point.")}, status=status.HTTP_404_NOT_FOUND)
        return Response(found.as_dict())


class BaseMapView(APIView):
    """The city's streets and jurisdictions as a GeoJSON FeatureCollection: the map's vector layers, drawn
    without any tile server."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        response = Response(selectors.base_map())
        response["Cache-Control"] = "private, max-age=300"
        return response
