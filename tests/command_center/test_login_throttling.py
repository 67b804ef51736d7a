"""Login throttling (django-axes): repeated failures lock the username on that address, page and API."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def fail_page(client: Client, username: str, n: int) -> list[int]:
    return [
        client.post("/login/", {"username": username, "password": "wrong"}, secure=True).status_code for _ in range(n)
    ]


def test_the_page_locks_after_five_failures_even_for_the_right_password(world, settings):
    client = Client()
    assert fail_page(client, "station1", 4) == [200] * 4  # the form again, with its error
    assert fail_page(client, "station1", 1) == [429]  # the fifth locks
    r = client.post("/login/", {"username": "station1", "password": "pw-12345"}, secure=True)
    assert r.status_code == 429
    assert "登录失败次数过多" in r.content.decode() or "Too many failed logins" in r.content.decode()


def test_another_address_is_not_locked_out(world):
    fail_page(Client(REMOTE_ADDR="10.0.0.1"), "station1", 5)
    r = Client(REMOTE_ADDR="10.0.0.2").post("/login/", {"username": "station1", "password": "pw-12345"}, secure=True)
    assert r.status_code == 302  # logged in


def test_a_success_resets_the_count(world):
    client = Client()
    fail_page(client, "station1", 4)
    assert client.post("/login/", {"username": "station1", "password": "pw-12345"}, secure=True).status_code == 302
    client.logout()
    assert fail_page(client, "station1", 4) == [200] * 4


def test_the_token_api_is_throttled_too(world):
    api = APIClient()
    codes = [
        api.post("/api/auth/token/", {"username": "duty", "password": "wrong"}, format="json").status_code
        for _ in range(6)
    ]
    assert codes[:4] == [400] * 4 and codes[-1] in (403, 429)
    r = api.post("/api/auth/token/", {"username": "duty", "password": "pw-12345"}, format="json")
    assert r.status_code in (403, 429)
