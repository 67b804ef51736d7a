"""Demo 社情 for the demo city (command_center/demo.py), run by `manage.py load_demo` through
`CommunityConfig.demo_loader`: the demo volunteer (周伟, 东湖派出所 第一社区) on the register with two more of
the same community, and a few of their hazards and clues through the one submit service (so each has its
triage clock and points), one of them already turned into an incident by the station.

Idempotent: volunteers are looked up by person, reports are only sent when the demo volunteer has none.
"""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.contrib.auth.models import Group, User

from command_center.models import Org, Person, Role

from . import services
from .models import ReportCategory, Volunteer

OTHERS = [("volunteer2", "平安义警 吴芳", "13800000012"), ("volunteer3", "平安义警 郑军", "13800000013")]
REPORTS = [
    ("hazard", "fire_hazard", "东湖小区3号楼楼道堆满纸箱和电动车，晚上有人在楼道里充电", "东湖小区3号楼"),
    ("hazard", "road_hazard", "东湖路与湖滨路口的井盖缺失，已经有电动车差点摔倒", "东湖路与湖滨路口"),
    ("clue", "suspicious_clue", "一辆无牌面包车连续三天晚上在小区门口停到凌晨，车里有两个人", "东湖小区北门"),
    ("clue", "vice_clue", "东湖路88号二楼棋牌室每天下午人很多，听到有人说押钱", "东湖路88号"),
]


def _volunteer(user: User, community: Org, station: Org, phone: str, skills: list[str]) -> Volunteer:
    person = Person.objects.get(user=user)
    v, _created = Volunteer.objects.get_or_create(
        person=person,
        defaults={
            "station": station,
            "community": community,
            "grid": "第一网格",
            "phone": phone,
            "skills": skills,
            "trainings": [{"name": "平安义警岗前培训", "date": "2026-03-15"}],
            "joined_at": date(2026, 3, 1),
        },
    )
    return v


def load_demo() -> str:
    user = User.objects.filter(username="volunteer").first()
    officer = User.objects.filter(username="station1").first()
    station = Org.objects.filter(name="东湖派出所").first()
    community = Org.objects.filter(name="东湖派出所 第一社区").first()
    if user is None or officer is None or station is None or community is None or not ReportCategory.objects.exists():
        return "community demo: skipped (no demo volunteer, station, community or categories)"
    main = _volunteer(user, community, station, "13800000011", ["急救", "消防"])
    group = Group.objects.get(name=Role.VOLUNTEER)
    for username, name, phone in OTHERS:
        other = User.objects.filter(username=username).first()
        if other is None:
            other = User.objects.create_user(username=username, password=settings.DEMO_PASSWORD)
            other.groups.add(group)
            Person.objects.create(user=other, org=community, display_name=name, phone=phone)
        _volunteer(other, community, station, phone, ["巡逻"])
    if main.reports.exists():
        return "community demo: already loaded"
    made = []
    for kind, category, text, address in REPORTS:
        made.append(
            services.report_submit(
                actor=user,
                data=services.ReportData(
                    kind=kind,
                    category=category,
                    text=text,
                    address=address,
                    lat=station.lat,
                    lon=station.lon,
                    located_by="map" if station.lat is not None else "",
                ),
            )
        )
    services.report_make_incident(report_id=made[0].pk, actor=officer, note="已派员核查")
    return f"community demo: {len(made)} reports of 3 volunteers"
