"""What the browser tests do on every page: log in as a demo person of the test world (password pw-12345)
and wait until the login page has sent them on to their working screen."""

from typing import Any


def login(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill("pw-12345")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(lambda url: "/login/" not in url)
