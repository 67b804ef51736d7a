"""Test settings: the real ones, plus a test-only app with a stateful model, and a fast password hasher."""

import os

# Keys and channels of the suite never mix with a `make run` sharing the same Redis.
os.environ.setdefault("REDIS_PREFIX", "cctest")

from command_center.settings import *  # noqa: F403
from command_center.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "tests.testapp"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False

# The read replica's alias, always, as a mirror of the test database; routing to it stays off (READ_REPLICA
# None) except in the tests that turn it on (tests/command_center/test_dbrouter.py).
DATABASES["replica"] = {**DATABASES["default"], "TEST": {"MIRROR": "default"}}  # noqa: F405
READ_REPLICA = None
