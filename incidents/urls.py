from django.urls import URLPattern, URLResolver, path
from rest_framework.routers import SimpleRouter

from .api import DiversionRuleViewSet, DiversionViewSet, GuideViewSet, IncidentViewSet, WebhookViewSet
from .eido_api import EidoImportView, IncidentEidoView

router = SimpleRouter()
router.register("incidents", IncidentViewSet, basename="incident")
router.register("diversions", DiversionViewSet, basename="diversion")
router.register("guides", GuideViewSet, basename="guide")
router.register("diversion-rules", DiversionRuleViewSet, basename="diversion-rule")
router.register("webhooks", WebhookViewSet, basename="webhook")

urlpatterns: list[URLPattern | URLResolver] = [
    # NENA EIDO (incidents/eido.py, docs/eido.md): before the router, whose detail route would take eido/.
    path("incidents/<int:pk>/eido/", IncidentEidoView.as_view(), name="incident-eido"),
    path("eido/", EidoImportView.as_view(), name="eido-import"),
    *router.urls,
]
