"""What a push, the screens and the API say about reminders (催办), 督办 orders and watches (盯办): built from
the row, never from a write (services send these; selectors, the screens and the API read them; nothing here
imports services). The watch list's rows are a serializer: the API lists them and the board's `watch`
(selectors.board_watch) carries the same shape."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from command_center.serializers import PersonBriefField
from incidents.transitions import OPEN_STATES
from intel.models import OPEN_TASK_STATES, Task

from .models import Reminder, SupervisionOrder, Watch


def reminder_payload(r: Reminder) -> dict[str, Any]:
    """What inboxes and boards get: enough to show the reminder without a read (names included)."""
    return {
        "id": r.pk,
        "level": r.level,
        "recipient": r.recipient_id,
        "recipient_name": r.recipient.name,
        "task": r.task_id,
        "task_title": r.task.title if r.task is not None else "",
        "incident": r.incident_id,
        "incident_number": r.incident.number if r.incident is not None else "",
        "by": r.by_id,
        "deadline": r.deadline_id,
        "clock": r.deadline.kind,
        "text": r.text,
        "created_at": r.created_at,
        "acknowledged_at": r.acknowledged_at,
    }


def order_payload(o: SupervisionOrder) -> dict[str, Any]:
    return {
        "id": o.pk,
        "task": o.task_id,
        "task_title": o.task.title if o.task is not None else "",
        "incident": o.incident_id,
        "incident_number": o.incident.number if o.incident is not None else "",
        "by": o.by_id,
        "org": o.org_id,
        "org_name": o.org.name,
        "level": {"code": o.level.code, "rank": o.level.rank, "name": o.level.name, "name_en": o.level.name_en},
        "deadline": o.deadline_id,
        "clock": o.deadline.kind,
        "reason": o.reason,
        "created_at": o.created_at,
    }


def watch_payload(w: Watch) -> dict[str, Any]:
    return {
        "id": w.pk,
        "task": w.task_id,
        "incident": w.incident_id,
        "org": w.org_id,
        "by_org": w.by_org_id,
        "note": w.note,
        "created_at": w.created_at,
        "ended_at": w.ended_at,
    }


class TaskBriefSerializer(serializers.ModelSerializer[Task]):
    org_name = serializers.CharField(source="org.name", read_only=True)

    class Meta:
        model = Task
        fields = ["id", "title", "colour", "state", "version", "org", "org_name", "sign_due_at", "report_due_at"]


class WatchIncidentSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    number = serializers.CharField()
    state = serializers.CharField()
    address = serializers.CharField()
    org = serializers.IntegerField(source="org_id")


class WatchSerializer(serializers.ModelSerializer[Watch]):
    task = TaskBriefSerializer(read_only=True, allow_null=True)
    incident = WatchIncidentSerializer(read_only=True, allow_null=True)
    org_name = serializers.CharField(source="org.name", read_only=True)
    by = PersonBriefField(read_only=True)
    closed = serializers.SerializerMethodField(help_text="The subject closed: it leaves the board.")

    class Meta:
        model = Watch
        fields = ["id", "task", "incident", "org", "org_name", "by", "by_org", "note", "created_at", "ended_at",
                  "closed"]  # fmt: skip

    def get_closed(self, obj: Watch) -> bool:
        if obj.task is not None:
            return obj.task.state not in OPEN_TASK_STATES
        return obj.incident is not None and obj.incident.state not in OPEN_STATES
