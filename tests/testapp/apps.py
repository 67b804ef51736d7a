from django.apps import AppConfig


class TestappConfig(AppConfig):
    name = "tests.testapp"
    label = "testapp"

    def ready(self) -> None:
        from command_center import clocks

        from .models import on_respond_breach

        clocks.register("testapp.respond", label="respond", on_breach=on_respond_breach)
