"""The serving entry points freeze their import-time objects (command_center/gcfreeze.py): the views are
loaded before the first request, and the garbage collector's passes no longer walk them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings

PROBE = """
import gc, json, sys
import {module}
loaded = "incidents.api" in sys.modules
from incidents.api import IncidentViewSet
print(json.dumps({{
    "frozen": gc.get_freeze_count(),
    "views_loaded_by_entry_point": loaded,
    "view_in_a_generation": any(o is IncidentViewSet for o in gc.get_objects()),
}}))
"""


@pytest.mark.parametrize("module", ["command_center.wsgi", "command_center.asgi"])
def test_the_entry_point_loads_the_views_and_freezes_them(module: str) -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(module=module)],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "command_center.settings"},
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["views_loaded_by_entry_point"], "the URLconf's views load before the first request"
    assert seen["frozen"] > 50_000, seen  # Django, DRF and the project's modules
    assert not seen["view_in_a_generation"], "a frozen object is in no generation a collection walks"
