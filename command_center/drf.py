"""Project-wide DRF pieces: pagination and the error format every endpoint shares."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.db import DatabaseError, DataError, InterfaceError, OperationalError
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import Refused
from .transitions import InvalidTransition


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus: a refused transition → 409 with the allowed events; a refused request → 400 with
    the field's message; a value the database cannot hold → 400; a missing row → 404; a database outage → 503."""
    if isinstance(exc, InvalidTransition):
        return Response(
            {
                "detail": _("This action is not allowed in the current state."),
                "state": exc.state,
                "allowed": exc.allowed,
            },
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, Refused):
        return Response({exc.field: [exc.message]}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, DataError):
        # A value the database cannot hold (a date in year 172 with a +18:19 offset, a number past bigint):
        # the request's fault, not the server's.
        return Response(
            {"detail": _("A value in the request is out of range: %(why)s") % {"why": str(exc).splitlines()[0]}},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, ObjectDoesNotExist):
        return Response({"detail": _("Not found.")}, status=status.HTTP_404_NOT_FOUND)
    if isinstance(exc, OperationalError | InterfaceError) or type(exc) is DatabaseError:
        return Response(
            {"detail": _("The database is unavailable; nothing was saved. Please retry shortly.")},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": "5"},
        )
    return drf_exception_handler(exc, context)
