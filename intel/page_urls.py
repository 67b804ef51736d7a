from django.urls import path

from . import views

app_name = "intel"

urlpatterns = [
    path("intel/", views.workspace, name="workspace"),
    path("intel/hotspots/", views.hotspots_page, name="hotspots"),
    path("intel/directives/<int:pk>/", views.directive_page, name="directive"),
    path("intel/directives/<int:pk>/report/", views.report_page, name="report"),
]
