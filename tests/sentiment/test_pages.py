"""The 网情 pages: who opens them, and an event or a post outside the reader's area is a 404 (the API's
scoping). The pages are shells (static/js/sentiment.js fills them over the API); tests/browser/
test_sentiment.py drives them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from command_center import codes
from command_center.models import Role
from sentiment import services
from sentiment.models import Event, Post
from tests.conftest import World
from tests.factories import make_person


def _client(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _ingest(*texts: str) -> list[Post]:
    now = timezone.now()
    items = [
        {
            "source": "weibo",
            "external_id": f"p{k}",
            "text": t,
            "published_at": (now - timedelta(minutes=30 - k)).isoformat(),
        }
        for k, t in enumerate(texts)
    ]
    services.ingest(items)
    return [Post.objects.get(external_id=f"p{k}") for k in range(len(texts))]


@pytest.mark.django_db
def test_the_monitor_opens_for_the_desk_roles_and_sends_stations_to_their_inbox(world: World) -> None:
    r = _client(world.analyst).get("/sentiment/")
    assert r.status_code == 200
    body = r.content.decode()
    assert "data-sentiment-monitor" in body and 'id="sentiment-labels"' in body
    assert "网情监测" in body  # the nav entry and the title, in Chinese
    assert 'data-can-judge="1"' in body
    assert 'data-can-judge=""' in _client(world.supervisor).get("/sentiment/").content.decode()  # reads only
    r = _client(world.station_a1_officer).get("/sentiment/")
    assert r.status_code == 302 and r["Location"] == "/dispatch/inbox/"
    assert _client(world.partner_agent).get("/sentiment/").status_code == 403
    assert Client().get("/sentiment/").status_code == 302  # the login page


@pytest.mark.django_db
def test_a_commander_is_offered_the_warnings_cap_alert_and_nobody_else(world: World) -> None:
    from intel import cap
    from sentiment import views

    assert views.CAP_ROLES == cap.PUBLISH_ROLES  # the page offers it to exactly those the API lets publish
    body = _client(world.commander).get("/sentiment/").content.decode()
    assert 'data-cap-url="/api/cap/sentiment-warnings/0/"' in body
    assert 'data-cap-url=""' in _client(world.analyst).get("/sentiment/").content.decode()


@pytest.mark.django_db
def test_an_event_or_a_post_of_another_area_is_a_404(world: World) -> None:
    codes.load_defaults()
    services.load_defaults()
    fight = "东湖派出所门口有人打架，警察已经到场，大家注意安全"
    east_post, _, _, west_post = _ingest(
        fight, "转发：" + fight + "！！", fight + " 求扩散", "西溪派出所民警帮我找回钱包"
    )
    assert east_post.org == world.station_a1 and west_post.org == world.station_b1
    east_event = Event.objects.get()
    city = _client(world.analyst)
    r = city.get(f"/sentiment/events/{east_event.pk}/")
    assert r.status_code == 200 and east_event.title in r.content.decode()
    r = city.get(f"/sentiment/posts/{east_post.pk}/")
    assert r.status_code == 200 and fight in r.content.decode()
    assert f'href="/sentiment/events/{east_event.pk}/"' in r.content.decode()  # the event it belongs to
    west = _client(make_person("west_analyst", world.county_b, Role.ANALYST))
    assert west.get(f"/sentiment/events/{east_event.pk}/").status_code == 404
    assert west.get(f"/sentiment/posts/{east_post.pk}/").status_code == 404
    assert west.get(f"/sentiment/posts/{west_post.pk}/").status_code == 200
    assert west.get("/sentiment/events/999999/").status_code == 404
    assert _client(world.station_b1_officer).get(f"/sentiment/posts/{west_post.pk}/").status_code == 403
