"""With DEBUG off (production, `make run` and these tests), errors are the site's own pages: in the layout,
Chinese unless the visitor chose English, with a way back, and nothing of the error or the settings.
The API answers its errors as JSON. And /favicon.ico exists."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

pytestmark = pytest.mark.urls("tests.testapp.urls")

LEAKS = ("Traceback", "boom:", "forbidden:", "suspicious:", "SECRET_KEY", "DATABASES", "settings", "DEBUG")


def page(response) -> str:
    html = response.content.decode()
    assert response["Content-Type"].startswith("text/html")
    assert '<header class="topbar">' in html and "css/app.css" in html  # the site's layout
    assert 'href="/"' in html  # a way back
    assert not [leak for leak in LEAKS if leak in html], html
    assert "<script>" not in html and "style=" not in html  # the CSP allows neither
    return html


@pytest.fixture
def anonymous() -> Client:
    return Client(raise_request_exception=False)


def test_debug_is_off_here(settings):
    assert settings.DEBUG is False


def test_a_missing_page_is_the_chinese_404_page(anonymous, db):
    r = anonymous.get("/no-such-page/")
    assert r.status_code == 404
    html = page(r)
    assert 'lang="zh-hans"' in html and "页面不存在" in html and "返回首页" in html
    assert 'href="/login/"' in html  # an anonymous visitor also gets the way to log in


def test_a_missing_page_in_english_for_who_chose_it(anonymous, db):
    anonymous.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = page(anonymous.get("/no-such-page/"))
    assert 'lang="en"' in html and "Page not found" in html and "Back to the home page" in html
    assert "页面不存在" not in html


def test_a_logged_in_person_keeps_their_navigation_on_the_404_page(client, world):
    client.force_login(world.duty)
    html = page(client.get("/incidents/no-such-page/"))
    assert "页面不存在" in html and 'href="/dispatch/board/"' in html and 'href="/login/"' not in html


def test_a_crash_is_the_chinese_500_page_without_a_trace(anonymous, db):
    r = anonymous.get("/boom/")
    assert r.status_code == 500
    html = page(r)
    assert "服务器出错" in html and "值班管理员" in html


def test_the_500_page_renders_when_the_context_processors_fail(anonymous, db, settings):
    engine = settings.TEMPLATES[0]
    settings.TEMPLATES = [
        {
            **engine,
            "OPTIONS": {
                **engine["OPTIONS"],
                "context_processors": [*engine["OPTIONS"]["context_processors"], "tests.testapp.urls.broken_context"],
            },
        }
    ]
    r = anonymous.get("/no-such-page/")  # the 404 page cannot render: the visitor still gets a page
    assert r.status_code == 500 and "服务器出错" in page(r)


def test_the_500_page_needs_no_database(anonymous, db, django_assert_num_queries):
    with django_assert_num_queries(0):
        r = anonymous.get("/boom/")
    assert r.status_code == 500 and "服务器出错" in page(r)


def test_refused_and_bad_requests_get_their_pages(anonymous, db):
    r = anonymous.get("/forbidden/")
    assert r.status_code == 403 and "无权访问" in page(r)
    r = anonymous.get("/suspicious/")
    assert r.status_code == 400 and "请求有误" in page(r)
    r = Client(enforce_csrf_checks=True).post("/login/", {"username": "duty", "password": "x"})
    assert r.status_code == 403 and "表单已失效" in page(r)  # the CSRF failure, said plainly


def test_the_api_answers_its_errors_as_json(anonymous, db):
    r = anonymous.get("/api/no-such-endpoint/")
    assert r.status_code == 404 and r.json() == {"detail": "未找到。"}
    r = anonymous.get("/api/boom/")
    assert r.status_code == 500 and r.json() == {"detail": "服务器出错。"}
    anonymous.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert anonymous.get("/api/no-such-endpoint/").json() == {"detail": "Not found."}


def test_favicon(anonymous, db):
    r = anonymous.get("/favicon.ico")
    assert r.status_code == 200 and r["Content-Type"] == "image/vnd.microsoft.icon"
    body = b"".join(r.streaming_content) if r.streaming else r.content
    assert body[:4] == b"\x00\x00\x01\x00"  # an icon resource
    assert "max-age=86400" in r["Cache-Control"]
    login = anonymous.get("/login/").content.decode()
    assert 'rel="icon" href="/static/favicon.svg"' in login
    assert anonymous.get("/static/favicon.svg")["Content-Type"].startswith("image/svg+xml")
