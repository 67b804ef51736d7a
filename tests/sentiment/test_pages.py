"""The 网情 pages: who opens them, and an event or a post outside the reader's area is a 404 (the API's
scoping). The pages are shells (static/js/sentiment.js fills them over the API); tests/browser/
test_sentiment.py drives them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from command_center.models import Role
from sentiment.models import Event, Post, Source
from tests.conftest import World
from tests.factories import make_person


def _client(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _post(world: World, org: Any, ext: str, event: Event | None = None) -> Post:
    src, _ = Source.objects.get_or_create(code="weibo", defaults={"name": "微博"})
    now = timezone.now()
    return Post.objects.create(
        source=src, external_id=ext, author="路人甲", text="东湖路口有人打架，警察来了", published_at=now,
        received_at=now, polarity="negative", polarity_score=-0.6, police=True, police_terms=["警察"],
        org=org, risk="yellow", flagged=True, simhash=1, band0=1, band1=0, band2=0, band3=0, event=event,
    )  # fmt: skip


def _event(org: Any) -> Event:
    now = timezone.now()
    return Event.objects.create(
        org=org, title="东湖路口打架", simhash=1, first_seen=now - timedelta(hours=2), last_seen=now, posts_n=1
    )


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
def test_an_event_or_a_post_of_another_area_is_a_404(world: World) -> None:
    east_event = _event(world.station_a1)
    east_post = _post(world, world.station_a1, "e1", east_event)
    west_post = _post(world, world.station_b1, "w1")
    city = _client(world.analyst)
    r = city.get(f"/sentiment/events/{east_event.pk}/")
    assert r.status_code == 200 and "东湖路口打架" in r.content.decode()
    r = city.get(f"/sentiment/posts/{east_post.pk}/")
    assert r.status_code == 200 and "东湖路口有人打架" in r.content.decode()
    assert f'href="/sentiment/events/{east_event.pk}/"' in r.content.decode()  # the event it belongs to
    west = _client(make_person("west_analyst", world.county_b, Role.ANALYST))
    assert west.get(f"/sentiment/events/{east_event.pk}/").status_code == 404
    assert west.get(f"/sentiment/posts/{east_post.pk}/").status_code == 404
    assert west.get(f"/sentiment/posts/{west_post.pk}/").status_code == 200
    assert west.get("/sentiment/events/999999/").status_code == 404
    assert _client(world.station_b1_officer).get(f"/sentiment/posts/{west_post.pk}/").status_code == 403
