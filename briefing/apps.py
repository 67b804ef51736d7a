from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BriefingConfig(AppConfig):
    name = "briefing"
    verbose_name = _("Briefing")
    # load_demo runs it: yesterday's 三情 report of the demo city, and today's duty log of a demo station.
    demo_loader = "briefing.demo.load_demo"
