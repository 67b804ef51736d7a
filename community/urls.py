from django.urls import URLPattern, URLResolver, path
from rest_framework.routers import SimpleRouter

from .api import CategoryListView, PhotoView, PointsView, ReportViewSet, VolunteerListView

router = SimpleRouter()
router.register("community/reports", ReportViewSet, basename="community-report")

urlpatterns: list[URLPattern | URLResolver] = [
    path("community/photos/<int:pk>/", PhotoView.as_view(), name="community-photo"),
    path("community/volunteers/", VolunteerListView.as_view(), name="community-volunteers"),
    path("community/points/", PointsView.as_view(), name="community-points"),
    path("community/categories/", CategoryListView.as_view(), name="community-categories"),
    *router.urls,
]
