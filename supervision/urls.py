from django.urls import URLPattern, URLResolver, path
from rest_framework.routers import SimpleRouter

from .api import (
    BulletinViewSet,
    KpiRowsView,
    KpiView,
    OverdueRemindView,
    OverdueSuperviseView,
    OverdueView,
    ReminderViewSet,
    ReviewView,
    SupervisionOrderViewSet,
    WatchViewSet,
)

router = SimpleRouter()
router.register("reminders", ReminderViewSet, basename="reminder")
router.register("supervision-orders", SupervisionOrderViewSet, basename="supervision-order")
router.register("watch", WatchViewSet, basename="watch")
router.register("bulletins", BulletinViewSet, basename="bulletin")

urlpatterns: list[URLPattern | URLResolver] = [
    path("review/", ReviewView.as_view(), name="review"),
    path("overdue/", OverdueView.as_view(), name="overdue"),
    path("kpis/", KpiView.as_view(), name="kpis"),
    path("kpis/<slug:key>/rows/", KpiRowsView.as_view(), name="kpi-rows"),
    path("overdue/<int:pk>/remind/", OverdueRemindView.as_view(), name="overdue-remind"),
    path("overdue/<int:pk>/supervise/", OverdueSuperviseView.as_view(), name="overdue-supervise"),
    *router.urls,
]
