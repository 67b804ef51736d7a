from __future__ import annotations

from typing import TYPE_CHECKING

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from command_center.clocks import BreachHandler
    from command_center.models import Deadline


class SupervisionConfig(AppConfig):
    name = "supervision"
    verbose_name = _("Supervision")

    def ready(self) -> None:
        from command_center import clocks, screens
        from command_center.models import Role
        from command_center.orgs import ROLE_PERMISSIONS

        from . import selectors, services, views

        # The loop (intel, below) registered its task clocks; supervision adds its escalation to each breach,
        # after the loop's own handler. Intel never imports supervision: this registration is the link.
        # (INSTALLED_APPS lists intel before supervision, so its kinds exist when this runs.)
        for name in services.TASK_CLOCK_KINDS:
            kind = clocks.kind(name)
            if getattr(kind.on_breach, "supervised", False):
                continue  # ready() ran twice in this process: already chained
            clocks.register(name, label=kind.label, on_breach=chain(kind.on_breach, services.on_task_breach))
        # What the live screens (dispatch, below) show of supervision: reminders and 督办 in the station inbox
        # and on the board's alert strip, the watch list on the board.
        screens.provide(screens.INBOX, "reminders", selectors.inbox_reminders)
        screens.provide_alerts(screens.BOARD, selectors.board_alerts)
        screens.provide(screens.BOARD, "watch", selectors.board_watch)
        screens.provide_labels(screens.INBOX, views.screen_labels)
        screens.provide_labels(screens.BOARD, views.screen_labels)
        view = {"supervision.view_reminder", "supervision.view_supervisionorder", "supervision.view_watch"}
        for role in (Role.DUTY_OFFICER, Role.COMMANDER, Role.STATION_OFFICER, Role.ANALYST, Role.SUPERVISOR):
            ROLE_PERMISSIONS.setdefault(role, set()).update(view)
        ROLE_PERMISSIONS.setdefault(Role.ADMIN, set()).update(view)


def chain(first: BreachHandler | None, then: BreachHandler) -> BreachHandler:
    """One breach handler that runs `first` (the owner's), then `then` (supervision's escalation)."""

    def both(deadline: Deadline) -> None:
        if first is not None:
            first(deadline)
        then(deadline)

    both.supervised = True  # type: ignore[attr-defined]
    return both
