from django.urls import URLPattern, URLResolver, path
from rest_framework.routers import SimpleRouter

from .api import AnalysisViewSet, AttachmentDownloadView, ClusterGovernView, DirectiveViewSet, TaskViewSet

router = SimpleRouter()
router.register("analyses", AnalysisViewSet, basename="analysis")
router.register("directives", DirectiveViewSet, basename="directive")
router.register("tasks", TaskViewSet, basename="task")

urlpatterns: list[URLPattern | URLResolver] = [
    path("attachments/<int:pk>/", AttachmentDownloadView.as_view(), name="attachment-download"),
    # A repeat cluster (incidents' ledger) put into the loop: here, because intel sits above incidents.
    path("clusters/<int:pk>/govern/", ClusterGovernView.as_view(), name="cluster-govern"),
    *router.urls,
]
