"""Dispatch API: units and their positions, dispatch orders (the station inbox and its actions), shifts,
and two incident endpoints — recommendations and dispatch. Views check scope (404 outside it) and call
services (403 for a wrong role, 409 for a move the state does not allow, 400 per field)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

import django_filters
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from command_center import clocks, orgs
from command_center.api import OrgBriefSerializer
from command_center.inputs import WindowDateTimeField
from command_center.models import Org
from command_center.serializers import (
    NoBodySerializer,
    PersonBriefField,
    StrictSerializer,
    drf_values,
    person_brief,
)
from incidents import selectors as incident_selectors

from . import payloads, selectors, services
from .models import LIVE_ORDER_STATES, DispatchOrder, Shift, Unit
from .transitions import MANUAL_EVENTS, ORDER, UNIT, allowed_events

# --- Units ----------------------------------------------------------------------------------------------


class UnitSerializer(serializers.ModelSerializer[Unit]):
    org_name = serializers.CharField(source="org.name", read_only=True)
    allowed = serializers.SerializerMethodField(help_text="The statuses a person may set now.")

    class Meta:
        model = Unit
        fields = [
            "id", "call_sign", "kind", "org", "org_name", "capabilities", "ring_minutes", "status",
            "status_reason", "status_changed_at", "allowed", "lat", "lon", "position_at", "version",
        ]  # fmt: skip

    def get_allowed(self, obj: Unit) -> list[str]:
        return [e for e in allowed_events(UNIT, obj.status) if e in MANUAL_EVENTS]


class PositionSerializer(StrictSerializer):
    lat = serializers.FloatField(min_value=-90, max_value=90)
    lon = serializers.FloatField(min_value=-180, max_value=180)
    at = WindowDateTimeField(required=False, allow_null=True, help_text="When the fix was taken (default now).")


class PositionItemSerializer(PositionSerializer):
    unit = serializers.IntegerField(min_value=1)


class PositionsSerializer(StrictSerializer):
    positions = PositionItemSerializer(many=True, allow_empty=False)

    def validate_positions(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if len(value) > services.MAX_POSITIONS:
            raise serializers.ValidationError(_("At most %(n)d positions per request.") % {"n": services.MAX_POSITIONS})
        return value


class PositionsResultSerializer(serializers.Serializer[Any]):
    updated = serializers.ListField(child=serializers.DictField(), help_text="Unit payloads of the stored positions.")
    skipped = serializers.ListField(
        child=serializers.IntegerField(), help_text="Units whose stored position is newer than the report."
    )


class UnitStatusSerializer(StrictSerializer):
    status = serializers.ChoiceField(choices=Unit.Status.choices, help_text="available, busy, off_duty, out_of_service")
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

    def validate_status(self, value: str) -> str:
        if value not in MANUAL_EVENTS:
            raise serializers.ValidationError(_("Choose available, busy, off duty or out of service."))
        return value


class UnitFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=Unit.Status.choices)
    kind = django_filters.MultipleChoiceFilter(choices=Unit.Kind.choices)
    ring = django_filters.TypedChoiceFilter(field_name="ring_minutes", choices=Unit.Ring.choices, coerce=int)
    org = django_filters.NumberFilter(method="filter_org", label="org id (its subtree)")
    q = django_filters.CharFilter(field_name="call_sign", lookup_expr="icontains", label="call sign contains")

    class Meta:
        model = Unit
        fields = ["status", "kind", "ring", "org"]

    def filter_org(self, qs: QuerySet[Unit], name: str, value: int) -> QuerySet[Unit]:
        return _subtree(qs, value)


def _subtree(qs: QuerySet[Any], org_id: int) -> QuerySet[Any]:
    org = Org.objects.filter(pk=org_id).first()
    return qs.filter(org__path__startswith=org.path) if org else qs.none()


class UnitViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Unit]):
    """警力: the units the caller's area holds, their status and last known position."""

    serializer_class = UnitSerializer
    filterset_class = UnitFilter

    def get_queryset(self) -> QuerySet[Unit]:
        return selectors.visible_units(self.request.user).select_related("org")

    def get_serializer_class(self) -> Any:
        return {
            "position": PositionSerializer,
            "positions": PositionsSerializer,
            "set_status": UnitStatusSerializer,
        }.get(self.action, UnitSerializer)

    def _answer(self, unit_id: int) -> Response:
        return Response(UnitSerializer(self.get_queryset().get(pk=unit_id)).data)

    @extend_schema(request=PositionSerializer, responses=UnitSerializer)
    @action(detail=True, methods=["post"])
    def position(self, request: Request, pk: str) -> Response:
        """Report one unit's position. A fix older than the stored one is ignored (the answer shows the
        stored position)."""
        unit = self.get_object()
        s = PositionSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        v = s.validated_data
        services.unit_report_position(unit_id=unit.pk, actor=request.user, lat=v["lat"], lon=v["lon"], at=v.get("at"))
        return self._answer(unit.pk)

    @extend_schema(request=PositionsSerializer, responses=PositionsResultSerializer)
    @action(detail=False, methods=["post"])
    def positions(self, request: Request) -> Response:
        """Many positions at once (a GPS gateway): one transaction, one push per org. Every unit must be in
        the caller's area, or nothing is stored (400)."""
        s = PositionsSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        reports = [
            services.PositionReport(p["unit"], p["lat"], p["lon"], p.get("at")) for p in s.validated_data["positions"]
        ]
        result = services.unit_report_positions(actor=request.user, reports=reports)
        return Response(PositionsResultSerializer(asdict(result)).data)

    @extend_schema(request=UnitStatusSerializer, responses=UnitSerializer)
    @action(detail=True, methods=["post"], url_path="status", url_name="status")
    def set_status(self, request: Request, pk: str) -> Response:
        """Set a unit available, busy, off duty or out of service. A unit with a live order moves only with
        its order (409)."""
        unit = self.get_object()
        s = UnitStatusSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        services.unit_set_status(
            unit_id=unit.pk, actor=request.user, status=s.validated_data["status"], reason=s.validated_data["reason"]
        )
        return self._answer(unit.pk)


