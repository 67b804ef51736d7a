"""Supervision fixtures: the loop's (tests/intel/conftest.py) — code tables with the 督办 levels, a private
MEDIA_ROOT — and a red directive to stations A1 and B1 (sign within 10 minutes, report within 24 hours)."""

import pytest

from tests.intel.conftest import coded, issue, media  # noqa: F401  # fixtures shared with the loop's tests


@pytest.fixture
def red(coded):  # noqa: F811
    return issue(coded, coded.station_a1, coded.station_b1, colour="red", title="湖滨商圈安保")
