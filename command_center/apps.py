from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _sync_roles(sender: AppConfig, **kwargs: Any) -> None:
    from .orgs import sync_role_groups

    sync_role_groups()


class CommandCenterConfig(AppConfig):
    name = "command_center"
    verbose_name = _("Command center kernel")

    def ready(self) -> None:
        # Setup, not a business effect: keep each role's group in step with ROLE_PERMISSIONS after migrate.
        post_migrate.connect(_sync_roles, dispatch_uid="command_center.sync_roles")
