"""Incidents API: intake, lists with filters, detail with timeline, actions, repeat hints, export,
and the partner's diversion inbox. Views check scope (404 outside it) and call services."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import django_filters
from django.conf import settings
from django.db import models
from django.db.models import Prefetch, Q, QuerySet
from django.http import HttpResponse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from command_center import clocks, codes, exports, orgs, realtime, words
from command_center.errors import Refused
from command_center.inputs import WindowDateTimeField
from command_center.models import Category, HandlingResult, Org, Role
from command_center.serializers import StrictSerializer, datetime_text
from places import selectors as places_selectors

from . import payloads, phones, selectors, services
from .models import (
    Callback,
    Correction,
    Diversion,
    DiversionRule,
    Feedback,
    HandlingGuide,
    Incident,
    LinkType,
    PartnerWebhook,
    Satisfaction,
    Source,
    State,
)
from .selectors import mask_phone, sees_phones
from .transitions import DIVERSION, DIVERSION_EVENT_LABELS, EVENT_LABELS, INCIDENT, allowed_events


# A field's longest text is its column's: the serializer refuses what the model could not store whole.
def _max(name: str) -> int:
    field = Incident._meta.get_field(name)
    assert isinstance(field, models.CharField)
    return int(field.max_length or 0)


ADDRESS_MAX = _max("address")

# The narrative is a TextField (no column limit); a call's account past this is a paste gone wrong.
NARRATIVE_MAX = 20000


class CategoryField(serializers.SlugRelatedField[Category]):
    def __init__(self, **kwargs: Any):
        super().__init__(slug_field="code", queryset=Category.objects.filter(active=True), **kwargs)

    default_error_messages = {
        "does_not_exist": _("Unknown category code {value}."),
        "invalid": _("Invalid category code."),
    }

    def to_internal_value(self, data: Any) -> Category:
        # The code table from memory (codes.active_categories), not a query per request.
        if isinstance(data, bool) or not isinstance(data, str | int):
            self.fail("invalid")
        category = codes.active_categories().get(str(data))
        if category is None:
            self.fail("does_not_exist", value=data)
        return category


class IntakeSerializer(StrictSerializer):
    """接警. Each field is labelled as the intake page labels it, so a message that names its field names it as
    the call-taker reads it; a 400 keys its messages by field name, which the page maps to its labels. Text
    longer than the model's column is refused (400), never cut to fit."""

    call_id = serializers.CharField(max_length=_max("call_id"), label=_l("Call id"))
    source = serializers.ChoiceField(choices=Source.choices, default=Source.PHONE_110, label=_l("Source"))  # type: ignore[assignment]
    caller_phone = serializers.CharField(
        max_length=_max("caller_phone"),
        required=False,
        allow_blank=True,
        default="",
        label=_l("Caller phone"),
        help_text="A mobile, a landline with its area code or a service number; or 无号码 / 号码不详 said outright.",
    )
    caller_name = serializers.CharField(
        max_length=_max("caller_name"), required=False, allow_blank=True, default="", label=_l("Caller name")
    )
    caller_lat = serializers.FloatField(
        min_value=-90, max_value=90, required=False, allow_null=True, label=_l("Caller latitude")
    )
    caller_lon = serializers.FloatField(
        min_value=-180, max_value=180, required=False, allow_null=True, label=_l("Caller longitude")
    )
    address = serializers.CharField(max_length=_max("address"), label=_l("Address"))
    lat = serializers.FloatField(min_value=-90, max_value=90, required=False, allow_null=True, label=_l("Latitude"))
    lon = serializers.FloatField(min_value=-180, max_value=180, required=False, allow_null=True, label=_l("Longitude"))
    category = CategoryField(label=_l("Category"))
    level = serializers.IntegerField(min_value=1, max_value=4, default=3, label=_l("Incident level"))
    narrative = serializers.CharField(
        max_length=NARRATIVE_MAX,
        required=False,
        allow_blank=True,
        default="",
        trim_whitespace=False,
        label=_l("Narrative"),
    )
    org = serializers.PrimaryKeyRelatedField(
        queryset=Org.objects.all(), required=False, allow_null=True, label=_l("Responsible org")
    )
    reported_at = WindowDateTimeField(required=False, allow_null=True, label=_l("Reported at"))
    answered_at = WindowDateTimeField(required=False, allow_null=True, label=_l("Answered at"))
    repeat_of = serializers.PrimaryKeyRelatedField(
        queryset=Incident.objects.all(), required=False, allow_null=True, label=_l("Same event as")
    )
    link_type = serializers.ChoiceField(choices=LinkType.choices, default=LinkType.REPEAT, label=_l("Link type"))

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        """A shallow copy of each declared field, where DRF deep-copies them: its deepcopy builds every field
        anew from its arguments (0.7 ms of each intake's CPU). The fields are flat and none keeps state of a
        request but what `bind` sets on its copy (and `repeat_of`'s queryset, below, replaced on the copy)."""
        return {name: copy.copy(field) for name, field in self._declared_fields.items()}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        data: Any = getattr(self, "initial_data", None)
        if request is not None and hasattr(data, "get") and data.get("repeat_of") not in (None, ""):
            # Another area's incident reads as one that does not exist (not "outside your area": an oracle).
            # Only when one is named: most calls link nothing, and intake is the hot path.
            self.fields["repeat_of"].queryset = selectors.visible_incidents(request.user)  # type: ignore[attr-defined]

    def validate_caller_phone(self, value: str) -> str:
        if phones.phone_kind(value) is None:
            raise serializers.ValidationError(phones.phone_error())
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return check_position(attrs)


