from django.urls import path

from . import views

app_name = "supervision"

urlpatterns = [
    path("supervision/", views.review, name="review"),
    path("supervision/measures/", views.measures, name="measures"),
]
