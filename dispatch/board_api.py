"""The live screens' state endpoints (read-only): `GET /api/board/` (dispatch board), `GET /api/board/stats/`
(big screen), `GET /api/board/inbox/` (station inbox). Each answers the caller's area only and carries the
group `seq` read before the rows (board.py). Kept apart from api.py, whose views act on one object."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import PermissionDenied
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from command_center import orgs

from . import board
from .models import DispatchOrder, Unit


def require_roles(user: Any, roles: Sequence[str]) -> None:
    person = orgs.person_of(user)
    if getattr(user, "is_superuser", False):
        return
    if person is None or not person.has_role(*roles):
        raise PermissionDenied


# --- Shapes (for the schema; the views return board.py's dicts as they are) -------------------------------


class ClockSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    kind = serializers.CharField(help_text="dispatch.sign, dispatch.arrive, dispatch.feedback, incidents.feedback …")
    label = serializers.CharField()  # type: ignore[assignment]
    order = serializers.IntegerField(allow_null=True, help_text="The order whose clock it is; null: the incident's.")
    due_at = serializers.DateTimeField()
    breached_at = serializers.DateTimeField(allow_null=True, help_text="Set: broken and not met yet.")


class OrderIncidentSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    number = serializers.CharField()
    category = serializers.CharField()
    level = serializers.IntegerField()
    address = serializers.CharField()
    lat = serializers.FloatField(allow_null=True)
    lon = serializers.FloatField(allow_null=True)


class BoardOrderSerializer(serializers.Serializer[Any]):
    """The `order.*` push payload, plus `org_name` and `overdue`."""

    id = serializers.IntegerField()
    incident = OrderIncidentSerializer()
    org = serializers.IntegerField()
    org_name = serializers.CharField()
    unit = serializers.IntegerField(allow_null=True)
    unit_call_sign = serializers.CharField(allow_null=True)
    kind = serializers.ChoiceField(choices=DispatchOrder.Kind.choices)
    state = serializers.CharField(help_text="sent, delivered, signed, arrived, done, returned, cancelled")
    version = serializers.IntegerField()
    ring_minutes = serializers.IntegerField(allow_null=True)
    dispatcher = serializers.CharField()
    signed_by = serializers.CharField(allow_null=True)
    sent_at = serializers.DateTimeField()
    delivered_at = serializers.DateTimeField(allow_null=True)
    signed_at = serializers.DateTimeField(allow_null=True)
    arrived_at = serializers.DateTimeField(allow_null=True)
    done_at = serializers.DateTimeField(allow_null=True)
    returned_at = serializers.DateTimeField(allow_null=True)
    cancelled_at = serializers.DateTimeField(allow_null=True)
    sign_due_at = serializers.DateTimeField(allow_null=True)
    arrive_due_at = serializers.DateTimeField(allow_null=True)
    feedback_due_at = serializers.DateTimeField(allow_null=True)
    replaces = serializers.IntegerField(allow_null=True, help_text="改派: the cancelled order this one took over from.")
    overdue = serializers.ListField(child=serializers.CharField(), help_text="Clocks broken and not met yet.")


class BoardDuplicateSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    number = serializers.CharField()
    state = serializers.CharField()
    version = serializers.IntegerField()
    link_type = serializers.CharField()
    reported_at = serializers.DateTimeField()


class BoardIncidentSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    number = serializers.CharField()
    state = serializers.CharField()
    version = serializers.IntegerField()
    category = serializers.CharField()
    category_name = serializers.CharField()
    level = serializers.IntegerField()
    address = serializers.CharField()
    lat = serializers.FloatField(allow_null=True)
    lon = serializers.FloatField(allow_null=True)
    org = serializers.IntegerField()
    org_name = serializers.CharField()
    reported_at = serializers.DateTimeField()
    clocks = ClockSerializer(many=True, help_text="Running and broken-unmet clocks of the incident and its orders.")
    orders = BoardOrderSerializer(many=True)
    duplicates = BoardDuplicateSerializer(many=True, help_text="Linked reports of this incident (RepeatLink).")
    ended = serializers.BooleanField(help_text="Left the working queue (diverted, merged, closed): `?ended=1` only.")


class BoardUnitSerializer(serializers.Serializer[Any]):
    """The `unit.updated` push payload."""

    id = serializers.IntegerField()
    call_sign = serializers.CharField()
    kind = serializers.ChoiceField(choices=Unit.Kind.choices)
    org = serializers.IntegerField(help_text="Its name is in `orgs`.")
    status = serializers.ChoiceField(choices=Unit.Status.choices)
    ring_minutes = serializers.IntegerField()
    capabilities = serializers.ListField(child=serializers.CharField())
    lat = serializers.FloatField(allow_null=True)
    lon = serializers.FloatField(allow_null=True)
    position_at = serializers.DateTimeField(allow_null=True)
    version = serializers.IntegerField()


class BoardOrgSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()
    level = serializers.CharField()
    lat = serializers.FloatField(allow_null=True)
    lon = serializers.FloatField(allow_null=True)


class AlertIncidentSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    number = serializers.CharField()


class AlertSerializer(serializers.Serializer[Any]):
    key = serializers.CharField(
        help_text="breach:<deadline id>, returned:<order id>, repeat:<cluster id>; from the loop (supervision) "
        "reminder:<reminder id> (催办) and supervision:<order id> (督办)."
    )
    kind = serializers.ChoiceField(choices=["breach", "returned", "repeat", "reminder", "supervision"])
    at = serializers.DateTimeField()
    text = serializers.CharField()
    incident = AlertIncidentSerializer(allow_null=True)
    order = serializers.IntegerField(required=False, allow_null=True)
    clock = serializers.CharField(required=False, help_text="breach: the clock kind.")
    label = serializers.CharField(required=False, help_text="breach: the clock's name.")  # type: ignore[assignment]
    due_at = serializers.DateTimeField(required=False)
    cluster = serializers.IntegerField(required=False)
    repeat_kind = serializers.CharField(required=False)
    count = serializers.IntegerField(required=False)
    task = serializers.IntegerField(required=False, help_text="reminder, supervision: the loop's task.")
    covers = serializers.IntegerField(
        required=False, help_text="reminder, supervision: the deadline whose breach alert this one replaces."
    )
    org_name = serializers.CharField(required=False, help_text="reminder, supervision: who must act.")


class BoardStateSerializer(serializers.Serializer[Any]):
    seq = serializers.IntegerField(help_text="The caller's group sequence, read before the rows.")
    at = serializers.DateTimeField(help_text="Server time (screens correct their clock by it).")
    incidents = BoardIncidentSerializer(many=True, help_text="Most urgent first.")
    truncated = serializers.BooleanField(help_text=f"More than {board.MAX_INCIDENTS} open incidents.")
    ended = serializers.BooleanField(help_text="The filter was on: `incidents` holds the ended ones too.")
    units = BoardUnitSerializer(many=True)
    orgs = BoardOrgSerializer(many=True)
    alerts = AlertSerializer(many=True, help_text="Newest first.")
    watch = serializers.ListField(
        child=serializers.DictField(),
        required=False,
        help_text="The watch list (盯办, supervision): open watches of the area, in the shape of GET /api/watch/.",
    )


class InboxOrderIncidentSerializer(OrderIncidentSerializer):
    state = serializers.CharField()
    category_name = serializers.CharField()
    narrative = serializers.CharField()
    reported_at = serializers.DateTimeField()


class InboxOrderSerializer(BoardOrderSerializer):
    incident = InboxOrderIncidentSerializer()
    note = serializers.CharField()
    return_reason = serializers.CharField()
    allowed = serializers.ListField(child=serializers.CharField())


class OrgNameSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()


class InboxStateSerializer(serializers.Serializer[Any]):
    seq = serializers.IntegerField()
    at = serializers.DateTimeField()
    org = OrgNameSerializer(allow_null=True)
    orders = InboxOrderSerializer(many=True, help_text="Live, or sent today; newest first.")
    tasks = serializers.ListField(
        child=serializers.DictField(),
        help_text="Directive tasks (指令任务, the loop) addressed to the caller's org and below it, open or closed "
        "today, newest first: the `task.*` push payload plus `actions`, `last_return_reason`, `carried` (the "
        "directives with content and files), `overdue` and `can_act`.",
    )
    reminders = serializers.ListField(
        child=serializers.DictField(),
        required=False,
        help_text="Reminders (催办, level 1) and 督办 notices (level 2) to the caller's org and below, on open tasks, "
        "unacknowledged or from today, newest first: the `reminder.created` payload plus `can_ack`.",
    )


class CountSerializer(serializers.Serializer[Any]):
    code = serializers.CharField()
    name = serializers.CharField()
    count = serializers.IntegerField()


class StateCountSerializer(serializers.Serializer[Any]):
    state = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    count = serializers.IntegerField()


class BreachesSerializer(serializers.Serializer[Any]):
    open = serializers.IntegerField()
    items = AlertSerializer(many=True)


class StatsSerializer(serializers.Serializer[Any]):
    seq = serializers.IntegerField()
    at = serializers.DateTimeField()
    since = serializers.DateTimeField(help_text="Today's start (local midnight).")
    total = serializers.IntegerField()
    open = serializers.IntegerField()
    by_category = CountSerializer(many=True)
    by_state = StateCountSerializer(many=True)
    breaches = BreachesSerializer()
    units = serializers.DictField(child=serializers.IntegerField(), help_text="Units by status.")
    kpis = serializers.ListField(
        child=serializers.DictField(),
        required=False,
        help_text="Today's measures for the area, each {key, label, unit, better, value, numerator, denominator, "
        "url} — contributed by the apps above (command_center.screens.WALL; supervision's measures).",
    )


# --- Views ----------------------------------------------------------------------------------------------


class BoardView(APIView):
    """指挥调度台: open incidents of the caller's area with their orders and clocks (most urgent first), the
    units, the alert strip. Load on connect to /ws/board/ and on any seq gap; apply pushes with a higher
    seq."""

    @extend_schema(
        responses=BoardStateSerializer,
        parameters=[
            OpenApiParameter(
                "ended", bool, description="Also the incidents that left the queue (diverted; merged, closed today)."
            )
        ],
    )
    def get(self, request: Request) -> Response:
        require_roles(request.user, board.BOARD_ROLES)
        ended = request.query_params.get("ended", "") in ("1", "true")
        return Response(board.board_state(request.user, ended=ended))


class BoardStatsView(APIView):
    """一屏展: today's counts by category and state, open breaches, units by status, sign-within-30 s and
    arrive-within-ring rates — for the caller's area."""

    @extend_schema(responses=StatsSerializer)
    def get(self, request: Request) -> Response:
        require_roles(request.user, board.BOARD_ROLES)
        return Response(board.board_stats(request.user))


class InboxView(APIView):
    """派出所接收岗: the orders addressed to the caller's station, live or sent today, newest first; the
    directive tasks and the reminders (催办, 督办) addressed to it."""

    @extend_schema(responses=InboxStateSerializer)
    def get(self, request: Request) -> Response:
        require_roles(request.user, board.INBOX_ROLES)
        return Response(board.inbox_state(request.user))
