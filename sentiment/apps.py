from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SentimentConfig(AppConfig):
    name = "sentiment"
    verbose_name = _("Sentiment")
    # load_codes runs it after the kernel's tables: the shipped sources and the default spike rule.
    codes_loader = "sentiment.services.load_defaults"
    # load_demo runs it: a watch list and two days of posts about the demo city.
    demo_loader = "sentiment.demo.load_demo"

    def ready(self) -> None:
        from command_center import screens

        from . import selectors

        # The big screen shows the area's live 网情 count and top events.
        screens.provide(screens.WALL, "sentiment", selectors.wall)
        # The dispatch board's strip: watch hits and red or yellow warnings of the area, linking to their page.
        screens.provide_alerts(screens.BOARD, selectors.board_alerts)
        screens.provide_labels(screens.BOARD, selectors.board_labels)
