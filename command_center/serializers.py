"""Serializer pieces every app's API uses: the strict input serializer (an unknown field is a 400, not silently
dropped), the empty body of an action, and a person as colleagues read them (never a phone number)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


class StrictSerializer(serializers.Serializer[Any]):
    """Refuses fields it does not know (a typo must not be silently dropped)."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({k: [_("Unknown field.")] for k in unknown})
        return super().to_internal_value(data)


class NoBodySerializer(StrictSerializer):
    """No fields: an empty body (anything sent is refused as unknown)."""


class PersonBriefSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.CharField()


def person_brief(user: Any) -> dict[str, Any]:
    """A user as people read it: id, username, display name — never a phone number."""
    person = getattr(user, "person", None)
    return {"id": user.pk, "username": user.get_username(), "name": str(person) if person else user.get_username()}


@extend_schema_field(PersonBriefSerializer)
class PersonBriefField(serializers.Field):
    """A user as people read it (person_brief)."""

    def to_representation(self, user: Any) -> dict[str, Any]:
        return person_brief(user)


def datetime_text(value: datetime | None) -> str | None:
    """A time as DRF's DateTimeField renders it: ISO 8601 in the current time zone, UTC as 'Z' (for answers
    written by hand, which must read like DRF's)."""
    if value is None:
        return None
    text = timezone.localtime(value).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def drf_values(data: Any) -> Any:
    """`data` with every time in it as DRF's DateTimeField renders it (datetime_text), through dicts and lists:
    for a payload that an API answer gives as it is."""
    if isinstance(data, datetime):
        return datetime_text(data)
    if isinstance(data, dict):
        return {k: drf_values(v) for k, v in data.items()}
    if isinstance(data, list):
        return [drf_values(v) for v in data]
    return data
