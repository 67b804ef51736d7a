from django.urls import URLPattern, URLResolver, path
from rest_framework.routers import SimpleRouter

from .api import (
    BulletinViewSet,
    KpiBreakdownView,
    KpiExportView,
    KpiRankingView,
    KpiRowsView,
    KpiTrendView,
    KpiView,
    OverdueRemindView,
    OverdueSuperviseView,
    OverdueView,
    ReminderViewSet,
    ReviewView,
    ScoreComputeView,
    ScoreDetailView,
    ScoreListView,
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
    path("scores/", ScoreListView.as_view(), name="scores"),
    path("scores/compute/", ScoreComputeView.as_view(), name="scores-compute"),
    path("scores/<int:pk>/", ScoreDetailView.as_view(), name="score-detail"),
    path("kpis/export/", KpiExportView.as_view(), name="kpi-export"),
    path("kpis/<slug:key>/rows/", KpiRowsView.as_view(), name="kpi-rows"),
    path("kpis/<slug:key>/breakdown/", KpiBreakdownView.as_view(), name="kpi-breakdown"),
    path("kpis/<slug:key>/trend/", KpiTrendView.as_view(), name="kpi-trend"),
    path("kpis/<slug:key>/ranking/", KpiRankingView.as_view(), name="kpi-ranking"),
    path("overdue/<int:pk>/remind/", OverdueRemindView.as_view(), name="overdue-remind"),
    path("overdue/<int:pk>/supervise/", OverdueSuperviseView.as_view(), name="overdue-supervise"),
    *router.urls,
]

# 数字督察 (supervision/inspection.py): findings and rules.
from .inspection_api import FindingViewSet, InspectionRuleListView, InspectionRuleView  # noqa: E402

inspection_router = SimpleRouter()
inspection_router.register("inspection/findings", FindingViewSet, basename="finding")
urlpatterns += [
    path("inspection/rules/", InspectionRuleListView.as_view(), name="inspection-rules"),
    path("inspection/rules/<slug:key>/", InspectionRuleView.as_view(), name="inspection-rule"),
    *inspection_router.urls,
]

# 反馈审核 (supervision/feedback_review.py): the queue, a feedback's review and its steps, the sampling rule.
from .feedback_review_api import FeedbackReviewViewSet  # noqa: E402

feedback_router = SimpleRouter()
feedback_router.register("feedback-reviews", FeedbackReviewViewSet, basename="feedback-review")
urlpatterns += feedback_router.urls
