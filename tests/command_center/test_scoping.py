import pytest
from django.core.exceptions import PermissionDenied

from command_center import orgs
from command_center.models import Org
from tests.testapp.models import Widget


def names(qs):
    return sorted(o.name for o in qs)


def test_station_sees_its_own_subtree_only(world):
    assert names(orgs.visible_orgs(world.station_a1_officer)) == ["东湖派出所", "东湖第一社区"]


def test_county_sees_its_stations(world):
    assert names(orgs.visible_orgs(world.county_a_duty)) == sorted(
        ["东城分局", "东湖派出所", "东湖第一社区", "新华派出所"]
    )


def test_city_sees_everything(world):
    assert orgs.visible_orgs(world.duty).count() == Org.objects.count()


def test_anonymous_and_profileless_users_see_nothing(world, django_user_model):
    from django.contrib.auth.models import AnonymousUser

    nobody = django_user_model.objects.create_user("nobody", password="x")
    assert not orgs.visible_orgs(AnonymousUser()).exists()
    assert not orgs.visible_orgs(nobody).exists()
    assert not orgs.restrict(Widget.objects.all(), nobody).exists()


def test_restrict_limits_any_queryset_to_the_subtree(world):
    a1 = Widget.objects.create(org=world.station_a1, name="a1")
    a2 = Widget.objects.create(org=world.station_a2, name="a2")
    b1 = Widget.objects.create(org=world.station_b1, name="b1")
    assert set(orgs.restrict(Widget.objects.all(), world.station_a1_officer)) == {a1}
    assert set(orgs.restrict(Widget.objects.all(), world.county_a_duty)) == {a1, a2}
    assert set(orgs.restrict(Widget.objects.all(), world.duty)) == {a1, a2, b1}


def test_restrict_includes_what_is_addressed_to_the_org(world):
    diverted = Widget.objects.create(org=world.station_b1, partner=world.partner, name="to 12345")
    Widget.objects.create(org=world.station_b1, name="not addressed")
    seen = orgs.restrict(Widget.objects.all(), world.partner_agent, addressed_fields=["partner"])
    assert list(seen) == [diverted]
    # Without naming the addressed field, a partner sees nothing of the stations' business.
    assert not orgs.restrict(Widget.objects.all(), world.partner_agent).exists()


def test_require_refuses_an_action_outside_the_subtree(world):
    person = orgs.require(world.station_a1_officer, world.station_a1)
    assert person is not None and person.org == world.station_a1
    assert orgs.require(world.county_a_duty, world.station_a2)
    with pytest.raises(PermissionDenied):
        orgs.require(world.station_a1_officer, world.station_b1)
    with pytest.raises(PermissionDenied):
        orgs.require(world.station_a1_officer, world.county_a)  # not upwards either
    assert orgs.require(world.partner_agent, world.station_b1, addressed=[world.partner])


def test_require_checks_roles_when_named(world):
    orgs.require(world.station_a1_officer, world.station_a1, roles=["station_officer"])
    with pytest.raises(PermissionDenied):
        orgs.require(world.station_a1_officer, world.station_a1, roles=["supervisor"])


def test_roles_map_to_groups_with_permissions(world):
    from django.contrib.auth.models import Group

    from command_center.models import Role

    assert {g.name for g in Group.objects.all()} >= {r.value for r in Role}
    assert world.duty.has_perm("command_center.view_deadline")
    assert not world.partner_agent.has_perm("command_center.view_deadline")
    assert world.duty.person.roles == ["call_taker", "duty_officer"]


def test_lineage_runs_from_root_to_org(world):
    assert [o.name for o in world.community_a1.lineage()] == [
        "示范市公安局情指中心",
        "东城分局",
        "东湖派出所",
        "东湖第一社区",
    ]
