"""CAP 1.2 over HTTP (intel/cap.py): a red hotspot or a 网情 warning as a public alert, on a commander's
asking. Scoped like the rows' own pages: outside the caller's area is a 404."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import APIException
from rest_framework.request import Request

from command_center import orgs
from command_center.serializers import NoBodySerializer
from sentiment import selectors as sentiment_selectors
from sentiment.models import Warning as SentimentWarning

from . import cap
from .models import Colour, Hotspot

CAP_RESPONSE = {200: OpenApiResponse(OpenApiTypes.STR, description="A CAP 1.2 alert (application/cap+xml)")}


class NotPublishable(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "not_publishable"


def _publisher(request: Request) -> None:
    if not cap.can_publish(request.user):
        raise PermissionDenied(_("Your role does not allow this action."))


def _xml(body: bytes, name: str) -> HttpResponse:
    response = HttpResponse(body, content_type=cap.CONTENT_TYPE)
    response["Content-Disposition"] = f'inline; filename="{name}.xml"'
    return response


class HotspotCapView(generics.GenericAPIView[Any]):
    """A kept red hotspot of the caller's area as a CAP alert (409 for a yellow or blue one)."""

    serializer_class = NoBodySerializer

    @extend_schema(responses=CAP_RESPONSE)
    def get(self, request: Request, pk: int) -> HttpResponse:
        h = (
            Hotspot.objects.select_related("scope", "org")
            .filter(pk=pk, scope__in=orgs.visible_orgs(request.user))
            .first()
        )
        if h is None:
            raise Http404
        _publisher(request)
        if h.colour != Colour.RED:
            raise NotPublishable(_("Only a red hotspot is published to the public."))
        return _xml(cap.hotspot_alert(h, now=timezone.now()), f"hotspot-{h.pk}")


class SentimentWarningCapView(generics.GenericAPIView[Any]):
    """A 网情 warning of the caller's area as a CAP alert (409 for a dismissed one)."""

    serializer_class = NoBodySerializer

    @extend_schema(responses=CAP_RESPONSE)
    def get(self, request: Request, pk: int) -> HttpResponse:
        w = sentiment_selectors.visible_warnings(request.user).filter(pk=pk).first()
        if w is None:
            raise Http404
        _publisher(request)
        if w.state == SentimentWarning.State.DISMISSED:
            raise NotPublishable(_("A dismissed warning is not published to the public."))
        return _xml(cap.warning_alert(w, now=timezone.now()), f"sentiment-warning-{w.pk}")
