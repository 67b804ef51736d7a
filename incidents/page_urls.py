from django.urls import path

from . import views

app_name = "incidents"

urlpatterns = [
    path("incidents/", views.incident_list, name="list"),
    path("incidents/intake/", views.intake, name="intake"),
    path("incidents/<int:pk>/", views.incident_detail, name="detail"),
    path("partner/", views.partner_inbox, name="partner-inbox"),
    path("incidents/diversion-rules/", views.diversion_rules, name="diversion-rules"),
]
