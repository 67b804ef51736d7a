"""The 网情 API: posts in (push) and out, events, warnings, the spike chart, watch lists and their hits, the
monitor's state. Views check scope (404 outside the caller's area) and call services; rows are the
payloads the pushes carry (payloads.py)."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from command_center import orgs
from command_center.errors import Refused
from command_center.models import Org
from command_center.serializers import NoBodySerializer, StrictSerializer

from . import payloads, scoring, selectors, services
from .models import Event, Polarity, Post, Risk, Warning, WatchHit, WatchList


def _subtree(qs: QuerySet[Any], org_id: int, field: str = "org") -> QuerySet[Any]:
    org = Org.objects.filter(pk=org_id).first()
    return qs.filter(**{f"{field}__path__startswith": org.path}) if org else qs.none()


class RowField(serializers.JSONField):
    """A row as payloads.py writes it (documented in the README's 网情 section)."""


# --- Posts --------------------------------------------------------------------------------------------------


class PostFilter(django_filters.FilterSet):
    flagged = django_filters.BooleanFilter()
    police = django_filters.BooleanFilter()
    risk = django_filters.ChoiceFilter(choices=[c for c in Risk.choices if c[0]])
    polarity = django_filters.ChoiceFilter(choices=Polarity.choices)
    category = django_filters.CharFilter(field_name="category", lookup_expr="startswith", label="category prefix")
    org = django_filters.NumberFilter(method="filter_org", label="org id (its subtree)")
    event = django_filters.NumberFilter(field_name="event_id")
    q = django_filters.CharFilter(field_name="text", lookup_expr="icontains", label="text contains")
    since = django_filters.IsoDateTimeFilter(field_name="published_at", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="published_at", lookup_expr="lt")

    class Meta:
        model = Post
        fields = ["flagged", "police", "risk", "polarity", "category", "org", "event"]

    def filter_org(self, qs: QuerySet[Post], name: str, value: int) -> QuerySet[Post]:
        return _subtree(qs, value)


class IngestResultSerializer(serializers.Serializer[Any]):
    stored = serializers.IntegerField()
    updated = serializers.IntegerField()
    refused = serializers.ListField(child=serializers.DictField())
    posts = serializers.ListField(child=serializers.IntegerField())


class PostViewSet(viewsets.GenericViewSet[Post]):
    """网情 posts of the caller's area, newest first; POST pushes one post or a batch (≤ 1,000), idempotent on
    (source, external id): the refused items are named with their reasons, the rest are stored."""

    queryset = Post.objects.none()
    filterset_class = PostFilter
    serializer_class = NoBodySerializer

    def get_queryset(self) -> QuerySet[Post]:
        if getattr(self, "swagger_fake_view", False):
            return Post.objects.none()
        return selectors.visible_posts(self.request.user).order_by("-published_at", "-id")

    @extend_schema(responses={200: serializers.ListField(child=RowField())}, filters=True)
    def list(self, request: Request) -> Response:
        qs = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(qs)
        assert page is not None
        return self.get_paginated_response(selectors.post_rows(list(page), request.user))

    @extend_schema(responses={200: RowField()})
    def retrieve(self, request: Request, pk: str) -> Response:
        p = self.get_object()
        row = selectors.post_rows([p], request.user)[0]
        row["why"] = why(p, row)
        row["warnings"] = selectors.warning_rows(
            list(selectors.visible_warnings(request.user).filter(posts=p)), request.user
        )
        return Response(row)

    @extend_schema(request=OpenApiTypes.OBJECT, responses={201: IngestResultSerializer, 400: OpenApiTypes.OBJECT})
    def create(self, request: Request) -> Response:
        items = request.data if isinstance(request.data, list) else [request.data]
        if not items:
            raise Refused("posts", _("Send a post or a list of posts."))
        result = services.ingest(items, actor=request.user, channel="api")
        code = status.HTTP_201_CREATED if result.stored or result.updated else status.HTTP_400_BAD_REQUEST
        return Response(
            {"stored": result.stored, "updated": result.updated, "refused": result.refused, "posts": result.post_ids},
            status=code,
        )


def why(p: Post, row: dict[str, Any]) -> list[str]:
    """Why the post is flagged, in sentences the analyst reads."""
    out = []
    risk = dict(Risk.choices).get(p.risk)
    reds = scoring.red_terms().find(p.text)
    if reds:
        out.append(_("Grave terms: %(terms)s") % {"terms": "、".join(reds)})
    if p.risk:
        out.append(
            _(
                "Risk %(risk)s by the rule: police-related with a grave term, "
                "or negative with a reach of %(reach)d or more."
            )
            % {"risk": risk, "reach": 1000}
        )
    if p.police_terms:
        out.append(_("Police-related (涉警): %(terms)s") % {"terms": "、".join(p.police_terms)})
    out.append(
        _("Polarity %(label)s (score %(score).2f, model %(model)s)")
        % {"label": dict(Polarity.choices).get(p.polarity), "score": p.polarity_score, "model": p.model}
    )
    if p.topic_terms:
        out.append(
            _("Topics: %(topics)s (terms %(terms)s)")
            % {"topics": "、".join(c["name"] for c in row["categories"]) or "—", "terms": "、".join(p.topic_terms)}
        )
    if p.places:
        out.append(_("Places: %(places)s") % {"places": "、".join(f"{x['name']}（{x['org_name']}）" for x in p.places)})
    for h in row["hits"]:
        out.append(
            _("Watch list “%(name)s” matched: %(words)s") % {"name": h["name"], "words": "、".join(h["matched"])}
        )
    if p.event_id:
        out.append(_("Part of event #%(id)d") % {"id": p.event_id})
    return out


# --- Events -------------------------------------------------------------------------------------------------


class EventFilter(django_filters.FilterSet):
    org = django_filters.NumberFilter(method="filter_org", label="org id (its subtree)")
    category = django_filters.CharFilter(field_name="category", lookup_expr="startswith")
    risk = django_filters.ChoiceFilter(choices=[c for c in Risk.choices if c[0]])
    since = django_filters.IsoDateTimeFilter(field_name="last_seen", lookup_expr="gte")

    class Meta:
        model = Event
        fields = ["org", "category", "risk"]

    def filter_org(self, qs: QuerySet[Event], name: str, value: int) -> QuerySet[Event]:
        return _subtree(qs, value)


class EventViewSet(viewsets.GenericViewSet[Event]):
    """舆情事件: near-duplicate posts grouped, newest activity first."""

    queryset = Event.objects.none()
    filterset_class = EventFilter
    serializer_class = NoBodySerializer

    def get_queryset(self) -> QuerySet[Event]:
        if getattr(self, "swagger_fake_view", False):
            return Event.objects.none()
        return selectors.visible_events(self.request.user)

    @extend_schema(responses={200: serializers.ListField(child=RowField())}, filters=True)
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        assert page is not None
        return self.get_paginated_response([payloads.event_row(e) for e in page])

    @extend_schema(responses={200: RowField()})
    def retrieve(self, request: Request, pk: str) -> Response:
        e = self.get_object()
        row = payloads.event_row(e)
        row["growth"] = selectors.growth(e)
        top = list(
            Post.objects.filter(event=e)
            .select_related("source", "org")
            .order_by("-reposts", "-comments", "-likes", "-published_at")[:10]
        )
        row["top_posts"] = selectors.post_rows(top, request.user)
        row["warnings"] = selectors.warning_rows(
            list(selectors.visible_warnings(request.user).filter(event=e)), request.user
        )
        return Response(row)


# --- Warnings -----------------------------------------------------------------------------------------------


class WarningFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(choices=Warning.State.choices)
    colour = django_filters.ChoiceFilter(choices=[c for c in Risk.choices if c[0]])
    kind = django_filters.ChoiceFilter(choices=Warning.Kind.choices)
    org = django_filters.NumberFilter(method="filter_org", label="org id (its subtree)")

    class Meta:
        model = Warning
        fields = ["state", "colour", "kind", "org"]

    def filter_org(self, qs: QuerySet[Warning], name: str, value: int) -> QuerySet[Warning]:
        return _subtree(qs, value)


class WarningViewSet(viewsets.GenericViewSet[Warning]):
    """网情预警: spikes and fast-growing events of the caller's area, newest first."""

    queryset = Warning.objects.none()
    filterset_class = WarningFilter
    serializer_class = NoBodySerializer

    def get_queryset(self) -> QuerySet[Warning]:
        if getattr(self, "swagger_fake_view", False):
            return Warning.objects.none()
        return selectors.visible_warnings(self.request.user)

    @extend_schema(responses={200: serializers.ListField(child=RowField())}, filters=True)
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        assert page is not None
        return self.get_paginated_response(selectors.warning_rows(list(page), request.user))

    @extend_schema(responses={200: RowField()})
    def retrieve(self, request: Request, pk: str) -> Response:
        w = self.get_object()
        row = selectors.warning_rows([w], request.user)[0]
        posts = list(w.posts.select_related("source", "org").order_by("-published_at")[:50])
        row["posts"] = selectors.post_rows(posts, request.user)
        return Response(row)

    @extend_schema(request=NoBodySerializer, responses={200: RowField(), 409: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"])
    def dismiss(self, request: Request, pk: str) -> Response:
        w = self.get_object()
        NoBodySerializer(data=request.data).is_valid(raise_exception=True)
        services.warning_dismiss(actor=request.user, warning_id=w.pk)
        return Response(selectors.warning_rows([self.get_queryset().get(pk=w.pk)], request.user)[0])


# --- Watch lists ----------------------------------------------------------------------------------------------


class WatchListSerializer(serializers.ModelSerializer[WatchList]):
    org_name = serializers.CharField(source="org.name", read_only=True)
    hits_n = serializers.IntegerField(read_only=True, default=0)

    class Meta:
        model = WatchList
        fields = ["id", "org", "org_name", "name", "expression", "accounts", "places", "colour", "active", "hits_n"]
        read_only_fields = fields


class WatchListWriteSerializer(StrictSerializer):
    org = serializers.IntegerField(min_value=1, required=False)
    name = serializers.CharField(max_length=100, required=False)
    expression = serializers.CharField(max_length=1000, required=False, allow_blank=True)
    accounts = serializers.ListField(child=serializers.CharField(max_length=200), max_length=200, required=False)
    places = serializers.ListField(child=serializers.CharField(max_length=200), max_length=200, required=False)
    colour = serializers.ChoiceField(choices=[c for c in Risk.choices if c[0]], required=False)
    active = serializers.BooleanField(required=False)


class WatchListViewSet(viewsets.GenericViewSet[WatchList]):
    """布控: the area's watch lists — keywords (AND/OR/NOT, brackets, "phrases"), accounts, places."""

    queryset = WatchList.objects.none()
    serializer_class = WatchListSerializer

    def get_queryset(self) -> QuerySet[WatchList]:
        if getattr(self, "swagger_fake_view", False):
            return WatchList.objects.none()
        return selectors.visible_watch_lists(self.request.user)

    def get_serializer_class(self) -> Any:
        return WatchListWriteSerializer if self.action in ("create", "partial_update") else WatchListSerializer

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        assert page is not None
        return self.get_paginated_response(WatchListSerializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(WatchListSerializer(self.get_object()).data)

    @extend_schema(request=WatchListWriteSerializer, responses={201: WatchListSerializer})
    def create(self, request: Request) -> Response:
        form = WatchListWriteSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = dict(form.validated_data)
        if "name" not in data:
            raise Refused("name", _("Give the watch list a name."))
        org_id = data.pop("org", None)
        if org_id is None:
            person = getattr(request.user, "person", None)
            if person is None:
                raise Refused("org", _("Name the organisation."))
            org_id = person.org_id
        w = services.watch_create(actor=request.user, org_id=org_id, **data)
        return Response(WatchListSerializer(self.get_queryset().get(pk=w.pk)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=WatchListWriteSerializer, responses={200: WatchListSerializer})
    def partial_update(self, request: Request, pk: str) -> Response:
        w = self.get_object()
        form = WatchListWriteSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = dict(form.validated_data)
        if "org" in data:
            raise Refused("org", _("A watch list stays with its organisation."))
        services.watch_update(actor=request.user, watch_id=w.pk, **data)
        return Response(WatchListSerializer(self.get_queryset().get(pk=w.pk)).data)


class HitViewSet(viewsets.GenericViewSet[WatchHit]):
    """Posts the area's watch lists caught, newest first."""

    queryset = WatchHit.objects.none()
    serializer_class = NoBodySerializer

    def get_queryset(self) -> QuerySet[WatchHit]:
        if getattr(self, "swagger_fake_view", False):
            return WatchHit.objects.none()
        return selectors.visible_hits(self.request.user).order_by("-created_at", "-id")

    @extend_schema(responses={200: serializers.ListField(child=RowField())})
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        assert page is not None
        return self.get_paginated_response([payloads.hit_row(h, h.post) for h in page])

    @extend_schema(request=NoBodySerializer, responses={200: RowField()})
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, pk: str) -> Response:
        h = self.get_object()
        NoBodySerializer(data=request.data).is_valid(raise_exception=True)
        services.hit_acknowledge(actor=request.user, hit_id=h.pk)
        h = self.get_queryset().get(pk=h.pk)
        return Response(payloads.hit_row(h, h.post))


# --- The monitor and the chart ----------------------------------------------------------------------------


class StateView(generics.GenericAPIView[Any]):
    """The 网情 monitor's state (flagged posts, events, open warnings, watch hits, today's counts) with the
    `seq` its pushes continue from."""

    serializer_class = NoBodySerializer

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        return Response(selectors.monitor_state(request.user))


class SpikesView(generics.GenericAPIView[Any]):
    """Hourly counts per main topic in the caller's area, each hour with its baseline (mean, σ) and k."""

    serializer_class = NoBodySerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("hours", int, description="how many hours back (1–336; 48)"),
            OpenApiParameter("category", str, description="one main topic code"),
            OpenApiParameter("org", int, description="an org of the caller's area"),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> Response:
        try:
            hours = int(request.query_params.get("hours", 48))
        except ValueError:
            raise Refused("hours", _("A whole number of hours.")) from None
        if not 1 <= hours <= 336:
            raise Refused("hours", _("Between 1 and 336 hours."))
        org = None
        if "org" in request.query_params:
            try:
                org_id = int(request.query_params["org"])
            except ValueError:
                raise Refused("org", _("An org id.")) from None
            org = Org.objects.filter(pk=org_id).filter(pk__in=_visible_org_ids(request.user)).first()
            if org is None:
                raise Refused("org", _("No such organisation in your area."))
        category = request.query_params.get("category") or None
        return Response(selectors.spike_series(request.user, hours=hours, category=category, org=org))


def _visible_org_ids(user: Any) -> QuerySet[Any]:
    return orgs.visible_orgs(user).values("pk")
