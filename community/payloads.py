"""What a push, the queue and the API say about a report: one shape. The volunteer's own view is narrower
(`mine_payload`): their report's state and outcome in words, never the police's links."""

from __future__ import annotations

from typing import Any

from .models import VolunteerReport


def photo_url(photo_id: int) -> str:
    return f"/api/community/photos/{photo_id}/"


def report_payload(r: VolunteerReport) -> dict[str, Any]:
    person = r.volunteer.person
    return {
        "id": r.pk,
        "kind": r.kind,
        "kind_label": r.get_kind_display(),
        "category": r.category_id,
        "category_label": r.category.name,
        "text": r.text,
        "address": r.address,
        "lat": r.lat,
        "lon": r.lon,
        "accuracy_m": r.accuracy_m,
        "located_by": r.located_by,
        "anonymous_to_public": r.anonymous_to_public,
        "state": r.state,
        "state_label": r.get_state_display(),
        "version": r.version,
        "org": r.org_id,
        "community": r.community_id,
        # No phone: pushes and screen states carry no number (tests/test_phone_masking.py); the register has it.
        "volunteer": {"id": r.volunteer_id, "name": str(person)},
        "submitted_at": r.submitted_at,
        "triage_due_at": r.triage_due_at,
        "triaged_at": r.triaged_at,
        "reason": r.reason,
        "incident": r.incident_id,
        "directive": r.directive_id,
        "forwarded_to": r.forwarded_to_id,
        "photos": [photo_url(pk) for pk in _photo_ids(r)],
    }


def mine_payload(r: VolunteerReport) -> dict[str, Any]:
    return {
        "id": r.pk,
        "kind": r.kind,
        "kind_label": r.get_kind_display(),
        "category_label": r.category.name,
        "text": r.text,
        "address": r.address,
        "state": r.state,
        "state_label": r.get_state_display(),
        "submitted_at": r.submitted_at,
        "triaged_at": r.triaged_at,
        "reason": r.reason,
        "anonymous_to_public": r.anonymous_to_public,
        "photos": [photo_url(pk) for pk in _photo_ids(r)],
    }


def _photo_ids(r: VolunteerReport) -> list[int]:
    cache = getattr(r, "_prefetched_objects_cache", {})
    if "photos" in cache:
        return [p.pk for p in cache["photos"]]
    return list(r.photos.values_list("pk", flat=True))
