"""The site's URLs plus views that fail on purpose, for the error-page tests (`@pytest.mark.urls`)."""

from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.http import HttpRequest, HttpResponse
from django.urls import path

from command_center import urls as site

handler400, handler403 = site.handler400, site.handler403
handler404, handler500 = site.handler404, site.handler500


def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("boom: a detail of the failure that no visitor may read")


def forbidden(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied("forbidden: why, for the log only")


def suspicious(request: HttpRequest) -> HttpResponse:
    raise SuspiciousOperation("suspicious: why, for the log only")


def broken_context(request: HttpRequest) -> dict[str, object]:
    """A context processor that fails, as one that reads the database does while the database is down."""
    raise RuntimeError("the database is down")


urlpatterns = [
    path("boom/", boom),
    path("api/boom/", boom),
    path("forbidden/", forbidden),
    path("suspicious/", suspicious),
    *site.urlpatterns,
]
