"""Which guide and which auto-diversion rule apply (incidents/matching.py): pure, no database."""

from dataclasses import dataclass
from datetime import datetime, time

from incidents.matching import best_guide, best_rule, in_window, rule_matches


@dataclass
class G:
    category_prefix: str
    level: int | None
    name: str = ""


@dataclass
class R:
    pk: int
    category_prefix: str = ""
    start: time | None = None
    end: time | None = None
    weekdays: str = ""
    priority: int = 0
    active: bool = True


def name(g: G | None) -> str | None:
    return g.name if g else None


def test_the_longest_prefix_wins_then_a_set_level():
    guides = [G("", None, "any"), G("06", None, "纠纷"), G("0601", None, "家庭"), G("0601", 1, "家庭1级")]
    assert name(best_guide(guides, "060110", 3)) == "家庭"
    assert name(best_guide(guides, "060110", 1)) == "家庭1级"
    assert name(best_guide(guides, "060200", 1)) == "纠纷"
    assert name(best_guide(guides, "010100", 2)) == "any"
    assert best_guide([G("0601", 2)], "060110", 3) is None
    assert best_guide([], "060110", 3) is None


# 2026-12-04 is a Friday, 12-05 a Saturday.
FRI_23 = datetime(2026, 12, 4, 23, 0)
SAT_02 = datetime(2026, 12, 5, 2, 0)
FRI_02 = datetime(2026, 12, 4, 2, 0)
FRI_12 = datetime(2026, 12, 4, 12, 0)


def test_a_window_wrapping_midnight():
    night = (time(22, 0), time(6, 0))
    assert in_window(FRI_23, *night) and in_window(SAT_02, *night) and in_window(FRI_02, *night)
    assert not in_window(FRI_12, *night)
    assert in_window(datetime(2026, 12, 4, 22, 0), *night)  # from 22:00 on
    assert not in_window(datetime(2026, 12, 4, 6, 0), *night)  # until 06:00, not at it
    day = (time(8, 0), time(18, 0))
    assert in_window(FRI_12, *day) and not in_window(FRI_23, *day)
    assert in_window(FRI_23, None, None) and in_window(FRI_23, time(9), time(9))  # no window: all day


def test_the_early_hours_of_a_night_belong_to_the_day_it_began():
    friday_night = (time(22, 0), time(6, 0), "5")
    assert in_window(FRI_23, *friday_night)
    assert in_window(SAT_02, *friday_night)  # Friday's night, Saturday's clock
    assert not in_window(FRI_02, *friday_night)  # Thursday's night
    assert in_window(FRI_12, None, None, "12345") and not in_window(SAT_02, None, None, "12345")


def test_a_rule_matches_by_prefix_window_and_place():
    r = R(1, "0902", time(22, 0), time(6, 0))
    station = "000100010001"
    county = "00010001"
    assert rule_matches(r, category="090220", at=SAT_02, org_path=station, place_path=None)
    assert rule_matches(r, category="090220", at=SAT_02, org_path=station, place_path=county)
    assert not rule_matches(r, category="090220", at=SAT_02, org_path="000100020001", place_path=county)
    assert not rule_matches(r, category="090100", at=SAT_02, org_path=station, place_path=None)
    assert not rule_matches(r, category="090220", at=FRI_12, org_path=station, place_path=None)
    r.active = False
    assert not rule_matches(r, category="090220", at=SAT_02, org_path=station, place_path=None)


def test_the_highest_priority_wins_then_the_longer_prefix_then_the_older():
    wide, narrow, urgent, twin = R(1, "09"), R(2, "0902"), R(3, "09", priority=5), R(4, "0902")
    at, path = FRI_12, "0001"
    assert best_rule([(wide, None), (narrow, None)], category="090220", at=at, org_path=path) is narrow
    assert best_rule([(wide, None), (narrow, None), (urgent, None)], category="090220", at=at, org_path=path) is urgent
    assert best_rule([(twin, None), (narrow, None)], category="090220", at=at, org_path=path) is narrow
    # A higher priority that does not match (elsewhere) leaves the others.
    assert best_rule([(urgent, "0002"), (wide, None)], category="090220", at=at, org_path=path) is wide
    assert best_rule([(narrow, None)], category="010100", at=at, org_path=path) is None
