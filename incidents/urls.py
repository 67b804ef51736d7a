from rest_framework.routers import SimpleRouter

from .api import DiversionViewSet, IncidentViewSet

router = SimpleRouter()
router.register("incidents", IncidentViewSet, basename="incident")
router.register("diversions", DiversionViewSet, basename="diversion")

urlpatterns = router.urls
