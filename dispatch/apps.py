from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DispatchConfig(AppConfig):
    name = "dispatch"
    verbose_name = _("Dispatch")
    # `manage.py load_demo` calls this after the demo city and its people exist.
    demo_loader = "dispatch.demo.load_demo"

    def ready(self) -> None:
        from command_center import hooks, orgs, screens, words
        from command_center.models import Role
        from command_center.orgs import ROLE_PERMISSIONS
        from incidents.models import Incident

        from .panels import incident_orders_panel
        from .selectors import describe_orders, incident_order_steps, incidents_held_by
        from .services import orders_cancel_for_merged, register_clocks
        from .views import intake_labels

        register_clocks()
        hooks.listen(hooks.INCIDENT_MERGED, orders_cancel_for_merged)
        # A station sent to another area's incident reads it and files its feedback (incidents asks orgs).
        orgs.add_reach(Incident, incidents_held_by)
        # The intake page dispatches the call it just saved (incidents knows no units or orders).
        screens.provide_labels(screens.INTAKE, intake_labels)
        # The overdue list names an order by its incident's number, its unit and the address.
        words.provide_subject("dispatch.dispatchorder", describe_orders)
        # The incident page shows its orders, with 撤派 and 改派 for the command center.
        screens.provide_panel(screens.INCIDENT_PAGE, incident_orders_panel)
        # The incident's timeline shows its orders' steps ("东湖派出所 张三 签收").
        words.provide_timeline("incidents.incident", incident_order_steps)
        # Model permissions for the admin and for anyone asking `has_perm`; the API decides by role and scope.
        view = {"dispatch.view_unit", "dispatch.view_dispatchorder", "dispatch.view_shift"}
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
                "dispatch.add_unit",
                "dispatch.change_unit",
                "dispatch.add_shift",
                "dispatch.change_shift",
                "dispatch.delete_shift",
                "dispatch.view_unittransition",
                "dispatch.view_ordertransition",
            }
        )