def check_position(attrs: dict[str, Any]) -> dict[str, Any]:
    """Latitude and longitude come together, and inside the region this command center answers for."""
    if (attrs.get("lat") is None) != (attrs.get("lon") is None):
        raise serializers.ValidationError(
            {"lon" if attrs.get("lat") is not None else "lat": [_("Give both latitude and longitude.")]}
        )
    lat, lon = attrs.get("lat"), attrs.get("lon")
    if lat is not None and lon is not None and not places_selectors.in_region(lat, lon):
        msg = _(
            "This point lies outside the region this command center answers for; "
            "check the coordinates (latitude and longitude swapped?)."
        )
        raise serializers.ValidationError({"lat": [msg], "lon": [msg]})
    return attrs


class CorrectSerializer(StrictSerializer):
    """更正 / 重新定性: the fields to change (any of them; a position is both coordinates, or both null to
    clear it) and why. Labelled as the detail page labels them; over-long text is refused, never cut."""

    category = CategoryField(required=False, label=_l("Category"))
    level = serializers.IntegerField(min_value=1, max_value=4, required=False, label=_l("Incident level"))
    address = serializers.CharField(max_length=ADDRESS_MAX, required=False, label=_l("Address"))
    lat = serializers.FloatField(min_value=-90, max_value=90, required=False, allow_null=True, label=_l("Latitude"))
    lon = serializers.FloatField(min_value=-180, max_value=180, required=False, allow_null=True, label=_l("Longitude"))
    narrative = serializers.CharField(
        max_length=NARRATIVE_MAX, required=False, allow_blank=True, trim_whitespace=False, label=_l("Narrative")
    )
    reason = serializers.CharField(max_length=200, label=_l("Reason for the correction"))

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("lat" in attrs) != ("lon" in attrs):
            missing = "lon" if "lat" in attrs else "lat"
            raise serializers.ValidationError({missing: [_("Give both latitude and longitude.")]})
        return check_position(attrs)


class IncidentSerializer(serializers.ModelSerializer[Incident]):
    state_code = serializers.CharField(read_only=True)
    category_name = serializers.CharField(source="category.local_name", read_only=True)
    org_name = serializers.CharField(source="org.name", read_only=True)
    allowed = serializers.SerializerMethodField()

    class Meta:
        model = Incident
        fields = [
            "id", "number", "source", "call_id", "caller_phone", "caller_name", "caller_lat", "caller_lon",
            "address", "lat", "lon", "category", "category_name", "first_category", "level", "narrative",
            "org", "org_name", "intake_org", "state", "state_code", "allowed", "version", "merged_into",
            "needs_rectification", "reported_at", "answered_at", "intake_done_at", "dispatched_at", "signed_at",
            "arrived_at", "scene_cleared_at", "closed_at",
        ]  # fmt: skip

    def get_allowed(self, obj: Incident) -> list[str]:
        return allowed_events(INCIDENT, obj.state)

    def to_representation(self, instance: Incident) -> dict[str, Any]:
        """The fields of Meta.fields, written out: DRF builds a ModelSerializer's fields anew for every
        instance, which cost more than the rest of an intake. tests/incidents/test_api_shape.py holds this
        to DRF's own rendering of the same fields."""
        i = instance
        data: dict[str, Any] = {
            "id": i.pk, "number": i.number, "source": i.source, "call_id": i.call_id,
            "caller_phone": i.caller_phone, "caller_name": i.caller_name,
            "caller_lat": _float(i.caller_lat), "caller_lon": _float(i.caller_lon), "address": i.address,
            "lat": _float(i.lat), "lon": _float(i.lon), "category": i.category_id,
            "category_name": i.category.local_name, "first_category": i.first_category_id, "level": i.level,
            "narrative": i.narrative, "org": i.org_id, "org_name": i.org.name, "intake_org": i.intake_org_id,
            "state": i.state, "state_code": i.state_code, "allowed": self.get_allowed(i), "version": i.version,
            "merged_into": i.merged_into_id, "needs_rectification": i.needs_rectification,
            "reported_at": datetime_text(i.reported_at), "answered_at": datetime_text(i.answered_at),
            "intake_done_at": datetime_text(i.intake_done_at), "dispatched_at": datetime_text(i.dispatched_at),
            "signed_at": datetime_text(i.signed_at), "arrived_at": datetime_text(i.arrived_at),
            "scene_cleared_at": datetime_text(i.scene_cleared_at), "closed_at": datetime_text(i.closed_at),
        }  # fmt: skip
        request = self.context.get("request")
        # Masked unless the reader may see it: a serializer given no reader shows no number in full.
        if data["caller_phone"] and (request is None or not sees_phones(request.user)):
            data["caller_phone"] = mask_phone(data["caller_phone"])
        return data


def _float(value: float | None) -> float | None:
    return None if value is None else float(value)


