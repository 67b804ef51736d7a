"""API tokens: hashed at rest, expiring, listed and revoked by their owner (and administrators), and ended by
a password change or a deactivation, whichever way it is made."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from command_center import tasks, tokens
from command_center.models import ApiToken, Role
from tests.factories import make_person

pytestmark = pytest.mark.django_db


def login(username: str, password: str = "pw-12345", **extra: Any) -> Any:
    return APIClient().post("/api/auth/token/", {"username": username, "password": password, **extra}, format="json")


def api(token: str) -> APIClient:
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return c


def works(token: str) -> bool:
    status = api(token).get("/api/me/").status_code
    assert status in (200, 401), status
    return status == 200


def issue(user: User, name: str = "") -> tuple[ApiToken, str]:
    return tokens.token_issue(user=user, name=name)


# --- Issue and store ---------------------------------------------------------------------------------------


def test_the_endpoint_answers_the_token_its_id_and_expiry(world):
    before = timezone.now()
    r = login("station1", name="东湖 值班手机")
    assert r.status_code == 200 and set(r.json()) == {"token", "id", "expires_at"}
    body = r.json()
    assert body["token"].startswith(body["id"] + ".")
    row = ApiToken.objects.get(pk=body["id"])
    assert (row.user, row.name) == (world.station_a1_officer, "东湖 值班手机")
    ttl = timedelta(seconds=settings.API_TOKEN_TTL_S)
    assert before + ttl <= row.expires_at <= timezone.now() + ttl
    assert works(body["token"])
    # Each login is a token of its own.
    assert login("station1").json()["id"] != body["id"]


def test_a_bad_name_is_a_400_with_the_field(world):
    r = login("station1", name="x" * 101)
    assert r.status_code == 400 and "name" in r.json()
    assert not ApiToken.objects.exists()


def test_the_secret_is_not_stored(world):
    """Only the SHA-256 digest of the secret is kept: no column of the row holds the secret or the token."""
    token = login("station1").json()["token"]
    token_id, secret = token.split(".")
    with connection.cursor() as cur:
        cur.execute(f"SELECT * FROM {ApiToken._meta.db_table}")  # noqa: S608
        [row] = cur.fetchall()
    stored = " ".join(str(v) for v in row)
    assert token_id in stored and secret not in stored and token not in stored
    assert secret[:16] not in stored and secret[-16:] not in stored
    assert ApiToken.objects.get(pk=token_id).digest == hashlib.sha256(secret.encode()).hexdigest()


def test_a_wrong_secret_is_refused_and_does_not_revoke_the_token(world):
    """Knowing a token's id (it is listed, and public) is not enough to use it, nor to end it."""
    row, token = issue(world.duty)
    forged = row.pk + "." + "0" * 64
    assert not works(forged)
    assert works(token) and ApiToken.objects.filter(pk=row.pk).exists()


# --- Expiry ------------------------------------------------------------------------------------------------


def test_a_token_expires_after_its_lifetime_and_is_deleted(world, settings):
    settings.API_TOKEN_TTL_S = 3600
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        row, token = issue(world.duty)
    with time_machine.travel(start + timedelta(minutes=59), tick=False):
        assert works(token)
    with time_machine.travel(start + timedelta(minutes=60, seconds=1), tick=False):
        assert api(token).get("/api/me/").status_code == 401
    assert not ApiToken.objects.filter(pk=row.pk).exists()


def test_the_hourly_chore_deletes_expired_tokens(world, settings):
    assert settings.HOUSEKEEPING["command_center.delete_expired_tokens"] == 3600.0
    issue(world.duty)
    with time_machine.travel(timezone.now() + timedelta(seconds=settings.API_TOKEN_TTL_S - 60), tick=False):
        fresh, _t = issue(world.duty)
    with time_machine.travel(timezone.now() + timedelta(seconds=settings.API_TOKEN_TTL_S + 1), tick=False):
        assert tasks.delete_expired_tokens() == 1
    assert list(ApiToken.objects.values_list("pk", flat=True)) == [fresh.pk]


def test_the_chore_is_a_registered_task():
    from command_center.celery import app

    assert "command_center.delete_expired_tokens" in app.tasks


# --- Listing -----------------------------------------------------------------------------------------------


