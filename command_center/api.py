"""Kernel API: API tokens (issue, list, revoke), who am I, the org tree I may see, code tables."""

from __future__ import annotations

import functools
from typing import Any

import django_filters
from axes.handlers.proxy import AxesProxyHandler
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import generics, parsers, renderers, serializers, status
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from . import inputs, orgs, tokens
from .models import ApiToken, Category, HandlingResult, Org, SupervisionLevel


# DRF's username + password check (its messages; axes counts the failures), plus a label.
class TokenRequestSerializer(AuthTokenSerializer):
    token = None  # type: ignore[assignment]  # DRF's read-only echo: the answer is TokenResponseSerializer
    name = serializers.CharField(
        max_length=100, required=False, allow_blank=True, default="", help_text="What the token is for (a label)."
    )


class TokenResponseSerializer(serializers.Serializer[Any]):
    token = serializers.CharField(help_text="Send as `Authorization: Token <token>`; shown this once only.")
    id = serializers.CharField(help_text="The token's public id: list and revoke it by this.")
    expires_at = serializers.DateTimeField()


class TokenView(APIView):
    """POST {"username", "password", "name"?} → {"token", "id", "expires_at"}; use it as
    `Authorization: Token <token>`. Each call issues a new token (settings.API_TOKEN_TTL_S)."""

    permission_classes = ()
    throttle_classes = ()
    parser_classes = (parsers.FormParser, parsers.MultiPartParser, inputs.JSONParser)  # nesting bounded
    renderer_classes = (renderers.JSONRenderer,)

    @extend_schema(request=TokenRequestSerializer, responses=TokenResponseSerializer)
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # The login throttle (django-axes) counts failures here too; a locked pair gets 429, like the page,
        # whatever the password (Django's authenticate() turns the lock into "no user", a plain 400).
        username = request.data.get("username") if isinstance(request.data, dict) else None
        if AxesProxyHandler.is_locked(request._request, credentials={"username": username}):
            return Response(
                {"detail": _("Too many failed logins: this account is locked here for a while.")},
                status=status.HTTP_429_TOO_MANY_REQUESTS,
            )
        serializer = TokenRequestSerializer(data=request.data, context={"request": request, "view": self})
        serializer.is_valid(raise_exception=True)
        token, secret = tokens.token_issue(
            user=serializer.validated_data["user"], name=serializer.validated_data["name"]
        )
        return Response(TokenResponseSerializer({"token": secret, "id": token.pk, "expires_at": token.expires_at}).data)


class ApiTokenSerializer(serializers.ModelSerializer[ApiToken]):
    username = serializers.CharField(source="user.username", read_only=True)
    current = serializers.SerializerMethodField(help_text="The token this request was made with.")

    class Meta:
        model = ApiToken
        fields = ["id", "name", "user", "username", "created_at", "expires_at", "last_used_at", "current"]
        read_only_fields = fields

    def get_current(self, obj: ApiToken) -> bool:
        auth = self.context["request"].auth
        return isinstance(auth, ApiToken) and auth.pk == obj.pk


class ApiTokenFilter(django_filters.FilterSet):
    user = django_filters.NumberFilter(
        field_name="user_id", help_text="Another person's tokens (administrators: the people they manage)."
    )

    class Meta:
        model = ApiToken
        fields = ["user"]


class ApiTokenListView(generics.ListAPIView[ApiToken]):
    """The caller's live tokens, newest first (never the secret or its digest). An administrator lists
    another person's with `?user=<id>`."""

    serializer_class = ApiTokenSerializer
    filterset_class = ApiTokenFilter

    def get_queryset(self) -> Any:
        qs = tokens.manageable(self.request.user)
        if not self.request.query_params.get("user"):
            qs = qs.filter(user_id=self.request.user.pk or 0)  # authenticated: never 0
        return tokens.live(qs).select_related("user").order_by("-created_at", "id")


