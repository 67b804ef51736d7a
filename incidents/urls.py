from rest_framework.routers import SimpleRouter

from .api import DiversionRuleViewSet, DiversionViewSet, GuideViewSet, IncidentViewSet, WebhookViewSet

router = SimpleRouter()
router.register("incidents", IncidentViewSet, basename="incident")
router.register("diversions", DiversionViewSet, basename="diversion")
router.register("guides", GuideViewSet, basename="guide")
router.register("diversion-rules", DiversionRuleViewSet, basename="diversion-rule")
router.register("webhooks", WebhookViewSet, basename="webhook")

urlpatterns = router.urls
