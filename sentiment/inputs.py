"""What a post must look like to be stored, for every channel (API push, file import, feeds): one item at
a time, so a batch stores the good ones and names the reasons for the rest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from command_center.serializers import StrictSerializer

MAX_TEXT = 5000
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)


class MetricsIn(StrictSerializer):
    reposts = serializers.IntegerField(min_value=0, max_value=2_000_000_000, default=0)
    comments = serializers.IntegerField(min_value=0, max_value=2_000_000_000, default=0)
    likes = serializers.IntegerField(min_value=0, max_value=2_000_000_000, default=0)


class PostIn(StrictSerializer):
    source = serializers.CharField(max_length=40)  # type: ignore[assignment]  # DRF's Field.source is another thing
    external_id = serializers.CharField(max_length=200)
    author = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    url = serializers.URLField(max_length=1000, required=False, default="", allow_blank=True)
    text = serializers.CharField(
        max_length=MAX_TEXT,
        error_messages={"max_length": _("A post's text is at most {max_length} characters.")},
    )
    published_at = serializers.DateTimeField()
    place = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    lat = serializers.FloatField(min_value=-90, max_value=90, required=False, allow_null=True, default=None)
    lon = serializers.FloatField(min_value=-180, max_value=180, required=False, allow_null=True, default=None)
    metrics = MetricsIn(required=False)

    def validate_source(self, value: str) -> Any:
        source = self.context["sources"].get(value.strip())
        if source is None:
            raise serializers.ValidationError(_("Unknown or retired source: %(code)s") % {"code": value})
        return source

    def validate_published_at(self, value: datetime) -> datetime:
        latest = timezone.now() + timedelta(seconds=settings.INPUT_FUTURE_S)
        if not EARLIEST <= value <= latest:
            raise serializers.ValidationError(_("A publication time between 2000 and now."))
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if (attrs.get("lat") is None) != (attrs.get("lon") is None):
            raise serializers.ValidationError({"lat": [_("Give both latitude and longitude, or neither.")]})
        attrs["metrics"] = dict(attrs.get("metrics") or {"reposts": 0, "comments": 0, "likes": 0})
        for k in ("reposts", "comments", "likes"):
            attrs["metrics"].setdefault(k, 0)
        attrs["text"] = attrs["text"].strip()
        if not attrs["text"]:
            raise serializers.ValidationError({"text": [_("A post needs text.")]})
        return attrs