class FeedbackSerializer(StrictSerializer):
    text = serializers.CharField(max_length=20000)
    result = serializers.SlugRelatedField(slug_field="code", queryset=HandlingResult.objects.filter(active=True))
    rescued = serializers.IntegerField(min_value=0, default=0)
    injured = serializers.IntegerField(min_value=0, default=0)
    dead = serializers.IntegerField(min_value=0, default=0)
    detained = serializers.IntegerField(min_value=0, default=0)
    arrived_at = WindowDateTimeField(required=False, allow_null=True)
    cleared_at = WindowDateTimeField(required=False, allow_null=True)
    handover_to = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    handover_answer = serializers.CharField(required=False, allow_blank=True, default="")
    # The handling guide's checklist (处置指引): the version shown (GET /api/guides/match/) and the numbers
    # of the items ticked; required items left unticked need `unticked_reason` (else 400 naming them).
    guide = serializers.PrimaryKeyRelatedField(queryset=HandlingGuide.objects.all(), required=False, allow_null=True)
    ticked = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False, max_length=100)
    unticked_reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class FeedbackReadSerializer(serializers.ModelSerializer[Feedback]):
    checklist = serializers.SerializerMethodField()

    def get_checklist(self, f: Feedback) -> dict[str, Any] | None:
        return payloads.checklist_payload(f)

    class Meta:
        model = Feedback
        fields = [
            "id",
            "text",
            "result",
            "rescued",
            "injured",
            "dead",
            "detained",
            "arrived_at",
            "cleared_at",
            "handover_to",
            "handover_answer",
            "author",
            "org",
            "created_at",
            "checklist",
        ]


class CallbackSerializer(StrictSerializer):
    channel = serializers.ChoiceField(choices=Callback.Channel.choices)
    satisfaction = serializers.ChoiceField(choices=Satisfaction.choices)
    text = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


class ReasonSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class DivertSerializer(StrictSerializer):
    """`partner`: a partner agency or a community/village (selectors.is_diversion_target). `rule`: the
    auto-diversion rule proposed at intake, when the desk confirms it (it counts as a confirmation)."""

    partner = serializers.PrimaryKeyRelatedField(
        queryset=Org.objects.filter(Q(kind=Org.Kind.PARTNER) | Q(level=Org.Level.COMMUNITY))
    )
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    rule = serializers.PrimaryKeyRelatedField(queryset=DiversionRule.objects.all(), required=False, allow_null=True)


class MergeSerializer(StrictSerializer):
    """The master: by id (`into`) or by the number a person reads (`into_number`), exactly one."""

    into = serializers.IntegerField(required=False, label=_l("Merge into"))
    into_number = serializers.CharField(max_length=_max("number"), required=False, label=_l("Merge into (number)"))

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("into" in attrs) == ("into_number" in attrs):
            raise serializers.ValidationError({"into": [_("Give the incident to merge into.")]})
        return attrs


class LinkSerializer(StrictSerializer):
    master = serializers.IntegerField()
    link_type = serializers.ChoiceField(choices=LinkType.choices)
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class DiversionSerializer(serializers.ModelSerializer[Diversion]):
    incident = serializers.SerializerMethodField()
    partner_name = serializers.CharField(source="partner.name", read_only=True)
    clocks = serializers.SerializerMethodField()
    allowed = serializers.SerializerMethodField()

    class Meta:
        model = Diversion
        fields = [
            "id",
            "incident",
            "partner",
            "state",
            "note",
            "return_reason",
            "result",
            "pushed_at",
            "accepted_at",
            "finished_at",
            "version",
            "partner_name",
            "clocks",
            "allowed",
        ]

    def get_clocks(self, d: Diversion) -> list[dict[str, Any]]:
        """Its accept and finish clocks (payloads.diversion_clock): read for the whole page when the view
        put them in the context (`clocks`), else for this one."""
        page = self.context.get("clocks")
        if page is not None:
            return list(page.get(d.pk, []))
        return payloads.diversion_clocks([d.pk]).get(d.pk, [])

    def get_allowed(self, d: Diversion) -> list[str]:
        return allowed_events(DIVERSION, d.state)

    def get_incident(self, d: Diversion) -> dict[str, Any]:
        i = d.incident
        return {
            "id": i.pk,
            "number": i.number,
            "address": i.address,
            "category": i.category_id,
            "category_name": i.category.local_name,
            "narrative": i.narrative,
            "reported_at": i.reported_at,
        }


class PartnerIncidentSerializer(serializers.Serializer[Incident]):
    """What a partner agency reads of an incident diverted to it: what its diversion needs to act (the
    number, category, place and narrative) and its own diversion — not the caller, not the police's orders,
    feedback or timeline, not other partners' diversions. Read-only; see selectors.visible_incidents for
    when it may read at all (not after it sent the diversion back)."""

    id = serializers.IntegerField()
    number = serializers.CharField()
    category = serializers.CharField(source="category_id")
    category_name = serializers.CharField(source="category.local_name")
    level = serializers.IntegerField()
    address = serializers.CharField()
    lat = serializers.FloatField(allow_null=True)
    lon = serializers.FloatField(allow_null=True)
    narrative = serializers.CharField()
    reported_at = serializers.DateTimeField()
    diversion = serializers.SerializerMethodField()

    def get_diversion(self, i: Incident) -> dict[str, Any] | None:
        """The reader's own diversion of this incident (the newest it may read)."""
        mine = getattr(i, "partner_diversions", None)
        if mine is None:
            request = self.context["request"]
            person = orgs.person_of(request.user)
            mine = list(
                i.diversions.filter(partner_id=getattr(person, "org_id", None), state__in=selectors.PARTNER_READS)
            )
        if not mine:
            return None
        d = max(mine, key=lambda x: x.pk)
        return {
            "id": d.pk,
            "state": d.state,
            "note": d.note,
            "result": d.result,
            "pushed_at": datetime_text(d.pushed_at),
            "accepted_at": datetime_text(d.accepted_at),
            "finished_at": datetime_text(d.finished_at),
            "version": d.version,
        }


