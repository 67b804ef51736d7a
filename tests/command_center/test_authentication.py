"""Token authentication reads the token, user, person, org and roles in one query."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from command_center import orgs, tokens

pytestmark = pytest.mark.django_db


def client_for(user: User) -> APIClient:
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION=f"Token {tokens.token_issue(user=user)[1]}")
    return c


def test_one_query_brings_the_person_org_and_roles(world, django_assert_num_queries):
    c = client_for(world.duty)
    c.get("/api/me/")  # the first use records `last_used_at` (then at most every five minutes)
    with django_assert_num_queries(1):  # /api/me/ reads nothing else
        me = c.get("/api/me/").json()
    assert me["roles"] == ["call_taker", "duty_officer"]
    assert me["org"]["id"] == world.city.pk


def test_the_person_it_builds_is_the_stored_one(world):
    from command_center.authentication import TokenAuthentication

    row, key = tokens.token_issue(user=world.station_a1_officer)
    user, token = TokenAuthentication().authenticate_credentials(key)
    person = orgs.person_of(user)
    assert person is not None
    assert (person.pk, person.org.pk, person.org.path, person.user.username) == (
        world.station_a1_officer.person.pk,
        world.station_a1.pk,
        world.station_a1.path,
        "station1",
    )
    assert person.roles == ["station_officer"]
    assert token.pk == row.pk and token.user == user and token.digest == row.digest


def test_unknown_token_is_401(world):
    c = APIClient()
    for key in ["0" * 40, "0" * 16 + "." + "0" * 64, "x" * 81, "."]:
        c.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        assert c.get("/api/me/").status_code == 401, key


def test_inactive_user_is_401(world):
    c = client_for(world.duty)
    User.objects.filter(pk=world.duty.pk).update(is_active=False)
    assert c.get("/api/me/").status_code == 401


def test_a_user_without_a_person_has_no_org(world):
    admin = User.objects.create_superuser("root", password="pw-12345")
    r = client_for(admin).get("/api/me/")
    assert r.status_code == 200
    assert r.json()["org"] is None and r.json()["roles"] == []


def test_role_changes_apply_to_the_next_request(world):
    from django.contrib.auth.models import Group

    c = client_for(world.station_a1_officer)
    world.station_a1_officer.groups.add(Group.objects.get_or_create(name="analyst")[0])
    assert c.get("/api/me/").json()["roles"] == ["station_officer", "analyst"]
