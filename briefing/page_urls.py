from django.urls import path

from . import views

app_name = "briefing"

urlpatterns = [
    path("briefing/", views.report_list, name="reports"),
    path("briefing/reports/<int:pk>/", views.report_page, name="report"),
    path("briefing/duty/", views.duty_page, name="duty"),
    path("briefing/duty/<int:pk>/", views.duty_log_page, name="duty-log"),
]