class IncidentFilter(django_filters.FilterSet):
    state = django_filters.MultipleChoiceFilter(choices=State.choices)
    category = django_filters.CharFilter(method="filter_category", label="category code prefix")
    level = django_filters.NumberFilter()
    org = django_filters.NumberFilter(method="filter_org", label="org id (its subtree)")
    reported_after = django_filters.IsoDateTimeFilter(field_name="reported_at", lookup_expr="gte")
    reported_before = django_filters.IsoDateTimeFilter(field_name="reported_at", lookup_expr="lt")
    overdue = django_filters.BooleanFilter(method="filter_overdue", label="has a breached clock not yet met")
    repeat = django_filters.BooleanFilter(method="filter_repeat", label="linked as a repeat or on the ledger")
    q = django_filters.CharFilter(method="filter_q", label="number, address or narrative contains")

    class Meta:
        model = Incident
        fields = ["state", "category", "level", "org", "source"]

    def filter_category(self, qs: QuerySet[Incident], name: str, value: str) -> QuerySet[Incident]:
        return qs.filter(category__code__startswith=value.rstrip("0") or value)

    def filter_org(self, qs: QuerySet[Incident], name: str, value: int) -> QuerySet[Incident]:
        org = Org.objects.filter(pk=value).first()
        return qs.filter(org__path__startswith=org.path) if org else qs.none()

    def filter_overdue(self, qs: QuerySet[Incident], name: str, value: bool) -> QuerySet[Incident]:
        late = clocks.overdue_ids(Incident)
        return qs.filter(pk__in=late) if value else qs.exclude(pk__in=late)

    def filter_repeat(self, qs: QuerySet[Incident], name: str, value: bool) -> QuerySet[Incident]:
        cond = Q(links__isnull=False) | Q(linked__isnull=False) | Q(clusters__isnull=False)
        return qs.filter(cond).distinct() if value else qs.exclude(cond)

    def filter_q(self, qs: QuerySet[Incident], name: str, value: str) -> QuerySet[Incident]:
        return qs.filter(Q(number__startswith=value) | Q(address__icontains=value) | Q(narrative__icontains=value))


