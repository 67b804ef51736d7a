from django.urls import URLPattern, URLResolver, path
from rest_framework.routers import SimpleRouter

from .api import EventViewSet, HitViewSet, PostViewSet, SpikesView, StateView, WarningViewSet, WatchListViewSet

router = SimpleRouter()
router.register("sentiment/posts", PostViewSet, basename="sentiment-post")
router.register("sentiment/events", EventViewSet, basename="sentiment-event")
router.register("sentiment/warnings", WarningViewSet, basename="sentiment-warning")
router.register("sentiment/watchlists", WatchListViewSet, basename="sentiment-watchlist")
router.register("sentiment/hits", HitViewSet, basename="sentiment-hit")

urlpatterns: list[URLPattern | URLResolver] = [
    path("sentiment/state/", StateView.as_view(), name="sentiment-state"),
    path("sentiment/spikes/", SpikesView.as_view(), name="sentiment-spikes"),
    *router.urls,
]
