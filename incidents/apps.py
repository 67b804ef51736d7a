from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = _("Incidents")

    def ready(self) -> None:
        from command_center import words

        from .selectors import describe_clusters, describe_diversions, describe_incidents
        from .services import register_clocks

        register_clocks()
        # The overdue list names an incident or a diversion by its number, address and page.
        words.provide_subject("incidents.incident", describe_incidents)
        words.provide_subject("incidents.diversion", describe_diversions)
        words.provide_subject("incidents.repeatcluster", describe_clusters)
