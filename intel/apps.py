from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntelConfig(AppConfig):
    name = "intel"
    verbose_name = _("Intel")
    # `manage.py load_demo` calls this after the demo city and its people exist.
    demo_loader = "intel.demo.load_demo"
    # load_codes runs it after the kernel's tables: the hotspots' default thresholds (HotspotRule).
    codes_loader = "intel.hotspots.load_defaults"

    def ready(self) -> None:
        # A 网情 warning, event or post shows the analyses opened from it (sentiment imports no intel).
        from command_center import hooks, links, orgs, screens, words
        from command_center.models import Role
        from command_center.orgs import ROLE_PERMISSIONS
        from incidents.models import Incident

        from . import selectors, services, views

        links.provide("sentiment.warning", selectors.analyses_from_warnings)
        links.provide("sentiment.event", selectors.analyses_from_events)
        links.provide("sentiment.post", selectors.analyses_from_posts)

        services.register_clocks()
        # An org with a task about an incident (a rectification) reads that incident.
        orgs.add_reach(Incident, selectors.incidents_tasked_to)
        # A dissatisfied callback (incidents) opens a rectification task: incidents cannot import intel, so it
        # emits an after-commit hook that the loop listens to.
        hooks.listen(hooks.INCIDENT_DISSATISFIED, services.rectification_open)
        # The station inbox (dispatch, below) shows the loop's tasks; the board names their states and clocks.
        screens.provide(screens.INBOX, "tasks", selectors.inbox_tasks)
        screens.provide_labels(screens.INBOX, views.screen_labels)
        screens.provide_labels(screens.BOARD, views.screen_labels)
        # The overdue list names a task by its title, its recipient and its directive's page.
        words.provide_subject("intel.task", selectors.describe_tasks)
        # Model permissions for the admin and for anyone asking `has_perm`; the API decides by role and scope.
        view = {
            "intel.view_analysis",
            "intel.view_directive",
            "intel.view_task",
            "intel.view_taskreport",
            "intel.view_closurereport",
            "intel.view_hotspot",
        }
        for role in (
            Role.CALL_TAKER,
            Role.DUTY_OFFICER,
            Role.COMMANDER,
            Role.STATION_OFFICER,
            Role.ANALYST,
            Role.SUPERVISOR,
        ):
            ROLE_PERMISSIONS.setdefault(role, set()).update(view)
        ROLE_PERMISSIONS.setdefault(Role.ADMIN, set()).update(
            {
                *view,
                "intel.view_attachment",
                "intel.view_taskdirective",
                "intel.view_analysistransition",
                "intel.view_directivetransition",
                "intel.view_tasktransition",
                "intel.view_hotspotrule",
                "intel.add_hotspotrule",
                "intel.change_hotspotrule",
                "intel.delete_hotspotrule",
                "intel.view_hotspotcount",
            }
        )
