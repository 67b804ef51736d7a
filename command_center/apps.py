from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_delete, post_migrate, post_save
from django.utils.translation import gettext_lazy as _


def _sync_roles(sender: AppConfig, **kwargs: Any) -> None:
    from .orgs import sync_role_groups

    sync_role_groups()


def _append_only(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    from .audit import install_append_only_triggers

    install_append_only_triggers(using)


class CommandCenterConfig(AppConfig):
    name = "command_center"
    verbose_name = _("Command center kernel")

    def ready(self) -> None:
        # Setup, not a business effect: keep each role's group in step with ROLE_PERMISSIONS after migrate.
        post_migrate.connect(_sync_roles, dispatch_uid="command_center.sync_roles")
        # The database's own refusal to change or delete transition-log rows (audit.py).
        post_migrate.connect(_append_only, dispatch_uid="command_center.append_only")
        # A security invariant of the auth model, not a business effect: a user saved with a new password or
        # deactivated loses their API tokens, whatever path saved them (tokens.user_saved).
        from django.conf import settings

        from . import tokens

        post_save.connect(tokens.user_saved, sender=settings.AUTH_USER_MODEL, dispatch_uid="tokens.user_saved")
        # Cache invalidation, not a business effect: a changed org or code row is never served from memory.
        from . import memo
        from .models import Category, HandlingResult, Org, SupervisionLevel

        for model in (Org, Category, HandlingResult, SupervisionLevel):
            post_save.connect(memo.forget, sender=model, dispatch_uid=f"memo.save.{model.__name__}")
            post_delete.connect(memo.forget, sender=model, dispatch_uid=f"memo.delete.{model.__name__}")
