"""Every page, as each role sees it, runs under the Content-Security-Policy without one violation: no
inline script or style, nothing from outside. Chromium reports violations on the console and as
`securitypolicyviolation` events; the test collects both."""

from __future__ import annotations

from typing import Any

import pytest

from command_center import codes
from incidents import services
from incidents.models import Incident
from intel import services as intel_services
from tests.conftest import build_world

PAGES = {
    "duty": [
        "/",
        "/incidents/intake/",
        "/incidents/",
        "/incidents/{incident}/",
        "/dispatch/board/",
        "/dispatch/wall/",
        "/dispatch/units/",
    ],
    "station1": ["/dispatch/inbox/", "/supervision/feedback/rework/"],
    "partner": ["/partner/"],
    "commander": ["/dispatch/wall/", "/supervision/"],
    "analyst": [
        "/",
        "/sentiment/",
        "/intel/",
        "/intel/directives/{directive}/",
        "/intel/directives/{directive}/report/",
    ],
    "supervisor": [
        "/",
        "/supervision/",
        "/supervision/measures/",
        "/supervision/scores/",
        "/supervision/inspection/",
        "/supervision/feedback/",
    ],
}
WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
"""


def login(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill("pw-12345")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(lambda url: "/login/" not in url)  # each role lands on its own screen


def _csp_message(message: Any, problems: list[str]) -> None:
    if "Content Security Policy" in message.text:
        problems.append(message.text)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_no_page_breaks_the_content_security_policy(asgi_live_server: str, browser: Any) -> None:
    w = build_world()
    codes.load_defaults()
    incident, _ = services.incident_intake(
        actor=w.duty,
        data=services.IntakeData(
            call_id="csp-1", source="110", address="东湖路12号", category=codes.active_categories()["020500"]
        ),
    )
    directive = intel_services.directive_issue(
        actor=w.analyst,
        data=intel_services.DirectiveData(
            title="CSP 检查", content="请落实", recipients=[w.station_a1], colour="red", actions=["巡逻"]
        ),
    )
    base = asgi_live_server
    problems: list[str] = []
    for username, paths in PAGES.items():
        context = browser.new_context()
        page = context.new_page()
        page.add_init_script(WATCH)
        page.on("console", lambda m, problems=problems: _csp_message(m, problems))
        page.on("pageerror", lambda e, page=page, problems=problems: problems.append(f"{page.url}: {e}"))
        login(page, base, username)
        for path in paths:
            response = page.goto(base + path.format(incident=incident.pk, directive=directive.pk))
            assert response is not None and response.status == 200, (username, path)
            assert "default-src 'self'" in (response.headers.get("content-security-policy") or "")
            page.wait_for_timeout(600)  # scripts start, sockets open, maps draw
            problems += [f"{username} {path}: {v}" for v in page.evaluate("window.__csp")]
        context.close()
    # The error page, as a visitor and as a logged-in person.
    for username in ("", "duty"):
        page = browser.new_context().new_page()
        page.add_init_script(WATCH)
        page.on("console", lambda m, problems=problems: _csp_message(m, problems))
        if username:
            login(page, base, username)
        response = page.goto(base + "/no-such-page/")
        assert response is not None and response.status == 404
        page.wait_for_timeout(300)
        problems += [f"{username or 'visitor'} 404: {v}" for v in page.evaluate("window.__csp")]
        page.context.close()
    docs = browser.new_context().new_page()
    docs.add_init_script(WATCH)
    docs.on("console", lambda m: _csp_message(m, problems))
    docs.goto(base + "/api/docs/")
    docs.locator(".swagger-ui .info").wait_for(timeout=15000)  # Swagger UI drew itself, script and all
    problems += [f"docs: {v}" for v in docs.evaluate("window.__csp")]
    assert Incident.objects.count() == 1
    assert problems == [], "\n".join(problems)
