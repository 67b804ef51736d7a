"""Per-process memory of the org tree and code tables (command_center/memo.py)."""

from __future__ import annotations

import pytest

from command_center import codes, memo
from command_center import redis as kredis
from command_center.models import Category

pytestmark = pytest.mark.django_db


def test_remembers_until_a_cached_model_changes(world, django_assert_num_queries):
    codes.load_defaults()
    codes.active_categories()
    with django_assert_num_queries(0):
        assert "020500" in codes.active_categories()
    Category.objects.filter(code="020500").update(active=False)  # no signal: still remembered
    assert "020500" in codes.active_categories()
    other = Category.objects.exclude(code="020500").first()
    assert other is not None
    other.save()  # a save clears this process at once
    assert "020500" not in codes.active_categories()


def test_a_change_elsewhere_reaches_this_process_through_the_generation(world):
    calls = []

    def load():
        calls.append(1)
        return len(calls)

    memo.forget()
    assert memo.remember("t", load) == 1
    assert memo.remember("t", load) == 1
    kredis.client().incr(memo._generation_key())  # another process saved an org and committed
    memo._generation[1] = 0.0  # the once-a-second check is due
    assert memo.remember("t", load) == 2


def test_entries_age_out(world, settings):
    settings.PROCESS_CACHE_S = 0
    n = iter(range(10))
    assert memo.remember("age", lambda: next(n)) == 0
    assert memo.remember("age", lambda: next(n)) == 1
