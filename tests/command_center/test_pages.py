from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

LOCALE = Path(settings.BASE_DIR) / "locale"


def test_login_page_is_chinese_by_default(client, db):
    r = client.get("/login/")
    assert r.status_code == 200
    html = r.content.decode()
    assert 'lang="zh-hans"' in html and "登录" in html and "用户名" in html and "Log in" not in html


def test_login_page_in_english_through_the_switcher(client, db):
    r = client.post("/i18n/setlang/", {"language": "en", "next": "/login/"})
    assert r.status_code == 302
    html = client.get("/login/").content.decode()
    assert 'lang="en"' in html and "Log in" in html and "登录" not in html


def test_pages_need_login(client, db):
    r = client.get("/")
    assert r.status_code == 302 and r["Location"].startswith("/login/")


def test_volunteer_logs_in_and_sees_who_and_where_they_are(client, world):
    # Roles with a working screen land there (test_landing.py); the volunteer stays on the home page.
    r = client.post("/login/", {"username": "volunteer", "password": "pw-12345"}, follow=True)
    html = r.content.decode()
    assert r.status_code == 200 and "东湖第一社区" in html
    assert "志愿者" in html  # the role, translated
    assert "/api/docs/" not in html and "/admin/" not in html  # no API links for people who do not use it


def test_wrong_password_is_said_plainly(client, world):
    r = client.post("/login/", {"username": "duty", "password": "nope"})
    assert r.status_code == 200 and "用户名和密码不匹配" in r.content.decode()


def test_logout_is_a_post(client, world):
    client.force_login(world.duty)
    assert client.post("/logout/").status_code == 302
    assert client.get("/").status_code == 302


CATALOGUES = sorted(
    p.relative_to(LOCALE.parent)
    for p in LOCALE.parent.glob("*/locale/*/LC_MESSAGES/django.po")
    if ".venv" not in p.parts
) + [Path("locale") / lang / "LC_MESSAGES" / "django.po" for lang in ("zh_Hans", "en")]


@pytest.mark.parametrize("catalogue", CATALOGUES, ids=str)
def test_translation_catalogues_are_complete_and_compiled(catalogue):
    import polib

    po = polib.pofile(str(LOCALE.parent / catalogue))
    assert len(po) > 20
    if "zh_Hans" in catalogue.parts:
        assert [e.msgid for e in po.untranslated_entries()] == []
        assert [e.msgid for e in po.fuzzy_entries()] == []
    mo = polib.mofile(str((LOCALE.parent / catalogue).with_suffix(".mo")))
    assert {e.msgid: e.msgstr for e in mo} == {e.msgid: e.msgstr for e in po.translated_entries()}, "run make messages"


def test_translations_are_active():
    with translation.override("zh-hans"):
        assert translation.gettext("Log in") == "登录"
        assert translation.gettext("Duty officer") == "值班员"
    with translation.override("en"):
        assert translation.gettext("Log in") == "Log in"
