from django.urls import URLPattern, URLResolver, path
from rest_framework.routers import SimpleRouter

from .api import IncidentDispatchView, IncidentRecommendationsView, OrderViewSet, ShiftViewSet, UnitViewSet
from .board_api import BoardStatsView, BoardView, InboxView

router = SimpleRouter()
router.register("units", UnitViewSet, basename="unit")
router.register("orders", OrderViewSet, basename="order")
router.register("shifts", ShiftViewSet, basename="shift")

# The two incident endpoints live here, not in incidents/api.py: dispatch sits above incidents and the
# incidents app knows nothing of orders or units.
urlpatterns: list[URLPattern | URLResolver] = [
    # The live screens' state (read-only, scoped, with the group seq).
    path("board/", BoardView.as_view(), name="board"),
    path("board/stats/", BoardStatsView.as_view(), name="board-stats"),
    path("board/inbox/", InboxView.as_view(), name="board-inbox"),
    path(
        "incidents/<int:pk>/recommendations/",
        IncidentRecommendationsView.as_view(),
        name="incident-recommendations",
    ),
    path("incidents/<int:pk>/dispatch/", IncidentDispatchView.as_view(), name="incident-dispatch"),
    *router.urls,
]
