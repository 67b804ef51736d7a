"""Each role lands on its working screen after login; the home page is left for whoever has none."""

import pytest
from django.contrib.auth.models import User

WORKING_SCREEN = {
    "duty": "/incidents/intake/",
    "county_a_duty": "/incidents/intake/",
    "commander": "/dispatch/board/",
    "station1": "/dispatch/inbox/",
    "supervisor": "/supervision/",
    "partner": "/partner/",
    "analyst": "/intel/",
}


@pytest.mark.parametrize(("username", "path"), sorted(WORKING_SCREEN.items()))
def test_each_role_lands_on_its_working_screen(client, world, username, path):
    r = client.post("/login/", {"username": username, "password": "pw-12345"}, follow=True)
    assert r.status_code == 200
    assert r.redirect_chain[-1][0] == path


def test_the_volunteer_reads_what_a_volunteer_does_and_no_api_links(client, world):
    r = client.post("/login/", {"username": "volunteer", "password": "pw-12345"}, follow=True)
    html = r.content.decode()
    assert r.redirect_chain[-1][0] == "/"
    assert "志愿者在这里做什么" in html and "东湖第一社区" in html
    assert "/api/" not in html and "/healthz" not in html


def test_an_account_without_an_organisation_is_told_whom_to_ask(client, db):
    User.objects.create_user("nobody", password="pw-12345")
    html = client.post("/login/", {"username": "nobody", "password": "pw-12345"}, follow=True).content.decode()
    assert "管理员" in html and "/api/" not in html


def test_staff_see_administration_and_the_api(client, db):
    User.objects.create_user("ops", password="pw-12345", is_staff=True)
    html = client.post("/login/", {"username": "ops", "password": "pw-12345"}, follow=True).content.decode()
    assert "/admin/" in html and "/api/docs/" in html
