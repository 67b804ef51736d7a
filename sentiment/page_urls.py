from django.urls import path

from . import views

app_name = "sentiment"

urlpatterns = [
    path("sentiment/", views.monitor, name="monitor"),
    path("sentiment/events/<int:pk>/", views.event_page, name="event"),
    path("sentiment/posts/<int:pk>/", views.post_page, name="post"),
]
