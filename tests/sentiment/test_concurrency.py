"""Two integrations pushing the same posts at the same moment: each post is stored, grouped and pushed once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from command_center import codes
from sentiment import services
from sentiment.models import Event, Post, WatchHit
from tests.concurrency import parallel

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_same_batch_pushed_twice_at_once_is_stored_once(world: Any) -> None:
    codes.load_defaults()
    services.load_defaults()
    services.watch_create(actor=world.analyst, org_id=world.city.pk, name="持刀", expression="持刀")
    told = "西溪派出所门口有人持刀伤人，警察已经到场，大家注意安全"
    start = timezone.now() - timedelta(minutes=30)
    batch = [
        {
            "source": "weibo",
            "external_id": f"c{i}",
            "text": ("转发：" * (i % 3)) + told + ("！" * i),
            "published_at": (start + timedelta(minutes=i)).isoformat(),
        }
        for i in range(20)
    ]
    results = parallel(2, lambda k: services.ingest(batch))
    assert sum(r.stored for r in results) == 20  # each post stored by one of them …
    assert all(r.stored + r.updated == 20 for r in results)  # … and answered to both
    assert Post.objects.count() == 20
    event = Event.objects.get()
    assert event.posts_n == 20 == Post.objects.filter(event=event).count()
    assert event.negative_n + event.neutral_n + event.positive_n == 20
    assert WatchHit.objects.count() == 20
