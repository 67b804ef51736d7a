from django.urls import URLPattern, URLResolver, path
from rest_framework.routers import SimpleRouter

from .api import DutyLogViewSet, PreviewView, ReportViewSet

router = SimpleRouter()
router.register("briefing/reports", ReportViewSet, basename="briefing-report")
router.register("briefing/duty-logs", DutyLogViewSet, basename="briefing-duty-log")

urlpatterns: list[URLPattern | URLResolver] = [
    path("briefing/preview/", PreviewView.as_view(), name="briefing-preview"),
    *router.urls,
]