class ApiTokenView(APIView):
    """DELETE revokes a token: one's own, or (administrators) one of the people they manage; any other id
    answers 404, like one that does not exist."""

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: str) -> Response:
        tokens.token_revoke(token_id=pk, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class RevokeAllSerializer(serializers.Serializer[Any]):
    revoked = serializers.IntegerField(help_text="How many tokens were revoked (the current one too).")


class ApiTokenRevokeAllView(APIView):
    """POST revokes every token of the caller's, the one this request came with too."""

    @extend_schema(request=None, responses=RevokeAllSerializer)
    def post(self, request: Request) -> Response:
        return Response({"revoked": tokens.token_revoke_all(user=request.user)})


class OrgBriefSerializer(serializers.ModelSerializer[Org]):
    class Meta:
        model = Org
        fields = ["id", "name", "level"]


class MeSerializer(serializers.Serializer[Any]):
    username = serializers.CharField()
    display_name = serializers.CharField()
    org = OrgBriefSerializer(allow_null=True)
    roles = serializers.ListField(child=serializers.CharField())
    is_superuser = serializers.BooleanField()


class MeView(APIView):
    """Who the caller is, which org they act for and with which roles."""

    @extend_schema(responses=MeSerializer)
    def get(self, request: Request) -> Response:
        person = orgs.person_of(request.user)
        data = {
            "username": request.user.get_username(),
            "display_name": str(person) if person else request.user.get_username(),
            "org": OrgBriefSerializer(person.org).data if person else None,
            "roles": person.roles if person else [],
            "is_superuser": request.user.is_superuser,
        }
        return Response(MeSerializer(data).data)


class LiveSerializer(serializers.Serializer[Any]):
    seq = serializers.IntegerField(help_text="The caller's group sequence (/ws/board/), 0 without a person.")
    at = serializers.DateTimeField(help_text="Server time.")


class LiveView(APIView):
    """Where the caller's live feed (/ws/board/) stands: the group `seq` now. A screen that builds its state
    from several list endpoints reads this first, then the lists, and applies only pushes with a higher seq
    (the screens' state endpoints carry their own `seq`)."""

    @extend_schema(responses=LiveSerializer)
    def get(self, request: Request) -> Response:
        from django.utils import timezone

        from . import realtime

        person = orgs.person_of(request.user)
        seq = realtime.current_seq(realtime.org_group(person.org_id)) if person else 0
        return Response({"seq": seq, "at": timezone.now()})


class OrgSerializer(serializers.ModelSerializer[Org]):
    parent = serializers.SerializerMethodField()  # type: ignore[assignment]

    class Meta:
        model = Org
        fields = ["id", "name", "level", "kind", "parent", "region_code", "lat", "lon", "is_command_center", "depth"]

    def get_parent(self, obj: Org) -> int | None:
        return self.context["parents"].get(obj.path[: -obj.steplen]) if obj.depth > 1 else None


class OrgListView(generics.ListAPIView[Org]):
    """The org tree the caller may see, in tree order (depth-first); `parent` is an id or null."""

    serializer_class = OrgSerializer
    filterset_fields = ["level", "kind", "is_command_center"]

    def get_queryset(self) -> Any:
        return orgs.visible_orgs(self.request.user).order_by("path")

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "parents": dict(Org.objects.values_list("path", "id"))}


@functools.lru_cache(maxsize=4096)
def pinyin_initials(name: str) -> str:
    """噪音扰民 → "zyrm": what a call-taker types to find a category without switching input method."""
    from pypinyin import Style, lazy_pinyin

    return "".join(ch for ch in "".join(lazy_pinyin(name, style=Style.FIRST_LETTER)) if ch.isalnum()).lower()


class CategorySerializer(serializers.ModelSerializer[Category]):
    initials = serializers.SerializerMethodField()

    class Meta:
        model = Category
        fields = ["code", "name", "name_en", "level", "parent", "initials"]

    def get_initials(self, obj: Category) -> str:
        return pinyin_initials(obj.name)


class CategoryListView(generics.ListAPIView[Category]):
    """The incident category table (four levels, six digits). Filter with `level`, `parent`, `prefix`."""

    serializer_class = CategorySerializer
    pagination_class = None  # a code table: small, cached by clients, always wanted whole
    filterset_fields = ["level", "parent", "active"]

    def get_queryset(self) -> Any:
        qs = Category.objects.all()
        prefix = self.request.query_params.get("prefix")
        if prefix:
            qs = qs.filter(code__startswith=prefix)
        return qs


class HandlingResultSerializer(serializers.ModelSerializer[HandlingResult]):
    class Meta:
        model = HandlingResult
        fields = ["code", "name", "name_en", "active"]


class HandlingResultListView(generics.ListAPIView[HandlingResult]):
    serializer_class = HandlingResultSerializer
    pagination_class = None
    queryset = HandlingResult.objects.all()


class SupervisionLevelSerializer(serializers.ModelSerializer[SupervisionLevel]):
    class Meta:
        model = SupervisionLevel
        fields = ["code", "rank", "name", "name_en"]


class SupervisionLevelListView(generics.ListAPIView[SupervisionLevel]):
    serializer_class = SupervisionLevelSerializer
    pagination_class = None
    queryset = SupervisionLevel.objects.all()
