"""Shared fixtures: an org tree, one person per role, and capture of pushes.

The tree (healthchecks' BaseTestCase habit: one shared world every test knows):

    city (command center)
    ├── county_a ── station_a1 ── community_a1
    │            └─ station_a2
    ├── county_b ── station_b1
    └── partner (12345)
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import TestCase

from command_center import realtime
from command_center.models import Org, Role

from .factories import make_org, make_person

# Playwright's sync API runs an event loop in the test thread (shared/RECIPES.md).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@dataclass
class World:
    city: Org
    county_a: Org
    county_b: Org
    station_a1: Org
    station_a2: Org
    station_b1: Org
    community_a1: Org
    partner: Org
    duty: User
    commander: User
    analyst: User
    supervisor: User
    county_a_duty: User
    station_a1_officer: User
    station_b1_officer: User
    partner_agent: User
    volunteer: User


def build_world() -> World:
    city = make_org(name="示范市公安局情指中心", level=Org.Level.CITY, region_code="990100", is_command_center=True)
    county_a = make_org(city, name="东城分局", level=Org.Level.COUNTY, region_code="990101", is_command_center=True)
    county_b = make_org(city, name="西城分局", level=Org.Level.COUNTY, region_code="990102", is_command_center=True)
    station_a1 = make_org(county_a, name="东湖派出所", level=Org.Level.STATION, region_code="990101001")
    station_a2 = make_org(county_a, name="新华派出所", level=Org.Level.STATION, region_code="990101002")
    station_b1 = make_org(county_b, name="西溪派出所", level=Org.Level.STATION, region_code="990102001")
    community_a1 = make_org(station_a1, name="东湖第一社区", level=Org.Level.COMMUNITY)
    partner = make_org(city, name="12345热线", level=Org.Level.CITY, kind=Org.Kind.PARTNER)
    # treebeard's add_child leaves earlier instances' numchild stale: reload everything.
    orgs = {o.name: o for o in Org.objects.all()}
    city, county_a, county_b = orgs[city.name], orgs[county_a.name], orgs[county_b.name]
    station_a1, station_b1, community_a1, partner = (
        orgs[station_a1.name],
        orgs[station_b1.name],
        orgs[community_a1.name],
        orgs[partner.name],
    )
    return World(
        city=orgs[city.name],
        county_a=orgs[county_a.name],
        county_b=orgs[county_b.name],
        station_a1=orgs[station_a1.name],
        station_a2=orgs[station_a2.name],
        station_b1=orgs[station_b1.name],
        community_a1=orgs[community_a1.name],
        partner=orgs[partner.name],
        duty=make_person("duty", city, Role.CALL_TAKER, Role.DUTY_OFFICER),
        commander=make_person("commander", city, Role.COMMANDER),
        analyst=make_person("analyst", city, Role.ANALYST),
        supervisor=make_person("supervisor", city, Role.SUPERVISOR),
        county_a_duty=make_person("county_a_duty", county_a, Role.DUTY_OFFICER),
        station_a1_officer=make_person("station1", station_a1, Role.STATION_OFFICER),
        station_b1_officer=make_person("station2", station_b1, Role.STATION_OFFICER),
        partner_agent=make_person("partner", partner, Role.PARTNER),
        volunteer=make_person("volunteer", community_a1, Role.VOLUNTEER),
    )


@pytest.fixture
def world(db: Any) -> World:
    return build_world()


@contextmanager
def capture_broadcasts() -> Iterator[list[dict[str, Any]]]:
    """Run on-commit callbacks at the end of the block (as a commit would) and record every envelope sent.

    Each record is `{"group", "event", "seq", "at", "data"}`. A rollback inside the block discards its
    callbacks, exactly as in production, so nothing is recorded for it.
    """
    with realtime.recording() as sent, TestCase.captureOnCommitCallbacks(execute=True):
        yield sent


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    """Browser tests need Debian's Chromium. Without it they skip on a laptop, and fail in CI."""
    if shutil.which(CHROMIUM) or os.environ.get("CI"):
        return
    skip = pytest.mark.skip(reason=f"{CHROMIUM} not installed (apt-get install -y chromium fonts-wqy-microhei)")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


def _clear_content_types(**_kwargs: Any) -> None:
    from django.contrib.contenttypes.models import ContentType

    ContentType.objects.clear_cache()


def _live_server_setup() -> None:
    """In the server process: use the test database, a thread of its own for the consumers' database calls,
    and forget content-type ids at every request. The server lives for the whole session while each
    transactional test flushes the tables, and the content types come back with new ids: a cached old id
    (clocks name their subject by content type) breaks the next browser test's inserts."""
    from concurrent.futures import ThreadPoolExecutor

    from asgiref.sync import SyncToAsync
    from channels.testing.live import set_database_connection
    from django.core.signals import request_started

    set_database_connection()
    # The server is forked from the test process. If a socket test ran there before, asgiref's one thread for
    # thread-sensitive calls (every database_sync_to_async of a consumer) was started in the parent: the
    # child inherits the executor but not its thread, and each socket's connect would wait for it forever.
    SyncToAsync.single_thread_executor = ThreadPoolExecutor(max_workers=1)
    request_started.connect(_clear_content_types, dispatch_uid="tests.live.clear_content_types")


@pytest.fixture(scope="session")
def asgi_live_server(django_db_setup: Any, django_db_blocker: Any) -> Iterator[str]:
    """Daphne (HTTP + WebSocket) in a child process, on the test database."""
    from functools import partial

    from channels.testing.live import make_application
    from daphne.testing import DaphneProcess
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    proc = DaphneProcess(
        "127.0.0.1", partial(make_application, static_wrapper=ASGIStaticFilesHandler), setup=_live_server_setup
    )
    proc.daemon = True  # a stuck child must never keep pytest from exiting
    with django_db_blocker.unblock():
        proc.start()
    if not proc.ready.wait(20):
        proc.terminate()
        raise RuntimeError("daphne did not start")
    yield f"http://127.0.0.1:{proc.port.value}"
    proc.terminate()
    proc.join(10)
