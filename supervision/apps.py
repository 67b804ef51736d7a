from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SupervisionConfig(AppConfig):
    name = "supervision"
    verbose_name = _("Supervision")

    def ready(self) -> None:
        from command_center import clocks, screens, words
        from command_center.models import Role
        from command_center.orgs import ROLE_PERMISSIONS

        from . import feedback_review, inspection, scores, selectors, services, views

        # Supervision's escalation runs on the breaches of the kinds it escalates (services.escalates: the
        # loop's task clocks, an incident's and its orders'), after the owner's own handler. No lower app
        # imports supervision: this listener is the link. It is matched at breach time, so whether the
        # owners registered their kinds yet does not matter.
        services.register_clocks()
        # Confirmed 数字督察 findings count against a score (scores.py asks; inspection answers).
        scores.provide_findings(inspection.confirmed_findings)
        clocks.listen(services.escalates, services.on_breach)
        # 反馈审核: the rework clock of a returned feedback (its own kinds: 催办, then 督办), each return a
        # deduction in the scores, and the review's panel on the incident page (the station rectifies there).
        feedback_review.register_clocks()
        scores.provide_deductions("feedback_returned", feedback_review.returned_feedback)
        screens.provide_panel(screens.INCIDENT_PAGE, feedback_review.incident_review_panel)
        screens.provide(screens.INBOX, "feedback_returns", selectors.inbox_feedback_returns)
        words.provide_subject("supervision.feedbackreview", feedback_review.describe_reviews)
        # What the live screens (dispatch, below) show of supervision: reminders and 督办 in the station inbox
        # and on the board's alert strip, the watch list on the board.
        screens.provide(screens.INBOX, "reminders", selectors.inbox_reminders)
        screens.provide_alerts(screens.BOARD, selectors.board_alerts)
        screens.provide(screens.BOARD, "watch", selectors.board_watch)
        # The big screen's numbers gain today's measures for its area (kpis.py, the one definition).
        screens.provide(screens.WALL, "kpis", selectors.wall_kpis)
        screens.provide_labels(screens.WALL, views.wall_labels)
        screens.provide_labels(screens.INBOX, views.screen_labels)
        screens.provide_labels(screens.BOARD, views.screen_labels)
        view = {
            "supervision.view_reminder",
            "supervision.view_supervisionorder",
            "supervision.view_watch",
            "supervision.view_feedbackreview",
        }
        for role in (Role.DUTY_OFFICER, Role.COMMANDER, Role.STATION_OFFICER, Role.ANALYST, Role.SUPERVISOR):
            ROLE_PERMISSIONS.setdefault(role, set()).update(view)
        ROLE_PERMISSIONS.setdefault(Role.ADMIN, set()).update(view)
        # 数字督察: the inspection's findings to the police roles that read supervision, its rules to admins.
        see = {"supervision.view_finding", "supervision.view_inspectionrule"}
        for role in (Role.COMMANDER, Role.SUPERVISOR):
            ROLE_PERMISSIONS.setdefault(role, set()).update(see)
        ROLE_PERMISSIONS.setdefault(Role.ADMIN, set()).update(
            see
            | {"supervision.change_inspectionrule"}
            | {f"supervision.{verb}_inspectionruleorg" for verb in ("view", "add", "change", "delete")}
            | {f"supervision.{verb}_feedbacksampling" for verb in ("view", "add", "change", "delete")}
        )
        # Every rule in code gets its row on migrate (inspect and rule_update also add missing ones).
        from django.db.models.signals import post_migrate

        post_migrate.connect(_sync_inspection_rules, sender=self)


def _sync_inspection_rules(**kwargs: object) -> None:
    from django.db import connection

    from .inspection import rules_sync
    from .models import InspectionRule

    # Not when supervision was migrated back to before its inspection tables.
    if InspectionRule._meta.db_table in connection.introspection.table_names():
        rules_sync()
