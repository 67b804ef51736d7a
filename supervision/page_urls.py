from django.urls import path

from . import views

app_name = "supervision"

urlpatterns = [
    path("supervision/", views.review, name="review"),
    path("supervision/measures/", views.measures, name="measures"),
    path("supervision/scores/", views.scores_page, name="scores"),
    path("supervision/bulletins/", views.bulletin_list, name="bulletins"),
    path("supervision/bulletins/<int:pk>/", views.bulletin_page, name="bulletin"),
]

from . import inspection_views  # noqa: E402

urlpatterns += [path("supervision/inspection/", inspection_views.inspection_queue, name="inspection")]

from . import feedback_review_views  # noqa: E402

urlpatterns += [
    path("supervision/feedback/", feedback_review_views.queue_page, name="feedback"),
    path("supervision/feedback/rework/", feedback_review_views.rework_page, name="feedback-rework"),
]
