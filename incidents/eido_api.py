"""EIDO over HTTP (incidents/eido.py): an incident out as NENA EIDO JSON, and another center's in."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from command_center.serializers import NoBodySerializer

from . import eido, selectors
from .api import IncidentSerializer, IntakeSerializer


class IncidentEidoView(generics.GenericAPIView[Any]):
    """GET: the incident as an EIDO document, for whoever may read its detail (partners read incidents in
    their own shape and get none: 403)."""

    serializer_class = NoBodySerializer

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, pk: int) -> Response:
        incident = get_object_or_404(selectors.visible_incidents(request.user).select_related("category", "org"), pk=pk)
        if selectors.reads_as_partner(request.user):
            raise PermissionDenied(_("Your role does not allow this action."))
        return Response(eido.incident_eido(incident, now=timezone.now()))


class EidoImportView(generics.GenericAPIView[Any]):
    """POST an EIDO document: 201 with the new incident, or 200 with the one its tracking id made before
    (updated by the document). Field errors name the document's path (`incidentComponent.0.…`)."""

    serializer_class = NoBodySerializer

    @extend_schema(request=OpenApiTypes.OBJECT, responses={200: IncidentSerializer, 201: IncidentSerializer})
    def post(self, request: Request) -> Response:
        data = eido.eido_parse(request.data)
        s = IntakeSerializer(data=eido.intake_body(data), context={"request": request})
        if not s.is_valid():
            errors: dict[str, Any] = {}
            for key, messages in s.errors.items():
                errors.setdefault(eido.PATHS.get(key, "eido"), []).extend(messages)
            raise ValidationError(errors)
        data.update({k: s.validated_data[k] for k in eido.PATHS})
        incident, created = eido.eido_import(actor=request.user, data=data)
        incident = selectors.visible_incidents(request.user).select_related("category", "org").get(pk=incident.pk)
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(IncidentSerializer(incident, context={"request": request}).data, status=code)
