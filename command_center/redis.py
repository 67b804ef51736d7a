"""One Redis client per process for the kernel's own keys (sequences, heartbeats)."""

from __future__ import annotations

import functools

import redis
from django.conf import settings


@functools.cache
def client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)


def key(*parts: object) -> str:
    """A key under this deployment's prefix: key("seq", "org.3") -> "cc:seq:org.3"."""
    return ":".join([settings.REDIS_PREFIX, *map(str, parts)])
