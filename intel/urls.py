from django.urls import URLPattern, URLResolver, path
from rest_framework.routers import SimpleRouter

from .api import AnalysisViewSet, AttachmentDownloadView, ClusterGovernView, DirectiveViewSet, TaskViewSet
from .cap_api import HotspotCapView, SentimentWarningCapView
from .hotspots_api import HotspotAnalyseView, HotspotIncidentsView, HotspotListView

router = SimpleRouter()
router.register("analyses", AnalysisViewSet, basename="analysis")
router.register("directives", DirectiveViewSet, basename="directive")
router.register("tasks", TaskViewSet, basename="task")

urlpatterns: list[URLPattern | URLResolver] = [
    path("attachments/<int:pk>/", AttachmentDownloadView.as_view(), name="attachment-download"),
    # A repeat cluster (incidents' ledger) put into the loop: here, because intel sits above incidents.
    path("clusters/<int:pk>/govern/", ClusterGovernView.as_view(), name="cluster-govern"),
    path("hotspots/", HotspotListView.as_view(), name="hotspot-list"),
    path("hotspots/incidents/", HotspotIncidentsView.as_view(), name="hotspot-incidents"),
    path("hotspots/analyse/", HotspotAnalyseView.as_view(), name="hotspot-analyse"),
    # CAP 1.2 alerts for the public (intel/cap.py): here, because intel may read sentiment.
    path("cap/hotspots/<int:pk>/", HotspotCapView.as_view(), name="cap-hotspot"),
    path("cap/sentiment-warnings/<int:pk>/", SentimentWarningCapView.as_view(), name="cap-sentiment-warning"),
    *router.urls,
]