def _label(choices: Any, value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def timeline(i: Incident, user: Any = None) -> list[dict[str, Any]]:
    """Everything that happened to the incident, oldest first, in words: who (`actor`, `actor_org`: the
    person's name and org, words.who) did what (`event_label`), and the state it led to (`to_label`). With
    `user`, the apps above add their own steps (words.provide_timeline: the dispatch orders')."""
    items: list[dict[str, Any]] = []
    for t in i.transitions.select_related("actor__person__org"):
        items.append(
            {
                "type": "transition",
                "at": t.at,
                "from": t.from_state,
                "to": t.to_state,
                "to_label": _label(State, t.to_state),
                "event": t.event,
                "event_label": words.event_label(EVENT_LABELS, t.event),
                **words.who(t.actor),
                "reason": t.reason,
            }
        )
    for f in i.feedback.select_related("result", "author__person__org", "guide"):
        items.append(
            {
                "type": "feedback",
                "at": f.created_at,
                "id": f.pk,
                "result": f.result_id,
                "result_name": f.result.local_name,
                "text": f.text,
                "checklist": payloads.checklist_payload(f),
                **words.who(f.author),
            }
        )
    cb = Callback.objects.filter(incident=i).select_related("by__person__org").first()
    if cb:
        items.append(
            {
                "type": "callback",
                "at": cb.at,
                "channel": cb.channel,
                "satisfaction": cb.satisfaction,
                "satisfaction_label": _label(Satisfaction, cb.satisfaction),
                "text": cb.text,
                **words.who(cb.by),
            }
        )
    for link in i.links.select_related("master"):
        items.append(
            {
                "type": "link",
                "at": link.created_at,
                "master": link.master_id,
                "master_number": link.master.number,
                "link_type": link.link_type,
                "link_type_label": _label(LinkType, link.link_type),
                "reason": link.reason,
            }
        )
    for d in i.diversions.select_related("partner"):
        for dt in d.transitions.select_related("actor__person__org"):
            items.append(
                {
                    "type": "diversion",
                    "at": dt.at,
                    "diversion": d.pk,
                    "partner": d.partner.name,
                    "from": dt.from_state,
                    "to": dt.to_state,
                    "to_label": _label(Diversion.State, dt.to_state),
                    "event": dt.event,
                    "event_label": words.event_label(DIVERSION_EVENT_LABELS, dt.event),
                    **words.who(dt.actor),
                    "reason": dt.reason,
                }
            )
    for c in i.corrections.select_related("by__person__org"):
        items.append(
            {
                "type": "correction",
                "at": c.at,
                "field": c.field,
                "field_label": _label(Correction.Field, c.field),
                "old": c.old,
                "new": c.new,
                "old_label": _correction_words(c.field, c.old),
                "new_label": _correction_words(c.field, c.new),
                **words.who(c.by),
                "reason": c.reason,
            }
        )
    if user is not None:
        items += words.collect_timeline("incidents.incident", i.pk, user)
    return sorted(items, key=lambda x: x["at"])


def _correction_words(field: str, value: str) -> str:
    """A corrected value as a person reads it: a category's code and name, an org's name."""
    if not value:
        return "∅"
    if field == Correction.Field.CATEGORY:
        c = codes.active_categories().get(value) or Category.objects.filter(pk=value).first()
        return f"{value} {c.local_name}" if c else value
    if field == Correction.Field.ORG:
        org = Org.objects.filter(pk=value).first()
        return org.name if org else value
    return value


def export_columns(*, show_phone: bool, partner: bool = False) -> list[tuple[str, Callable[[Incident], Any]]]:
    """The export's columns, headed in the active language: what people read (a state's label, a category's
    name) and, in columns of their own, the codes a machine reads (the state and the category code). A
    partner's export has what its diversions need (PartnerIncidentSerializer): no caller, org or police times."""
    if partner:
        return [
            (_("Number"), lambda i: i.number),
            (_("Category code"), lambda i: i.category_id),
            (_("Category"), lambda i: codes.local_name(i.category)),
            (_("Address"), lambda i: i.address),
            (_("Narrative"), lambda i: i.narrative),
            (capfirst(_("reported at")), lambda i: i.reported_at),
        ]

    def phone(i: Incident) -> str:
        if not i.caller_phone:
            return ""
        return i.caller_phone if show_phone else mask_phone(i.caller_phone)

    return [
        (_("Number"), lambda i: i.number),
        (_("State"), lambda i: i.get_state_display()),
        (_("State code"), lambda i: i.state),
        (_("Category code"), lambda i: i.category_id),
        (_("Category"), lambda i: codes.local_name(i.category)),
        (_("Incident level"), lambda i: i.level),
        (_("Address"), lambda i: i.address),
        (_("Caller"), lambda i: i.caller_name),
        (_("Phone"), phone),
        (_("Responsible org"), lambda i: i.org.name),
        (capfirst(_("reported at")), lambda i: i.reported_at),
        (capfirst(_("dispatched at")), lambda i: i.dispatched_at),
        (capfirst(_("arrived at")), lambda i: i.arrived_at),
        (capfirst(_("closed at")), lambda i: i.closed_at),
    ]


class IncidentViewSet(
    mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Incident]
):
    """警情. Create is idempotent on (source, call_id): a retry answers 200 with the stored incident."""

    serializer_class = IncidentSerializer
    filterset_class = IncidentFilter

    def get_queryset(self) -> QuerySet[Incident]:
        qs = selectors.visible_incidents(self.request.user).select_related("category", "org")
        if self.partner_view:
            person = orgs.person_of(self.request.user)
            mine = Diversion.objects.filter(
                partner_id=getattr(person, "org_id", None), state__in=selectors.PARTNER_READS
            )
            qs = qs.prefetch_related(Prefetch("diversions", queryset=mine, to_attr="partner_diversions"))
        return qs

    @cached_property
    def partner_view(self) -> bool:
        """A partner agency reads the incidents diverted to it in the partner's shape (list and detail)."""
        return selectors.reads_as_partner(self.request.user)

    def get_serializer_class(self) -> Any:
        return {
            "create": IntakeSerializer,
            "feedback": FeedbackSerializer,
            "callback": CallbackSerializer,
            "self_handle": ReasonSerializer,
            "invalidate": ReasonSerializer,
            "close": ReasonSerializer,
            "clear_scene": ReasonSerializer,
            "divert": DivertSerializer,
            "merge": MergeSerializer,
            "link": LinkSerializer,
            "correct": CorrectSerializer,
        }.get(self.action, IncidentSerializer)

    def _input(self, request: Request) -> dict[str, Any]:
        s = self.get_serializer(data=request.data)
        s.is_valid(raise_exception=True)
        return dict(s.validated_data)

    def _answer(self, incident: Incident, code: int = status.HTTP_200_OK) -> Response:
        if self.action != "create":  # an action: read back what the service committed, in scope
            incident = self.get_queryset().get(pk=incident.pk)
        return Response(IncidentSerializer(incident, context={"request": self.request}).data, status=code)

    @extend_schema(request=IntakeSerializer, responses={201: IncidentSerializer, 200: IncidentSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        v = self._input(request)
        fields = {k: v[k] for k in services.IntakeData.__dataclass_fields__ if k in v}
        data = services.IntakeData(**fields)
        incident, created = services.incident_intake(actor=request.user, data=data)
        response = self._answer(incident, status.HTTP_201_CREATED if created else status.HTTP_200_OK)
        response.data["proposal"] = _proposal(request.user, incident)
        return response

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if not self.partner_view:
            return super().list(request, *args, **kwargs)
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        assert page is not None  # the API always paginates
        rows = PartnerIncidentSerializer(page, many=True, context={"request": request}).data  # type: ignore[arg-type]
        return self.get_paginated_response(rows)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        incident = self.get_object()
        if self.partner_view:
            return Response(PartnerIncidentSerializer(incident, context={"request": request}).data)
        data = IncidentSerializer(incident, context={"request": request}).data
        data["timeline"] = timeline(incident, request.user)
        data["feedback"] = FeedbackReadSerializer(incident.feedback.select_related("guide"), many=True).data
        data["hints"] = [h.as_dict() for h in selectors.hints_for(request.user, incident)]
        data["proposal"] = _proposal(request.user, incident)
        return Response(data)

    @action(detail=True, methods=["post"], url_path="self-handle")
    def self_handle(self, request: Request, pk: str) -> Response:
        v = self._input(request)
        return self._answer(
            services.incident_self_handle(incident_id=self.get_object().pk, actor=request.user, reason=v["reason"])
        )

    @action(detail=True, methods=["post"])
    def divert(self, request: Request, pk: str) -> Response:
        v = self._input(request)
        d = services.incident_divert(
            incident_id=self.get_object().pk,
            actor=request.user,
            partner=v["partner"],
            note=v["note"],
            rule=v.get("rule"),
        )
        return self._answer(d.incident)

    @action(detail=True, methods=["post"])
    def invalidate(self, request: Request, pk: str) -> Response:
        v = self._input(request)
        return self._answer(
            services.incident_invalidate(incident_id=self.get_object().pk, actor=request.user, reason=v["reason"])
        )

    @action(detail=True, methods=["post"])
    def merge(self, request: Request, pk: str) -> Response:
        v = self._input(request)
        into = v.get("into")
        if into is None:
            # By number, in the reader's area (another area's number reads as no such incident).
            found = selectors.visible_incidents(request.user).filter(number=v["into_number"].strip()).first()
            if found is None:
                raise Refused("into_number", _("No such incident."))
            into = found.pk
        return self._answer(services.incident_merge(incident_id=self.get_object().pk, actor=request.user, into_id=into))

    @extend_schema(request=CorrectSerializer, responses=IncidentSerializer)
    @action(detail=True, methods=["post"])
    def correct(self, request: Request, pk: str) -> Response:
        """更正 / 重新定性: change category, level, address, position or narrative, with a reason. Each change is
        a Correction row, on the timeline as `correction` items; a call still waiting re-times its dispatch
        clock by the new terms and, moved into another station's polygon, goes to that station."""
        v = self._input(request)
        position = {"lat": v.pop("lat"), "lon": v.pop("lon")} if "lat" in v else {}
        services.incident_correct(incident_id=self.get_object().pk, actor=request.user, **v, **position)
        return self._answer(self.get_object())

    @action(detail=True, methods=["post"])
    def link(self, request: Request, pk: str) -> Response:
        v = self._input(request)
        services.incident_link(
            incident_id=self.get_object().pk,
            actor=request.user,
            master_id=v["master"],
            link_type=v["link_type"],
            reason=v["reason"],
        )
        return self._answer(self.get_object())

    @action(detail=True, methods=["post"])
    def feedback(self, request: Request, pk: str) -> Response:
        v = self._input(request)
        fb = services.incident_feedback(incident_id=self.get_object().pk, actor=request.user, **v)
        return Response(FeedbackReadSerializer(fb).data, status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["post"], url_path="clear-scene")
    def clear_scene(self, request: Request, pk: str) -> Response:
        self._input(request)
        return self._answer(services.incident_clear_scene(incident_id=self.get_object().pk, actor=request.user))

    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk: str) -> Response:
        v = self._input(request)
        return self._answer(
            services.incident_close(incident_id=self.get_object().pk, actor=request.user, reason=v["reason"])
        )

    @action(detail=True, methods=["post"])
    def callback(self, request: Request, pk: str) -> Response:
        v = self._input(request)
        cb = services.incident_callback(incident_id=self.get_object().pk, actor=request.user, **v)
        return Response(
            {
                "incident": cb.incident_id,
                "channel": cb.channel,
                "satisfaction": cb.satisfaction,
                "text": cb.text,
                "at": cb.at,
            },
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        parameters=[OpenApiParameter(p, str) for p in ("phone", "address", "lat", "lon", "category")],
        responses={200: serializers.ListSerializer(child=serializers.DictField())},
    )
    @action(detail=False, methods=["get"])
    def hints(self, request: Request) -> Response:
        """Earlier incidents like this call, while the call-taker types."""
        p = request.query_params
        errors: dict[str, list[str]] = {}
        lat = lon = None
        try:
            if p.get("lat") or p.get("lon"):
                lat, lon = float(p["lat"]), float(p["lon"])
                if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                    raise ValueError
        except (KeyError, ValueError):
            errors["lat"] = [_("Give a valid latitude and longitude.")]
        category = None
        if p.get("category"):
            category = Category.objects.filter(code=p["category"]).first()
            if category is None:
                errors["category"] = [_("Unknown category code.")]
        if errors:
            return Response(errors, status=status.HTTP_400_BAD_REQUEST)
        hints = selectors.repeat_hints(
            request.user, phone=p.get("phone", ""), address=p.get("address", ""), lat=lat, lon=lon, category=category
        )
        return Response([h.as_dict() for h in hints])

    @extend_schema(parameters=[OpenApiParameter("file", str, enum=["csv", "xlsx"])], responses={200: bytes})
    @action(detail=False, methods=["get"])
    def export(self, request: Request) -> HttpResponse:
        """The filtered list as CSV or XLSX, at most EXPORT_MAX_ROWS rows (headers say if it was cut): headed
        in the caller's language, times in the server's zone with the offset, callers' text written as text
        (command_center.exports)."""
        kind = request.query_params.get("file", "csv")
        if kind not in ("csv", "xlsx"):
            return Response({"file": [_("Choose csv or xlsx.")]}, status=status.HTTP_400_BAD_REQUEST)
        limit = settings.EXPORT_MAX_ROWS
        qs = self.filter_queryset(self.get_queryset())
        rows = list(qs[: limit + 1])
        truncated = len(rows) > limit
        rows = rows[:limit]
        response = exports.write(
            exports.Sheet.table(
                _("Incidents"), export_columns(show_phone=sees_phones(request.user), partner=self.partner_view), rows
            ),
            kind=kind,
            filename=f"incidents-{exports.stamp()}.{kind}",
        )
        response["X-Export-Limit"] = str(limit)
        response["X-Export-Rows"] = str(len(rows))
        response["X-Export-Truncated"] = "true" if truncated else "false"
        return response


def _proposal(user: Any, incident: Incident) -> dict[str, Any] | None:
    """The auto-diversion rule proposed for the call at intake, while it can still be diverted (None). A new
    incident carries what its intake proposed (services._propose_diversion): no read back."""
    if hasattr(incident, "intake_proposal") and not selectors.reads_as_partner(user):
        p = incident.intake_proposal
        return payloads.proposal_payload(p) if p else None
    p = selectors.open_proposal(user, incident)
    return payloads.proposal_payload(p) if p else None


class ReturnSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=2000)


