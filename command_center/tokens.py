"""API tokens: issue, check, list, revoke, expire.

A token is `<id>.<secret>`, 16 + 1 + 64 hex characters. The id is public (lists, URLs, the admin); the secret
is shown once, when the token is issued, and the database keeps only its SHA-256 digest. A token lives
`settings.API_TOKEN_TTL_S`; it dies sooner when it is revoked, when its user's password changes or when its
user is deactivated. `authentication.py` reads a token with its user, person, org and roles in one query and
asks `refusal()` whether it may still be used.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, User
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from . import orgs
from .models import ApiToken, Role

TOKEN_RE = re.compile(r"([0-9a-f]{16})\.([0-9a-f]{64})")
# `last_used_at` is written when it is older than this: at most one small UPDATE per token in this time,
# so an authenticated request stays one query.
LAST_USED_RESOLUTION = timedelta(minutes=5)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def password_fingerprint(password_hash: str) -> str:
    """What a token remembers of its user's password: an HMAC (keyed with SECRET_KEY, like Django's session
    auth hash) of the stored password hash. Rotating SECRET_KEY therefore ends every token, as it ends every
    session without SECRET_KEY_FALLBACKS."""
    return salted_hmac("command_center.tokens.password", password_hash, algorithm="sha256").hexdigest()


def parse(token: str) -> tuple[str, str] | None:
    """(id, secret) of a well-formed token, else None (refused before any query)."""
    match = TOKEN_RE.fullmatch(token)
    return (match[1], match[2]) if match else None


def ttl() -> timedelta:
    return timedelta(seconds=settings.API_TOKEN_TTL_S)


# --- Reads ---------------------------------------------------------------------------------------------


def may_manage_others(user: Any) -> bool:
    """A superuser, or a person with the administrator role (for the people of their org's subtree)."""
    if getattr(user, "is_superuser", False):
        return True
    person = orgs.person_of(user)
    return person is not None and person.has_role(Role.ADMIN)


def manageable(user: Any) -> models.QuerySet[ApiToken]:
    """The tokens `user` may list and revoke: their own; an administrator's also those of the people of
    their org's subtree (not a superuser's); a superuser's all."""
    if getattr(user, "is_superuser", False):
        return ApiToken.objects.all()
    cond = Q(user_id=user.pk)
    person = orgs.person_of(user)
    if person is not None and person.has_role(Role.ADMIN):
        cond |= Q(user__person__org__path__startswith=person.org.path, user__is_superuser=False)
    return ApiToken.objects.filter(cond)


def live(qs: models.QuerySet[ApiToken], now: datetime | None = None) -> models.QuerySet[ApiToken]:
    return qs.filter(expires_at__gt=now or timezone.now())


def refusal(token: ApiToken, user: AbstractBaseUser, now: datetime) -> str | None:
    """Why a token whose secret matched may not be used any more (it is then deleted), or None."""
    if token.expires_at <= now:
        return _("This token has expired.")
    if not user.is_active:
        return _("User inactive or deleted.")
    if not hmac.compare_digest(token.password_fp, password_fingerprint(user.password)):
        return _("This token was revoked: the password has changed.")
    return None


# --- Writes --------------------------------------------------------------------------------------------


def token_issue(*, user: User, name: str = "", now: datetime | None = None) -> tuple[ApiToken, str]:
    """A new token for `user`: (its row, the token string — shown to the client once, stored nowhere)."""
    now = now or timezone.now()
    secret = secrets.token_hex(32)
    token = ApiToken.objects.create(
        id=secrets.token_hex(8),  # 64 random bits: a clash is as likely as guessing a password hash
        user=user,
        name=name,
        digest=digest(secret),
        password_fp=password_fingerprint(user.password),
        created_at=now,
        expires_at=now + ttl(),
    )
    return token, f"{token.pk}.{secret}"


def token_touch(*, token: ApiToken, now: datetime) -> None:
    """Record a use, at most once per LAST_USED_RESOLUTION (a compare-and-set: concurrent requests write
    once)."""
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_RESOLUTION:
        return
    ApiToken.objects.filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION), pk=token.pk
    ).update(last_used_at=now)
    token.last_used_at = now


def _stale(user: Any) -> Q:
    """A user's tokens that may not be used any more: all of a deactivated user's, else those issued under
    another password."""
    cond = Q(user_id=user.pk)
    if user.is_active:
        cond &= ~Q(password_fp=password_fingerprint(user.password))
    return cond


def token_discard(*, token_id: str, user: Any) -> None:
    """Delete a token authentication refused (expired, its user deactivated or with a new password), and with
    it the user's other tokens that are as dead. One DELETE."""
    ApiToken.objects.filter(Q(pk=token_id) | _stale(user)).delete()


def token_revoke(*, token_id: str, actor: Any) -> None:
    """Revoke one token: the actor's own, or, for an administrator, one of the people they manage. Anyone
    else's answers as a token that does not exist (ApiToken.DoesNotExist → 404)."""
    deleted, _rows = manageable(actor).filter(pk=token_id).delete()
    if not deleted:
        raise ApiToken.DoesNotExist


def token_revoke_many(*, token_ids: list[str], actor: Any) -> int:
    """Revoke the named tokens among those `actor` may manage (the admin's action); how many went."""
    deleted, _rows = manageable(actor).filter(pk__in=token_ids).delete()
    return deleted


def token_revoke_all(*, user: Any) -> int:
    """Revoke every token of `user`; how many there were."""
    deleted, _rows = ApiToken.objects.filter(user_id=user.pk).delete()
    return deleted


def token_revoke_stale(*, user: Any) -> int:
    """After `user` was saved: drop their tokens if they are deactivated, or those issued under another
    password. One DELETE; nothing else is read."""
    deleted, _rows = ApiToken.objects.filter(_stale(user)).delete()
    return deleted


def token_delete_expired(*, now: datetime | None = None) -> int:
    """The hourly chore (settings.HOUSEKEEPING): delete expired tokens. Authentication also deletes an
    expired token it meets, so this only clears the ones nobody sends any more."""
    deleted, _rows = ApiToken.objects.filter(expires_at__lte=now or timezone.now()).delete()
    return deleted


def user_saved(sender: Any, instance: Any, update_fields: Any = None, **kwargs: Any) -> None:
    """post_save of the user model (apps.py). A security invariant of the auth model, not a business effect
    (which this project never puts in a receiver): whatever saved the user — set_password() + save(), the
    admin's password and change forms, `manage.py changepassword`, a password-reset view — a new password or
    a deactivation ends their API tokens. Saves that touch neither (`last_login` on every login) are skipped
    without a query. A change made around save() (a queryset update, raw SQL) is caught when the token is
    next used: authentication compares the password fingerprint and `is_active` itself."""
    if update_fields is not None and not {"password", "is_active"} & set(update_fields):
        return
    token_revoke_stale(user=instance)
