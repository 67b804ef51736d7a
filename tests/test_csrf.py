"""CSRF on every page form and every session-authenticated write.

Pages post in two ways: classic forms (login, logout, the language switch) carry Django's hidden token;
the screens' `data-api` forms are sent by static/js with the `X-CSRFToken` header. A browser session
without the token is refused (403) by both the page views and the API; a token client (no cookie) needs
no CSRF token, because nothing ambient authenticates it.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client

from command_center import codes
from incidents import services

# Pages a signed-in person opens, by username (tests/conftest.py's world).
PAGES = {
    "duty": ["/", "/incidents/intake/", "/incidents/", "/incidents/{incident}/", "/dispatch/board/", "/dispatch/wall/"],
    "station1": ["/dispatch/inbox/"],
    "partner": ["/partner/"],
}
PEOPLE = {"station1": "station_a1_officer", "partner": "partner_agent"}
FORM = re.compile(r"<form\b[^>]*>.*?</form>", re.S | re.I)


def _incident(world):
    codes.load_defaults()
    incident, _ = services.incident_intake(
        actor=world.duty,
        data=services.IntakeData(
            call_id="csrf-1", source="110", address="东湖路12号", category=codes.active_categories()["020500"]
        ),
    )
    return incident


@pytest.mark.django_db
def test_every_post_form_on_every_page_carries_the_token(world):
    incident = _incident(world)
    seen = 0
    for username, paths in PAGES.items():
        client = Client(enforce_csrf_checks=True)
        client.force_login(getattr(world, PEOPLE.get(username, username)))
        for path in paths:
            html = client.get(path.format(incident=incident.pk)).content.decode()
            for form in FORM.findall(html):
                head = form[: form.index(">")].lower()
                if 'method="post"' in head:
                    seen += 1
                    assert 'name="csrfmiddlewaretoken"' in form, (path, head)
                elif "data-api" in head:
                    seen += 1  # sent by static/js with X-CSRFToken (checked below)
    assert seen > 5


def test_every_script_that_writes_sends_the_csrf_header():
    """Each `fetch` that may write (method other than GET) sits in a helper that sets X-CSRFToken."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "static" / "js"
    writers = [
        p
        for p in root.glob("*.js")
        if re.search(r"method:\s*method\s*\|\||method:\s*\"(POST|PUT|PATCH|DELETE)", p.read_text())
    ]
    assert writers, "no script writes? the screens post through live.js and incidents.js"
    for script in writers:
        assert '"X-CSRFToken": csrf()' in script.read_text(), script.name


@pytest.mark.django_db
def test_a_session_write_without_the_token_is_refused_and_changes_nothing(world):
    incident = _incident(world)
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.duty)
    response = client.post(
        f"/api/incidents/{incident.pk}/invalidate/", {"reason": "测试"}, content_type="application/json"
    )
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    incident.refresh_from_db()
    assert incident.state == "received"

    # The same write with the cookie's token in the header goes through.
    client.get("/incidents/")
    token = client.cookies["csrftoken"].value
    response = client.post(
        f"/api/incidents/{incident.pk}/invalidate/",
        {"reason": "测试"},
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 200, response.content


@pytest.mark.django_db
def test_the_login_form_without_the_token_is_refused(world):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/login/", {"username": "duty", "password": "pw-12345"})
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_a_token_client_needs_no_csrf_token(world):
    from command_center import tokens

    incident = _incident(world)
    _row, token = tokens.token_issue(user=world.duty)
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        f"/api/incidents/{incident.pk}/invalidate/",
        {"reason": "测试"},
        content_type="application/json",
        headers={"Authorization": f"Token {token}"},
    )
    assert response.status_code == 200, response.content