class CompleteSerializer(StrictSerializer):
    result = serializers.CharField(max_length=5000)


class DiversionInboxSerializer(serializers.Serializer[Any]):
    seq = serializers.IntegerField()
    at = serializers.DateTimeField()
    acts = serializers.BooleanField()
    diversions = DiversionSerializer(many=True)


class DiversionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Diversion]):
    """The partner's inbox (and, for police, the diversions of their incidents)."""

    serializer_class = DiversionSerializer
    filterset_fields = ["state"]

    def get_queryset(self) -> QuerySet[Diversion]:
        return selectors.visible_diversions(self.request.user)

    def get_serializer_class(self) -> Any:
        return {"return_": ReturnSerializer, "complete": CompleteSerializer}.get(self.action, DiversionSerializer)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """The page's clocks in one query (DiversionSerializer.get_clocks), not one per row."""
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        assert page is not None  # the API always paginates (settings: DEFAULT_PAGINATION_CLASS)
        context = {**self.get_serializer_context(), "clocks": payloads.diversion_clocks(d.pk for d in page)}
        return self.get_paginated_response(DiversionSerializer(page, many=True, context=context).data)

    @extend_schema(responses=DiversionInboxSerializer)
    @action(detail=False, methods=["get"])
    def inbox(self, request: Request) -> Response:
        """The live partner inbox's state (static/js/partnerinbox.js): the caller's group `seq` (read first, so
        a push after it is applied on top), the open diversions and those that ended today, newest first,
        each with its clocks; `acts`: whether the caller is the partner who accepts, returns and completes."""
        person = orgs.person_of(request.user)
        # The group's seq before the rows: a push that lands in between is applied again on top, never lost.
        seq = realtime.current_seq(realtime.org_group(person.org_id)) if person else 0
        rows = selectors.inbox_diversions(request.user)
        context = {"clocks": payloads.diversion_clocks(d.pk for d in rows)}
        return Response(
            {
                "seq": seq,
                "at": timezone.now(),
                "acts": person is not None
                and selectors.is_diversion_target(person.org)
                and person.has_role(Role.PARTNER),
                "diversions": DiversionSerializer(rows, many=True, context=context).data,
            }
        )

    def _answer(self, d: Diversion) -> Response:
        d = self.get_queryset().get(pk=d.pk)
        return Response(DiversionSerializer(d, context={"clocks": payloads.diversion_clocks([d.pk])}).data)

    @action(detail=True, methods=["post"])
    def accept(self, request: Request, pk: str) -> Response:
        return self._answer(services.diversion_accept(diversion_id=self.get_object().pk, actor=request.user))

    @action(detail=True, methods=["post"], url_path="return", url_name="return")
    def return_(self, request: Request, pk: str) -> Response:
        s = ReturnSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        return self._answer(
            services.diversion_return(
                diversion_id=self.get_object().pk, actor=request.user, reason=s.validated_data["reason"]
            )
        )

    @action(detail=True, methods=["post"])
    def complete(self, request: Request, pk: str) -> Response:
        s = CompleteSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        return self._answer(
            services.diversion_complete(
                diversion_id=self.get_object().pk, actor=request.user, result=s.validated_data["result"]
            )
        )


