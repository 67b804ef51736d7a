"""The read-replica router (command_center/dbrouter.py): inside use_replica() the analytics reads go to the
`replica` alias (here a TEST MIRROR of the test database, so its own connection), writes always to default;
with no replica configured everything stays on default."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connections, router
from django.test.utils import CaptureQueriesContext

from briefing import sections
from command_center import dbrouter
from command_center.models import Org
from intel import hotspots
from supervision import kpis
from tests.factories import make_org

DAY = date(2026, 3, 2)
BOTH = ["default", "replica"]


@pytest.fixture
def replica_on(settings):
    settings.READ_REPLICA = "replica"


def captured():
    return CaptureQueriesContext(connections["default"]), CaptureQueriesContext(connections["replica"])


@pytest.mark.django_db(databases=BOTH)
def test_the_router_reads_the_replica_only_inside_use_replica_and_writes_default_always(replica_on):
    assert router.db_for_read(Org) == "default"
    assert dbrouter.read_alias() == "default"
    with dbrouter.use_replica():
        assert router.db_for_read(Org) == "replica"
        assert router.db_for_write(Org) == "default"
        with dbrouter.use_replica():  # nested: still the replica, and back to it after the inner block
            pass
        assert dbrouter.read_alias() == "replica"
    assert router.db_for_read(Org) == "default"
    assert router.allow_migrate("default", "command_center") is True
    assert router.allow_migrate("replica", "command_center") is False


@pytest.mark.django_db(databases=BOTH)
def test_no_replica_configured_keeps_every_read_on_default():
    org = make_org(name="市局", level="city")
    default, replica = captured()
    with default, replica, dbrouter.use_replica():
        assert router.db_for_read(Org) == "default"
        kpis.compute(kpis.Scope(org, DAY, DAY))
    assert len(replica.captured_queries) == 0
    assert any("supervision_kpi" in q["sql"] for q in default.captured_queries)


@pytest.mark.django_db(databases=BOTH)
def test_kpis_hotspots_and_the_report_read_the_replica(replica_on):
    org = make_org(name="市局", level="city")
    for name, read in [
        ("kpis.compute", lambda: kpis.compute(kpis.Scope(org, DAY, DAY))),
        ("kpis.rankings", lambda: kpis.rankings(kpis.Scope(org, DAY, DAY))),
        ("kpis.trend", lambda: kpis.trend(kpis.KPIS[0], kpis.Scope(org, DAY, DAY))),
        ("hotspots", lambda: hotspots.hotspot_map(org=org, start=DAY, end=DAY, flagged_only=False)),
        ("report", lambda: sections.build(org, DAY)),
    ]:
        default, replica = captured()
        with default, replica:
            read()
        assert replica.captured_queries, name
        reads = [q["sql"] for q in default.captured_queries if q["sql"].lstrip().upper().startswith("SELECT")]
        assert reads == [], (name, reads)


@pytest.mark.django_db(databases=BOTH, transaction=True)
def test_a_write_inside_use_replica_goes_to_default(replica_on):
    """Committed rows (a transactional test) are seen through the replica's own connection; a row read
    there and saved, or one created, inside use_replica() is written on default."""
    org = make_org(name="市局", level="city")
    default, replica = captured()
    with default, replica, dbrouter.use_replica():
        seen = Org.objects.get(pk=org.pk)
        assert seen._state.db == "replica"
        seen.name = "市公安局"
        seen.save()
        make_org(seen, name="城关派出所", level="station")
    writes = [q["sql"] for q in default.captured_queries if q["sql"].lstrip().upper().startswith(("UPDATE", "INSERT"))]
    assert len(writes) >= 2
    assert not [q for q in replica.captured_queries if not q["sql"].lstrip().upper().startswith("SELECT")]
    assert Org.objects.get(pk=org.pk).name == "市公安局"
    assert Org.objects.filter(name="城关派出所").count() == 1
