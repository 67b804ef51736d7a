from django.urls import path

from . import api

urlpatterns = [
    path("places/search/", api.PlaceSearchView.as_view(), name="places-search"),
    path("places/reverse/", api.PlaceReverseView.as_view(), name="places-reverse"),
    path("places/map/", api.BaseMapView.as_view(), name="places-map"),
]