# --- Orders ---------------------------------------------------------------------------------------------


class IncidentBriefSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    number = serializers.CharField()
    state = serializers.CharField()
    category = serializers.CharField(source="category_id")
    category_name = serializers.CharField(source="category.name")
    level = serializers.IntegerField()
    address = serializers.CharField()
    lat = serializers.FloatField(allow_null=True)
    lon = serializers.FloatField(allow_null=True)
    org = serializers.IntegerField(source="org_id")


class UnitBriefSerializer(serializers.ModelSerializer[Unit]):
    class Meta:
        model = Unit
        fields = ["id", "call_sign", "kind", "status", "ring_minutes", "lat", "lon", "position_at", "version"]


# An order as the API gives it: its payload (payloads.order_payload, the shape the pushes and the screens read),
# with the unit and the people whole instead of by name and the incident's state, category name and org beside
# its brief, plus what the API adds — the addressed org's name, the note and the reasons, the actions allowed
# now and the broken clocks (to_representation). The fields describe it for the schema, and are DRF's rendering
# of it: tests/dispatch/test_api_shape.py holds the two equal. (A comment, not a docstring: drf-spectacular
# would publish a docstring as the schema's description.)
class OrderSerializer(serializers.ModelSerializer[DispatchOrder]):
    incident = IncidentBriefSerializer(read_only=True)
    unit = UnitBriefSerializer(read_only=True, allow_null=True)
    org_name = serializers.CharField(source="org.name", read_only=True)
    dispatcher = PersonBriefField(read_only=True)
    signed_by = PersonBriefField(read_only=True, allow_null=True)
    allowed = serializers.SerializerMethodField(help_text="The actions the state allows now.")
    overdue = serializers.SerializerMethodField(help_text="Clocks that broke and are not met yet.")

    class Meta:
        model = DispatchOrder
        fields = [
            "id", "incident", "org", "org_name", "unit", "kind", "note", "state", "allowed", "version",
            "dispatcher", "ring_minutes", "sent_at", "delivered_at", "signed_at", "signed_by", "arrived_at",
            "done_at", "returned_at", "return_reason", "cancelled_at", "cancel_reason", "replaces",
            "sign_due_at", "arrive_due_at", "feedback_due_at", "overdue",
        ]  # fmt: skip

    def get_allowed(self, obj: DispatchOrder) -> list[str]:
        return allowed_events(ORDER, obj.state)

    def get_overdue(self, obj: DispatchOrder) -> list[str]:
        found = self.context.get("overdue")
        if found is None:
            found = clocks.overdue(DispatchOrder, [obj.pk])
        return sorted(found.get(obj.pk, []))

    def to_representation(self, instance: DispatchOrder) -> dict[str, Any]:
        o = instance
        data = payloads.order_payload(o)
        del data["unit_call_sign"]  # the API gives the unit whole
        i = o.incident
        incident = {**data["incident"], "state": i.state, "category_name": i.category.name, "org": i.org_id}
        unit = payloads.unit_payload(o.unit) if o.unit is not None else None
        data.update(
            incident=_in_order(incident, IncidentBriefSerializer._declared_fields),
            org_name=o.org.name,
            unit=_in_order(unit, UnitBriefSerializer.Meta.fields, only=True) if unit is not None else None,
            dispatcher=person_brief(o.dispatcher),
            signed_by=person_brief(o.signed_by) if o.signed_by is not None else None,
            note=o.note,
            return_reason=o.return_reason,
            cancel_reason=o.cancel_reason,
            allowed=self.get_allowed(o),
            overdue=self.get_overdue(o),
        )
        return drf_values(_in_order(data, self.Meta.fields))