def test_a_person_lists_their_own_live_tokens_and_nothing_secret(world):
    phone, phone_token = issue(world.duty, "手机")
    script, _t = issue(world.duty, "脚本")
    issue(world.station_a1_officer, "not duty's")
    with time_machine.travel(timezone.now() - timedelta(seconds=settings.API_TOKEN_TTL_S + 60), tick=False):
        issue(world.duty, "expired")
    r = api(phone_token).get("/api/auth/tokens/")
    assert r.status_code == 200
    rows = r.json()["results"]
    assert [x["id"] for x in rows] == [script.pk, phone.pk]  # newest first; the expired one is not listed
    assert set(rows[0]) == {"id", "name", "user", "username", "created_at", "expires_at", "last_used_at", "current"}
    assert [(x["name"], x["current"], x["username"]) for x in rows] == [("脚本", False, "duty"), ("手机", True, "duty")]
    assert rows[1]["last_used_at"] is not None and rows[0]["last_used_at"] is None
    text = r.content.decode()
    assert phone_token.split(".")[1] not in text and phone.digest not in text and script.digest not in text


def test_a_person_cannot_list_another_s_tokens(world):
    issue(world.station_a1_officer)
    _row, token = issue(world.station_b1_officer)
    r = api(token).get("/api/auth/tokens/", {"user": world.station_a1_officer.pk})
    assert r.status_code == 200 and r.json()["results"] == []
    assert api(token).get("/api/auth/tokens/", {"user": "abc"}).status_code == 400
    r = api(token).get("/api/auth/tokens/", {"user": 2**70})  # past bigint: nobody's
    assert r.status_code == 200 and r.json()["results"] == []


# --- Revoking ----------------------------------------------------------------------------------------------


def test_a_person_revokes_one_of_their_tokens(world):
    phone, phone_token = issue(world.duty, "手机")
    script, script_token = issue(world.duty, "脚本")
    assert api(script_token).delete(f"/api/auth/tokens/{phone.pk}/").status_code == 204
    assert not works(phone_token) and works(script_token)
    # …the one they are using too (a logout).
    assert api(script_token).delete(f"/api/auth/tokens/{script.pk}/").status_code == 204
    assert not works(script_token) and not ApiToken.objects.exists()


def test_another_s_token_answers_404_like_one_that_does_not_exist(world):
    theirs, their_token = issue(world.station_a1_officer)
    _row, mine = issue(world.station_b1_officer)
    r_theirs = api(mine).delete(f"/api/auth/tokens/{theirs.pk}/")
    r_missing = api(mine).delete(f"/api/auth/tokens/{'f' * 16}/")
    assert r_theirs.status_code == r_missing.status_code == 404
    assert r_theirs.json() == r_missing.json()
    assert works(their_token)
    assert api(mine).delete("/api/auth/tokens/not-a-token-id/").status_code == 404


def test_revoke_all_ends_every_token_of_the_caller_only(world):
    tokens_of_duty = [issue(world.duty)[1] for _ in range(3)]
    _row, other = issue(world.commander)
    r = api(tokens_of_duty[0]).post("/api/auth/tokens/revoke-all/")
    assert r.status_code == 200 and r.json() == {"revoked": 3}
    assert not any(works(t) for t in tokens_of_duty)
    assert works(other)


def test_a_superuser_lists_and_revokes_anyone_s_token(world):
    root = User.objects.create_superuser("root", password="pw-12345")
    root_row, root_token = issue(root)
    theirs, their_token = issue(world.station_b1_officer)
    listed = api(root_token).get("/api/auth/tokens/", {"user": world.station_b1_officer.pk}).json()["results"]
    assert [x["id"] for x in listed] == [theirs.pk]
    own = api(root_token).get("/api/auth/tokens/").json()["results"]  # without ?user=: one's own
    assert [x["id"] for x in own] == [root_row.pk]
    assert api(root_token).delete(f"/api/auth/tokens/{theirs.pk}/").status_code == 204
    assert not works(their_token)


