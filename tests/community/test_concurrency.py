"""Two officers triage the same report at once: exactly one outcome, one set of points, one incident at most."""

from __future__ import annotations

from typing import Any

import pytest

from command_center import codes
from command_center.models import Role
from command_center.transitions import InvalidTransition
from community import services
from community.models import PointsEntry, Volunteer, VolunteerReport
from incidents.models import Incident
from tests.concurrency import parallel
from tests.factories import make_person

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_officers_triage_the_same_report_and_exactly_one_wins(world: Any) -> None:
    codes.load_defaults()
    services.load_defaults()
    Volunteer.objects.create(person=world.volunteer.person, station=world.station_a1, community=world.community_a1)
    other = make_person("station1b", world.station_a1, Role.STATION_OFFICER)
    r = services.report_submit(
        actor=world.volunteer, data=services.ReportData(kind="hazard", category="fire_hazard", text="井盖缺失")
    )

    def triage(k: int) -> str:
        try:
            if k == 0:
                services.report_make_incident(report_id=r.pk, actor=world.station_a1_officer)
            else:
                services.report_close(report_id=r.pk, actor=other, reason="重复")
        except InvalidTransition:
            return "409"
        return "ok"

    results = parallel(2, triage)
    assert sorted(results) == ["409", "ok"]
    r.refresh_from_db()
    assert r.state in ("incident", "closed") and r.transitions.exclude(event="submit").count() == 1
    assert Incident.objects.count() == (1 if r.state == "incident" else 0)
    points = {"incident": 1 + 5, "closed": 1}[r.state]
    assert Volunteer.objects.get().points == points == sum(PointsEntry.objects.values_list("points", flat=True))
    assert VolunteerReport.objects.count() == 1
