"""The intake serializer copies its declared fields shallowly (api.IntakeSerializer.get_fields): each
instance still has fields of its own, bound to it, and what one request narrows stays with it."""

from __future__ import annotations

from django.test import RequestFactory

from incidents.api import IntakeSerializer
from incidents.models import Incident

from .conftest import call


def test_each_serializer_has_its_own_bound_fields(coded):
    request = RequestFactory().post("/api/incidents/")
    request.user = coded.county_a_duty
    narrowed = IntakeSerializer(data={**call(), "repeat_of": 1}, context={"request": request})
    plain = IntakeSerializer(data=call(), context={"request": request})
    for name, field in narrowed.fields.items():
        assert field is not plain.fields[name] and field is not IntakeSerializer._declared_fields[name]
        assert field.parent is narrowed and plain.fields[name].parent is plain
    # repeat_of narrowed to the caller's area on that instance only
    assert narrowed.fields["repeat_of"].queryset.query.where  # type: ignore[attr-defined]
    assert not plain.fields["repeat_of"].queryset.query.where  # type: ignore[attr-defined]
    assert IntakeSerializer._declared_fields["repeat_of"].queryset.model is Incident  # type: ignore[attr-defined]
    assert not IntakeSerializer._declared_fields["repeat_of"].queryset.query.where  # type: ignore[attr-defined]
    assert plain.is_valid(), plain.errors
    assert plain.validated_data["category"].code == "020500" and plain.validated_data["level"] == 3


def test_field_errors_are_the_same_as_declared(coded):
    s = IntakeSerializer(data=call(level=9, caller_phone="12", category="nope", lat=91))
    assert not s.is_valid()
    assert set(s.errors) >= {"level", "caller_phone", "category"}
    again = IntakeSerializer(data=call())
    assert again.is_valid(), again.errors  # nothing of the failed one stayed on the declared fields
