from django.urls import path

from . import views

app_name = "community"

urlpatterns = [
    path("community/", views.volunteer_page, name="volunteer"),
    path("community/triage/", views.triage_page, name="triage"),
    path("community/volunteers/", views.register_page, name="register"),
]
