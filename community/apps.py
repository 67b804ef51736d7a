from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommunityConfig(AppConfig):
    name = "community"
    verbose_name = _("Community (社情)")
    # load_codes runs it after the kernel's tables: the report categories and the points rules.
    codes_loader = "community.services.load_defaults"
    # load_demo runs it: a few volunteers of the demo city and their reports.
    demo_loader = "community.demo.load_demo"

    def ready(self) -> None:
        from command_center import orgs, screens, words
        from command_center.models import Role

        from . import selectors, services

        services.register_clocks()
        # The incident page names the volunteer report it was made from.
        screens.provide_panel(screens.INCIDENT_PAGE, selectors.incident_panel)
        # Lists of late things (supervision's overdue list) name a report whose triage clock broke.
        words.provide_subject("community.volunteerreport", selectors.describe_reports)
        orgs.ROLE_PERMISSIONS.setdefault(Role.ADMIN, set()).update(
            {
                f"community.{verb}_{model}"
                for model in ("volunteer", "reportcategory", "pointsrule")
                for verb in ("view", "add", "change")
            }
            | {"community.view_volunteerreport", "community.view_pointsentry", "community.view_reportphoto"}
        )