# --- Handling guides (处置指引) and auto-diversion rules --------------------------------------------------


class GuideItemSerializer(serializers.Serializer[Any]):
    n = serializers.IntegerField()
    text = serializers.CharField()
    required = serializers.BooleanField()  # type: ignore[assignment]  # a field named as DRF's Field.required


class GuideSerializer(serializers.Serializer[HandlingGuide]):
    id = serializers.IntegerField()
    title = serializers.CharField()
    version = serializers.IntegerField()
    current = serializers.BooleanField()
    category_prefix = serializers.CharField()
    level = serializers.IntegerField(allow_null=True)
    items = GuideItemSerializer(many=True)

    def to_representation(self, instance: HandlingGuide) -> dict[str, Any]:
        return payloads.guide_payload(instance)


class GuideMatchSerializer(serializers.Serializer[Any]):
    guide = GuideSerializer(allow_null=True)


class GuideViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet[HandlingGuide]):
    """处置指引: the checklist for a category and level (`match`), and any version by id (a feedback names
    the version it ticked). Guides are the command center's rules, the same for every area."""

    serializer_class = GuideSerializer
    queryset = HandlingGuide.objects.all()

    @extend_schema(
        parameters=[OpenApiParameter("category", str, required=True), OpenApiParameter("level", int, required=True)],
        responses=GuideMatchSerializer,
    )
    @action(detail=False, methods=["get"])
    def match(self, request: Request) -> Response:
        """The current guide for `category` (a code) and `level` (1–4): the longest matching prefix wins,
        then a guide for the level over one for any level. `guide` is null when none applies."""
        p = request.query_params
        errors: dict[str, list[str]] = {}
        if not codes.active_categories().get(p.get("category", "")):
            errors["category"] = [_("Unknown category code.")]
        level = p.get("level", "")
        if level not in ("1", "2", "3", "4"):
            errors["level"] = [_("A level from 1 to 4.")]
        if errors:
            return Response(errors, status=status.HTTP_400_BAD_REQUEST)
        guide = selectors.guide_for(p["category"], int(level))
        return Response({"guide": payloads.guide_payload(guide) if guide else None})


class DiversionRuleStatsSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()
    category_prefix = serializers.CharField()
    window = serializers.CharField()
    weekdays = serializers.CharField()
    place = serializers.IntegerField(allow_null=True)
    place_name = serializers.CharField()
    target = serializers.IntegerField()
    target_name = serializers.CharField()
    priority = serializers.IntegerField()
    active = serializers.BooleanField()
    hits = serializers.IntegerField()
    confirmed = serializers.IntegerField()
    returned = serializers.IntegerField()


class DiversionRuleViewSet(viewsets.GenericViewSet[DiversionRule]):
    """非警务警情自动分流: every rule with its counters over the incidents the caller may see — hits (proposed
    at intake), confirmations (diverted by the rule) and returns (sent back by the target)."""

    serializer_class = DiversionRuleStatsSerializer
    queryset = DiversionRule.objects.none()
    pagination_class = None

    @extend_schema(responses=DiversionRuleStatsSerializer(many=True))
    def list(self, request: Request) -> Response:
        return Response(selectors.rule_stats(request.user))


# --- Partner webhooks: a partner's own endpoints (README, Partner webhooks) ------------------------------


class WebhookSerializer(serializers.ModelSerializer[PartnerWebhook]):
    secret_hint = serializers.CharField(source="masked_secret", read_only=True)

    class Meta:
        model = PartnerWebhook
        fields = ["id", "url", "events", "active", "created_at", "secret_hint"]
        read_only_fields = fields


class WebhookSecretSerializer(WebhookSerializer):
    """An endpoint with its signing secret: answered once, when it is made or rotated."""

    secret = serializers.CharField(read_only=True)

    class Meta(WebhookSerializer.Meta):
        fields = [*WebhookSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookWriteSerializer(StrictSerializer):
    url = serializers.URLField(max_length=500)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=PartnerWebhook.Event.choices), allow_empty=False, max_length=10
    )
    active = serializers.BooleanField(required=False)

    def validate_events(self, value: list[str]) -> list[str]:
        return sorted(set(value))


class WebhookViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[PartnerWebhook]):
    """A partner's people (role partner) manage their org's endpoints: list, add (the secret answered once),
    change the URL, events or switch one off (PATCH), rotate the secret. Nobody else sees any."""

    serializer_class = WebhookSerializer
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[PartnerWebhook]:
        return selectors.own_webhooks(self.request.user)

    def get_serializer_class(self) -> Any:
        return WebhookWriteSerializer if self.action in ("create", "partial_update") else WebhookSerializer

    @extend_schema(request=WebhookWriteSerializer, responses={201: WebhookSecretSerializer})
    def create(self, request: Request) -> Response:
        s = WebhookWriteSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        v = s.validated_data
        hook = services.webhook_create(actor=request.user, url=v["url"], events=v["events"])
        if v.get("active") is False:
            hook = services.webhook_update(webhook_id=hook.pk, actor=request.user, active=False)
        return Response(WebhookSecretSerializer(hook).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=WebhookWriteSerializer, responses=WebhookSerializer)
    def partial_update(self, request: Request, pk: str) -> Response:
        hook = self.get_object()
        s = WebhookWriteSerializer(data=request.data, partial=True)
        s.is_valid(raise_exception=True)
        v = s.validated_data
        hook = services.webhook_update(
            webhook_id=hook.pk, actor=request.user, url=v.get("url"), events=v.get("events"), active=v.get("active")
        )
        return Response(WebhookSerializer(hook).data)

    @extend_schema(request=None, responses=WebhookSecretSerializer)
    @action(detail=True, methods=["post"], url_path="rotate-secret", url_name="rotate-secret")
    def rotate_secret(self, request: Request, pk: str) -> Response:
        hook = services.webhook_rotate_secret(webhook_id=self.get_object().pk, actor=request.user)
        return Response(WebhookSecretSerializer(hook).data)