def _in_order(data: dict[str, Any], names: Iterable[str], *, only: bool = False) -> dict[str, Any]:
    """`data` with `names` first, in that order (as the schema lists them); the rest after them, or left out
    with `only`."""
    first = {k: data[k] for k in names if k in data}
    return first if only else {**first, **{k: v for k, v in data.items() if k not in first}}


class OrderDoneSerializer(StrictSerializer):
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class OrderReturnSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=2000)


class OrderCancelSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=2000, label=_l("Reason"))


class OrderReassignSerializer(StrictSerializer):
    """改派: another unit, or a station (exactly one), and why."""

    unit = serializers.IntegerField(required=False, allow_null=True, label=_l("Unit"))
    org = serializers.IntegerField(required=False, allow_null=True, label=_l("Station"))
    reason = serializers.CharField(max_length=2000, label=_l("Reason"))

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if (attrs.get("unit") is None) == (attrs.get("org") is None):
            raise serializers.ValidationError({"unit": [_("Give a unit or a station.")]})
        return attrs


class OrderFilter(django_filters.FilterSet):
    state = django_filters.MultipleChoiceFilter(choices=DispatchOrder.State.choices)
    live = django_filters.BooleanFilter(method="filter_live", label="sent, delivered, signed or arrived")
    incident = django_filters.NumberFilter(field_name="incident_id")
    unit = django_filters.NumberFilter(field_name="unit_id")
    org = django_filters.NumberFilter(method="filter_org", label="org id (its subtree)")
    kind = django_filters.ChoiceFilter(choices=DispatchOrder.Kind.choices)
    sent_after = django_filters.IsoDateTimeFilter(field_name="sent_at", lookup_expr="gte")
    sent_before = django_filters.IsoDateTimeFilter(field_name="sent_at", lookup_expr="lt")

    class Meta:
        model = DispatchOrder
        fields = ["state", "incident", "unit", "org", "kind"]

    def filter_org(self, qs: QuerySet[DispatchOrder], name: str, value: int) -> QuerySet[DispatchOrder]:
        return _subtree(qs, value)

    def filter_live(self, qs: QuerySet[DispatchOrder], name: str, value: bool) -> QuerySet[DispatchOrder]:
        return qs.filter(state__in=LIVE_ORDER_STATES) if value else qs.exclude(state__in=LIVE_ORDER_STATES)


class OrderViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[DispatchOrder]):
    """派警单: the inbox of the caller's area, newest first, and the actions on one order.

    Reading never changes an order: the station's inbox calls `deliver/` when it shows an order to a person
    (the system's proof of arrival on the station's screen); signing an order that was never reported
    delivered stamps both times.
    """

    serializer_class = OrderSerializer
    filterset_class = OrderFilter

    def get_queryset(self) -> QuerySet[DispatchOrder]:
        return selectors.visible_orders(self.request.user).select_related(
            "incident__category", "org", "unit", "dispatcher__person", "signed_by__person"
        )

    def get_serializer_class(self) -> Any:
        return {
            "deliver": NoBodySerializer,
            "sign": NoBodySerializer,
            "arrive": NoBodySerializer,
            "done": OrderDoneSerializer,
            "return_": OrderReturnSerializer,
            "cancel": OrderCancelSerializer,
            "reassign": OrderReassignSerializer,
        }.get(self.action, OrderSerializer)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        qs = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(qs)
        rows = list(page if page is not None else qs)
        context = {**self.get_serializer_context(), "overdue": clocks.overdue(DispatchOrder, [o.pk for o in rows])}
        data = OrderSerializer(rows, many=True, context=context).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    def _input(self, request: Request) -> dict[str, Any]:
        s = self.get_serializer(data=request.data)
        s.is_valid(raise_exception=True)
        return dict(s.validated_data)

    def _answer(self, order: DispatchOrder) -> Response:
        return Response(
            OrderSerializer(self.get_queryset().get(pk=order.pk), context=self.get_serializer_context()).data
        )

    @extend_schema(request=NoBodySerializer, responses=OrderSerializer)
    @action(detail=True, methods=["post"])
    def deliver(self, request: Request, pk: str) -> Response:
        """The station's screen shows the order (sent → delivered)."""
        order = self.get_object()
        self._input(request)
        return self._answer(services.order_deliver(order_id=order.pk, actor=request.user))

    @extend_schema(request=NoBodySerializer, responses=OrderSerializer)
    @action(detail=True, methods=["post"])
    def sign(self, request: Request, pk: str) -> Response:
        """签收 by the calling station officer (within 30 s)."""
        order = self.get_object()
        self._input(request)
        return self._answer(services.order_sign(order_id=order.pk, actor=request.user))

    @extend_schema(request=NoBodySerializer, responses=OrderSerializer)
    @action(detail=True, methods=["post"])
    def arrive(self, request: Request, pk: str) -> Response:
        """到达现场 (the station, or the command center on the unit's behalf)."""
        order = self.get_object()
        self._input(request)
        return self._answer(services.order_arrive(order_id=order.pk, actor=request.user))

    @extend_schema(request=OrderDoneSerializer, responses=OrderSerializer)
    @action(detail=True, methods=["post"])
    def done(self, request: Request, pk: str) -> Response:
        """The unit reports back that its part is finished; the unit is free again."""
        order = self.get_object()
        v = self._input(request)
        return self._answer(services.order_done(order_id=order.pk, actor=request.user, note=v["note"]))

    @extend_schema(request=OrderReturnSerializer, responses=OrderSerializer)
    @action(detail=True, methods=["post"], url_path="return", url_name="return")
    def return_(self, request: Request, pk: str) -> Response:
        """退单, with a reason, before signing."""
        order = self.get_object()
        v = self._input(request)
        return self._answer(services.order_return(order_id=order.pk, actor=request.user, reason=v["reason"]))

    @extend_schema(request=OrderCancelSerializer, responses=OrderSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        """The command center calls the order off (until the unit is on scene)."""
        order = self.get_object()
        v = self._input(request)
        return self._answer(services.order_cancel(order_id=order.pk, actor=request.user, reason=v["reason"]))

    @extend_schema(request=OrderReassignSerializer, responses={201: OrderSerializer})
    @action(detail=True, methods=["post"])
    def reassign(self, request: Request, pk: str) -> Response:
        """改派: calls this order off with the reason and sends the incident to another unit or station; answers
        the new order (its `replaces` is this one)."""
        order = self.get_object()
        v = self._input(request)
        new = services.order_reassign(
            order_id=order.pk, actor=request.user, reason=v["reason"], unit_id=v.get("unit"), org_id=v.get("org")
        )
        return Response(self._answer(new).data, status=status.HTTP_201_CREATED)


# --- On an incident: recommendations and dispatch ---------------------------------------------------------


class RecommendedUnitSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    call_sign = serializers.CharField()
    kind = serializers.ChoiceField(choices=Unit.Kind.choices)
    org = serializers.IntegerField()
    org_name = serializers.CharField()
    ring_minutes = serializers.IntegerField()
    capabilities = serializers.ListField(child=serializers.CharField())
    status = serializers.CharField()
    lat = serializers.FloatField()
    lon = serializers.FloatField()
    position_at = serializers.DateTimeField(allow_null=True)
    version = serializers.IntegerField()


class RecommendationSerializer(serializers.Serializer[Any]):
    unit = RecommendedUnitSerializer()
    distance_m = serializers.IntegerField(
        allow_null=True, help_text="Great-circle distance in metres; null when the incident has no position."
    )
    eta_s = serializers.IntegerField(
        allow_null=True, help_text="Estimated travel time: turnout + distance × 1.3 / speed of the kind."
    )
    within_ring = serializers.BooleanField(help_text="The estimate is inside the unit's quick-response ring.")
    stale = serializers.BooleanField(help_text="The position is more than 10 minutes old.")
    no_position = serializers.BooleanField(
        help_text="The incident has no position: a unit of its owning station, not ranked by distance."
    )


class OriginSerializer(serializers.Serializer[Any]):
    lat = serializers.FloatField()
    lon = serializers.FloatField()
    source = serializers.CharField(help_text="incident: its own position; org: its org's (it has none).")  # type: ignore[assignment]


class RecommendationsSerializer(serializers.Serializer[Any]):
    incident = serializers.IntegerField()
    category = serializers.CharField()
    origin = OriginSerializer(allow_null=True)
    results = RecommendationSerializer(many=True)


class IncidentRecommendationsView(generics.GenericAPIView[Any]):
    """The nearest available units that may take the incident's category, within the caller's area:
    distance, travel-time estimate, whether it is inside the unit's ring. Around the incident's position,
    or its org's when it has none (`origin.source`)."""

    serializer_class = RecommendationsSerializer
    pagination_class = None

    @extend_schema(
        parameters=[OpenApiParameter("limit", int, description=f"1–{selectors.MAX_LIMIT}, default 10")],
        responses=RecommendationsSerializer,
    )
    def get(self, request: Request, pk: int) -> Response:
        incident = get_object_or_404(incident_selectors.visible_incidents(request.user).select_related("org"), pk=pk)
        raw = request.query_params.get("limit", "10")
        try:
            limit = int(raw)
            if not 1 <= limit <= selectors.MAX_LIMIT:
                raise ValueError
        except ValueError:
            return Response(
                {"limit": [_("Give a whole number from 1 to %(n)d.") % {"n": selectors.MAX_LIMIT}]},
                status=status.HTTP_400_BAD_REQUEST,
            )
        origin, recs = selectors.recommend_for_incident(request.user, incident, limit=limit)
        data = {
            "incident": incident.pk,
            "category": incident.category_id,
            "origin": asdict(origin) if origin else None,
            "results": [r.as_dict() for r in recs],
        }
        return Response(RecommendationsSerializer(data).data)


class DispatchSerializer(StrictSerializer):
    unit = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    org = serializers.IntegerField(min_value=1, required=False, allow_null=True, help_text="A station.")
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        has_unit, has_org = attrs.get("unit") is not None, attrs.get("org") is not None
        if has_unit and has_org:
            msg = _("Give a unit or an organisation, not both.")
            raise serializers.ValidationError({"unit": [msg], "org": [msg]})
        if not has_unit and not has_org:
            msg = _("Give a unit or an organisation.")
            raise serializers.ValidationError({"unit": [msg], "org": [msg]})
        return attrs


class IncidentDispatchView(generics.GenericAPIView[Any]):
    """派警: send an order for the incident to a unit (`{"unit": id}`, addressed to its station) or to a
    station (`{"org": id}`). The first order makes the incident dispatched; later ones are reinforcements."""

    serializer_class = DispatchSerializer

    @extend_schema(request=DispatchSerializer, responses={201: OrderSerializer})
    def post(self, request: Request, pk: int) -> Response:
        incident = get_object_or_404(incident_selectors.visible_incidents(request.user), pk=pk)
        s = DispatchSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        v = s.validated_data
        order = services.order_dispatch(
            incident_id=incident.pk, actor=request.user, unit_id=v.get("unit"), org_id=v.get("org"), note=v["note"]
        )
        order = DispatchOrder.objects.select_related(
            "incident__category", "org", "unit", "dispatcher__person", "signed_by__person"
        ).get(pk=order.pk)
        return Response(OrderSerializer(order).data, status=status.HTTP_201_CREATED)


# --- Shifts ---------------------------------------------------------------------------------------------


class ShiftSerializer(serializers.ModelSerializer[Shift]):
    person = serializers.SerializerMethodField()
    org_name = serializers.CharField(source="org.name", read_only=True)
    unit_call_sign = serializers.CharField(source="unit.call_sign", read_only=True, allow_null=True, default=None)

    class Meta:
        model = Shift
        fields = [
            "id",
            "person",
            "org",
            "org_name",
            "unit",
            "unit_call_sign",
            "starts_at",
            "ends_at",
            "is_commander",
            "note",
        ]

    def get_person(self, obj: Shift) -> dict[str, Any]:
        """Who, as colleagues know them: never a phone number."""
        p = obj.person
        return {"id": p.pk, "name": str(p), "badge_no": p.badge_no, "username": p.user.get_username()}


class ShiftFilter(django_filters.FilterSet):
    org = django_filters.NumberFilter(method="filter_org", label="org id (its subtree)")
    at = django_filters.IsoDateTimeFilter(method="filter_at", label="running at this time")
    is_commander = django_filters.BooleanFilter()
    person = django_filters.NumberFilter(field_name="person_id")
    unit = django_filters.NumberFilter(field_name="unit_id")

    class Meta:
        model = Shift
        fields = ["org", "is_commander", "person", "unit"]

    def filter_org(self, qs: QuerySet[Shift], name: str, value: int) -> QuerySet[Shift]:
        return _subtree(qs, value)

    def filter_at(self, qs: QuerySet[Shift], name: str, value: Any) -> QuerySet[Shift]:
        return qs.filter(starts_at__lte=value, ends_at__gt=value)


class CurrentDutySerializer(serializers.Serializer[Any]):
    at = serializers.DateTimeField()
    org = OrgBriefSerializer()
    command_center = OrgBriefSerializer()
    commander = ShiftSerializer(allow_null=True)
    on_duty = ShiftSerializer(many=True)


class ShiftViewSet(mixins.ListModelMixin, viewsets.GenericViewSet[Shift]):
    """勤务: the roster of the caller's area."""

    serializer_class = ShiftSerializer
    filterset_class = ShiftFilter

    def get_queryset(self) -> QuerySet[Shift]:
        return selectors.visible_shifts(self.request.user).select_related("person__user", "org", "unit")

    @extend_schema(
        parameters=[
            OpenApiParameter("org", int, description="An org in your area (default: your own)."),
            OpenApiParameter("subtree", bool, description="Include the orgs below it."),
        ],
        responses=CurrentDutySerializer,
        filters=False,
    )
    @action(detail=False, methods=["get"], filter_backends=[], pagination_class=None)
    def current(self, request: Request) -> Response:
        """Who is on duty now at an org (yours by default), and the commander of the day of its command
        center — shown to everyone below that center, so a station knows whom to call."""
        person = orgs.person_of(request.user)
        raw = request.query_params.get("org")
        if raw:
            org = orgs.visible_orgs(request.user).filter(pk=int(raw) if raw.isdigit() else 0).first()
            if org is None:
                return Response({"org": [_("No such organisation in your area.")]}, status=status.HTTP_400_BAD_REQUEST)
        elif person is not None:
            org = person.org
        else:
            return Response({"org": [_("Name an organisation.")]}, status=status.HTTP_400_BAD_REQUEST)
        subtree = request.query_params.get("subtree", "").lower() in ("1", "true", "yes")
        now = timezone.now()
        center = incident_selectors.command_center_of(org)
        data = {
            "at": now,
            "org": org,
            "command_center": center,
            "commander": selectors.commander_of_day(org, at=now),
            "on_duty": list(selectors.on_duty(org, at=now, subtree=subtree)),
        }
        return Response(CurrentDutySerializer(data).data)