def test_an_administrator_revokes_the_tokens_of_their_subtree_only(world):
    admin = make_person("county_admin", world.county_a, Role.ADMIN)
    _a, admin_token = issue(admin)
    below, below_token = issue(world.station_a1_officer)
    elsewhere, elsewhere_token = issue(world.station_b1_officer)
    root = User.objects.create_superuser("root", password="pw-12345")
    world.county_a.people.create(user=root)  # a superuser who acts for the county: not an admin's to end
    root_row, root_token = issue(root)
    listed = api(admin_token).get("/api/auth/tokens/", {"user": world.station_a1_officer.pk}).json()["results"]
    assert [x["id"] for x in listed] == [below.pk]
    assert api(admin_token).get("/api/auth/tokens/", {"user": world.station_b1_officer.pk}).json()["results"] == []
    assert api(admin_token).delete(f"/api/auth/tokens/{elsewhere.pk}/").status_code == 404
    assert api(admin_token).delete(f"/api/auth/tokens/{root_row.pk}/").status_code == 404
    assert api(admin_token).delete(f"/api/auth/tokens/{below.pk}/").status_code == 204
    assert not works(below_token) and works(elsewhere_token) and works(root_token)


def test_a_station_officer_is_no_administrator(world):
    """Roles other than admin manage only their own tokens, even over people below them."""
    below, below_token = issue(world.station_a1_officer)
    _c, county_token = issue(world.county_a_duty)
    assert api(county_token).delete(f"/api/auth/tokens/{below.pk}/").status_code == 404
    assert works(below_token)


# --- The Django admin --------------------------------------------------------------------------------------


def test_the_admin_lists_and_revokes_tokens(world, client):
    root = User.objects.create_superuser("root", password="pw-12345")
    client.force_login(root)
    one, one_token = issue(world.duty, "手机")
    two, two_token = issue(world.station_a1_officer)
    page = client.get("/admin/command_center/apitoken/")
    assert page.status_code == 200 and one.pk in page.content.decode() and one.digest not in page.content.decode()
    assert client.get("/admin/command_center/apitoken/add/").status_code == 403  # issued by the API only
    r = client.post("/admin/command_center/apitoken/", {"action": "revoke", "_selected_action": [one.pk]})
    assert r.status_code == 302
    assert not works(one_token) and works(two_token)
    r = client.post(f"/admin/command_center/apitoken/{two.pk}/delete/", {"post": "yes"})
    assert r.status_code == 302 and not works(two_token)


def test_the_admin_revokes_all_tokens_of_selected_users(world, client):
    root = User.objects.create_superuser("root", password="pw-12345")
    client.force_login(root)
    _o, one = issue(world.duty)
    _t, two = issue(world.duty)
    _k, kept = issue(world.commander)
    r = client.post("/admin/auth/user/", {"action": "revoke_api_tokens", "_selected_action": [world.duty.pk]})
    assert r.status_code == 302
    assert not works(one) and not works(two) and works(kept)


def test_an_administrator_s_token_admin_shows_their_subtree(world, client):
    admin = make_person("county_admin", world.county_a, Role.ADMIN, is_staff=True)
    below, _b = issue(world.station_a1_officer)
    elsewhere, _e = issue(world.station_b1_officer)
    client.force_login(admin)
    page = client.get("/admin/command_center/apitoken/").content.decode()
    assert below.pk in page and elsewhere.pk not in page


# --- A new password or a deactivation ends them ----------------------------------------------------------


def test_a_password_changed_through_the_orm_ends_the_tokens(world):
    row, token = issue(world.duty)
    _k, kept = issue(world.commander)
    user = User.objects.get(pk=world.duty.pk)
    user.set_password("a-new-pass-678")
    user.save()
    assert not ApiToken.objects.filter(pk=row.pk).exists()
    assert not works(token) and works(kept)
    # A token issued with the new password works.
    assert works(login("duty", "a-new-pass-678").json()["token"])


def test_a_save_that_keeps_the_password_keeps_the_tokens(world):
    _row, token = issue(world.duty)
    user = User.objects.get(pk=world.duty.pk)
    user.first_name = "张"
    user.save()
    user.last_login = timezone.now()
    user.save(update_fields=["last_login"])
    assert works(token)


def test_a_password_changed_in_the_admin_ends_the_tokens(world, client):
    root = User.objects.create_superuser("root", password="pw-12345")
    client.force_login(root)
    _row, token = issue(world.duty)
    r = client.post(
        f"/admin/auth/user/{world.duty.pk}/password/",
        {"password1": "a-new-pass-678", "password2": "a-new-pass-678", "usable_password": "true"},
    )
    assert r.status_code == 302, r.content[:2000]
    assert not ApiToken.objects.filter(user=world.duty).exists()  # at the save, not when next sent
    assert not works(token)


