"""Demo data: a city command center with its counties, stations, communities, partners and people.

Idempotent: every org and user is looked up before it is created, and nothing that exists is changed, so a
second `make run` keeps whatever the first one (or a person) did.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import transaction

from .models import Org, Person, Role

CITY = ("示范市公安局情指中心", "990100", 30.2741, 120.1551)

COUNTIES = [
    ("东城分局", "990101", 30.2900, 120.1900, ["东湖派出所", "新华派出所", "城东派出所", "湖滨派出所"]),
    ("西城分局", "990102", 30.2650, 120.1100, ["西溪派出所", "文新派出所", "蒋村派出所", "留下派出所"]),
    ("南湖分局", "990103", 30.2200, 120.1700, ["南星派出所", "望江派出所", "紫阳派出所", "闸口派出所"]),
]

COMMUNITIES = ["第一社区", "第二社区"]

PARTNERS = [("12345政务服务便民热线", "990100"), ("市综治中心", "990100")]


@dataclass(frozen=True)
class DemoUser:
    username: str
    display_name: str
    org_name: str
    roles: tuple[str, ...]
    staff: bool = False
    superuser: bool = False


USERS = [
    DemoUser("admin", "系统管理员", CITY[0], (Role.ADMIN,), staff=True, superuser=True),
    DemoUser("duty", "值班员 王敏", CITY[0], (Role.CALL_TAKER, Role.DUTY_OFFICER)),
    DemoUser("commander", "值班长 李强", CITY[0], (Role.COMMANDER, Role.DUTY_OFFICER)),
    DemoUser("analyst", "研判员 张磊", CITY[0], (Role.ANALYST,)),
    DemoUser("supervisor", "督察 陈静", CITY[0], (Role.SUPERVISOR,)),
    DemoUser("station1", "东湖所 接收岗 刘洋", "东湖派出所", (Role.STATION_OFFICER,)),
    DemoUser("station2", "西溪所 接收岗 赵婷", "西溪派出所", (Role.STATION_OFFICER,)),
    DemoUser("partner", "12345 坐席 孙丽", PARTNERS[0][0], (Role.PARTNER,)),
    DemoUser("volunteer", "平安义警 周伟", "东湖派出所 第一社区", (Role.VOLUNTEER,)),
]


def _child(parent: Org | None, **fields: object) -> Org:
    siblings = Org.objects.get_children(parent) if parent else Org.objects.get_root_nodes()
    existing = siblings.filter(name=fields["name"]).first()
    if existing:
        return existing
    if parent is None:
        return Org.objects.add_root(create_kwargs=fields)
    return Org.objects.add_child(parent, create_kwargs=fields)


@transaction.atomic
def load_orgs() -> Org:
    name, code, lat, lon = CITY
    city = _child(None, name=name, level=Org.Level.CITY, region_code=code, lat=lat, lon=lon, is_command_center=True)
    for cname, ccode, clat, clon, stations in COUNTIES:
        county = _child(
            city, name=cname, level=Org.Level.COUNTY, region_code=ccode, lat=clat, lon=clon, is_command_center=True
        )
        for i, sname in enumerate(stations, start=1):
            slat, slon = clat + 0.012 * ((i % 2) * 2 - 1) * i / 2, clon + 0.015 * (i - 2.5)
            station = _child(
                county, name=sname, level=Org.Level.STATION, region_code=f"{ccode}{i:03d}", lat=slat, lon=slon
            )
            for j, comm in enumerate(COMMUNITIES, start=1):
                _child(
                    station,
                    name=f"{sname} {comm}",
                    level=Org.Level.COMMUNITY,
                    region_code=f"{ccode}{i:03d}{j:03d}",
                    lat=slat + 0.003 * j,
                    lon=slon - 0.003 * j,
                )
    for pname, pcode in PARTNERS:
        _child(city, name=pname, level=Org.Level.CITY, kind=Org.Kind.PARTNER, region_code=pcode, lat=lat, lon=lon)
    return city


@transaction.atomic
def load_users(password: str) -> list[str]:
    """Create the demo users that do not exist yet; returns the usernames created."""
    created = []
    for u in USERS:
        if User.objects.filter(username=u.username).exists():
            continue
        user = User.objects.create_user(
            u.username, password=password, is_staff=u.staff, is_superuser=u.superuser, first_name=u.display_name
        )
        Person.objects.create(user=user, org=Org.objects.get(name=u.org_name), display_name=u.display_name)
        user.groups.set(Group.objects.filter(name__in=[str(r) for r in u.roles]))
        created.append(u.username)
    return created


def load() -> tuple[Org, list[str]]:
    city = load_orgs()
    return city, load_users(settings.DEMO_PASSWORD)
