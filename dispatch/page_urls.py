from django.urls import path

from . import views

app_name = "dispatch"

urlpatterns = [
    path("dispatch/board/", views.board, name="board"),
    path("dispatch/inbox/", views.inbox, name="inbox"),
    path("dispatch/wall/", views.wall, name="wall"),
    path("dispatch/units/", views.units, name="units"),
]