def test_a_password_changed_with_changepassword_ends_the_tokens(world, monkeypatch):
    import getpass

    _row, token = issue(world.duty)
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": "a-new-pass-678")
    call_command("changepassword", "duty")
    assert not ApiToken.objects.filter(user=world.duty).exists()
    assert not works(token)


def test_a_password_changed_behind_django_s_back_ends_the_tokens(world):
    """Even an UPDATE that no signal sees: the token is bound to a fingerprint of the password hash."""
    _row, token = issue(world.duty)
    issue(world.duty)
    _k, kept = issue(world.commander)
    User.objects.filter(pk=world.duty.pk).update(password="md5$other$0123456789abcdef")
    r = api(token).get("/api/me/")
    assert r.status_code == 401
    assert not ApiToken.objects.filter(user=world.duty).exists()  # deleted when one was met, the other too
    assert works(kept)


def test_a_deactivation_through_the_orm_ends_the_tokens(world):
    _row, token = issue(world.duty)
    user = User.objects.get(pk=world.duty.pk)
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert not ApiToken.objects.filter(user=world.duty).exists()
    user.is_active = True
    user.save()
    assert not works(token)


def test_a_deactivation_behind_django_s_back_ends_the_tokens(world):
    _row, token = issue(world.duty)
    issue(world.duty)
    User.objects.filter(pk=world.duty.pk).update(is_active=False)
    assert not works(token)
    assert not ApiToken.objects.filter(user=world.duty).exists()
    User.objects.filter(pk=world.duty.pk).update(is_active=True)
    assert not works(token)


class _Form(HTMLParser):
    """The values a browser would submit from the page's change form (inputs, checkboxes, selects,
    textareas)."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, list[str]] = {}
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in ("submit", "button", "file"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            self.data.setdefault(name, []).append(a.get("value", "on" if a.get("type") == "checkbox" else ""))
        elif tag == "select" and name:
            self._select = name
            self.data.setdefault(name, [])
        elif tag == "option" and self._select and "selected" in a:
            self.data[self._select].append(a.get("value", ""))
        elif tag == "textarea" and name:
            self._textarea = name
            self.data[name] = [""]

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.data[self._textarea][0] += data


def test_a_deactivation_in_the_admin_ends_the_tokens(world, client):
    root = User.objects.create_superuser("root", password="pw-12345")
    client.force_login(root)
    _row, token = issue(world.duty)
    url = f"/admin/auth/user/{world.duty.pk}/change/"
    form = _Form()
    form.feed(client.get(url).content.decode())
    data = {k: v for k, v in form.data.items() if k != "is_active"}  # untick "active"
    assert "username" in data and "person-0-org" in data
    r = client.post(url, data)
    assert r.status_code == 302, r.content[:3000]
    assert not User.objects.get(pk=world.duty.pk).is_active
    assert Group.objects.filter(user=world.duty).count() == 2  # the form kept the rest as it was
    assert not ApiToken.objects.filter(user=world.duty).exists()  # at the save, not when next sent
    assert not works(token)


# --- Cost and throttling -----------------------------------------------------------------------------------


def test_one_query_per_request_and_last_use_written_at_most_every_five_minutes(world, django_assert_num_queries):
    start = timezone.now()
    row, token = issue(world.duty)
    c = api(token)
    with time_machine.travel(start, tick=False):
        with django_assert_num_queries(2):  # the token with everything, and the first `last_used_at`
            assert c.get("/api/me/").status_code == 200
        with django_assert_num_queries(1):
            assert c.get("/api/me/").status_code == 200
    with time_machine.travel(start + timedelta(minutes=4), tick=False), django_assert_num_queries(1):
        assert c.get("/api/me/").status_code == 200
    with time_machine.travel(start + timedelta(minutes=6), tick=False), django_assert_num_queries(2):
        assert c.get("/api/me/").status_code == 200
    row.refresh_from_db()
    assert row.last_used_at == start + timedelta(minutes=6)


def test_a_malformed_token_costs_no_query(world, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert api("not-a-token").get("/api/me/").status_code == 401


def test_the_login_throttle_still_guards_the_token_endpoint(world):
    assert [login("duty", "wrong").status_code for _ in range(5)] == [400] * 5  # the fifth locks
    r = login("duty")  # the right password, locked out all the same
    assert r.status_code == 429 and "token" not in r.json()
    assert not ApiToken.objects.exists()
