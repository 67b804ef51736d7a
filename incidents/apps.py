from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = _("Incidents")
    # The default handling guides (处置指引) for common categories; an admin's edits are kept.
    codes_loader = "incidents.services.load_defaults"
    # `manage.py load_demo`: auto-diversion rules and a community's grid worker for the demo city.
    demo_loader = "incidents.demo.load_demo"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from command_center import memo, words
        from command_center.models import Role
        from command_center.orgs import ROLE_PERMISSIONS

        from .models import DiversionRule, HandlingGuide, SlaPolicy
        from .selectors import describe_clusters, describe_diversions, describe_incidents
        from .services import register_clocks

        register_clocks()
        # The overdue list names an incident or a diversion by its number, address and page.
        words.provide_subject("incidents.incident", describe_incidents)
        words.provide_subject("incidents.diversion", describe_diversions)
        words.provide_subject("incidents.repeatcluster", describe_clusters)
        # Guides, rules and SLA policies are read from memory at every intake (selectors.guide_for, rule_for,
        # services.sla_for).
        for model in (HandlingGuide, DiversionRule, SlaPolicy):
            post_save.connect(memo.forget, sender=model, dispatch_uid=f"memo.save.{model.__name__}")
            post_delete.connect(memo.forget, sender=model, dispatch_uid=f"memo.delete.{model.__name__}")
        # The administrator edits the guides and the rules (admin), and reads the proposals.
        ROLE_PERMISSIONS.setdefault(Role.ADMIN, set()).update(
            {
                "incidents.view_handlingguide",
                "incidents.add_handlingguide",
                "incidents.change_handlingguide",
                "incidents.view_diversionrule",
                "incidents.add_diversionrule",
                "incidents.change_diversionrule",
                "incidents.view_diversionproposal",
                # Partner webhooks: the endpoints, and the deliveries with their redeliver action.
                "incidents.view_partnerwebhook",
                "incidents.add_partnerwebhook",
                "incidents.change_partnerwebhook",
                "incidents.view_webhookdelivery",
                "incidents.change_webhookdelivery",
            }
        )
        # The webhooks' tasks, registered in every process: a web process queues them by name after commit.
        from . import tasks  # noqa: F401
